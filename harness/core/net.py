"""Reachability probes, so an unreachable host fails in seconds instead of a client's retry loop."""

from __future__ import annotations

import os
import socket
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

PROBE_TIMEOUT_S = 3.0
HF_ENDPOINT_DEFAULT = "https://huggingface.co"


def host_reachable(host: str, port: int = 443, timeout_s: float = PROBE_TIMEOUT_S) -> bool:
    """Whether a TCP connection to `host:port` opens within `timeout_s` seconds."""
    try:
        with socket.create_connection((host, port), timeout_s):
            return True
    except OSError:
        return False


def url_host(url: str) -> tuple[str, int]:
    parsed = urlparse(url)
    default_port = 80 if parsed.scheme == "http" else 443
    return parsed.hostname or url, parsed.port or default_port


def any_reachable(urls: list[str], timeout_s: float = PROBE_TIMEOUT_S) -> bool:
    """Whether any of the hosts behind `urls` answers; probed in parallel, so the wait is one timeout."""
    hosts = sorted({url_host(url) for url in urls})
    if not hosts:
        return False
    with ThreadPoolExecutor(max_workers=min(8, len(hosts))) as pool:
        return any(pool.map(lambda hp: host_reachable(hp[0], hp[1], timeout_s), hosts))


def hf_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", HF_ENDPOINT_DEFAULT)


def hf_offline() -> bool:
    """`HF_HUB_OFFLINE` set: the user asked for the local Hugging Face cache only."""
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}


def hub_reachable(timeout_s: float = PROBE_TIMEOUT_S) -> bool:
    host, port = url_host(hf_endpoint())
    return host_reachable(host, port, timeout_s)
