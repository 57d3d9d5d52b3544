"""Encoding and exact dense search on a Ray cluster: the one-process code, its work spread over Ray actors.

`harness run --ray [local|auto|ADDRESS]` opens a `RayEncodingPool` for the run. For each model it starts
one actor per GPU (or `--workers N` CPU workers on CPU-only clusters); each actor loads the model once
(`harness.models.adapters.load_encoder`) and encodes whole shards through `EmbeddingStore.encode_shard`, the
same code a one-process run uses, so a shard is the same bytes whoever encoded it. CPU workers use the
driver's torch thread count, because a different count can change float rounding. The driver hands out
one shard per idle actor, waits for all of them, then reads the entry as a one-process run does.

Exact dense search (`faiss-flat`) also runs on the cluster: the index hands its blocks of stored shards
to search actors (`BlockWorker`, no model), block i to actor i mod n; each reads its blocks from the
store, keeps up to the index's `resident_bytes` of them in memory, and returns the top k of its blocks
merged with the one-process loop (`top_k_of`); the driver merges those with the same `merge_top_k`.
The merge keeps the k best by (score, lower row), whatever the order, so the result equals a one-process
search's; the driver holds no document vector.

The store root must be a folder every node sees (a shared filesystem): a worker that cannot see an
entry says so. A worker that dies mid-shard is restarted by Ray (`max_restarts`) and its shard is
handed out again; a shard already stored is never encoded again. Ray is an optional extra
(`pip install harness[ray]`), imported only when a run asks for it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from harness.catalog.cards import ModelCard
from harness.core.errors import HarnessError, InputError, SourceUnavailableError
from harness.encode import Encoder, EncodeSettings, ProgressCallback, encode_checked
from harness.index.base import StoredBlock, empty_top_k, merge_top_k
from harness.index.faiss_flat import float32_block, top_k_of
from harness.models.adapters import load_encoder
from harness.record.energy import EnergyMeter, EnergyReading, EnergySettings
from harness.record.provenance import hardware
from harness.store.embeddings import EmbeddingStore, ShardJob, ShardReport, shard_folder, stored_encode_s

INSTALL_HINT = "pip install harness[ray]"
LOCAL = "local"  # start a Ray instance on this machine for the run
AUTO = "auto"  # the cluster `ray start` runs on this node (or RAY_ADDRESS)
MAX_ATTEMPTS = 3  # a shard that kills its worker this many times fails the run (an OOM, a bad node)
CONNECT_TIMEOUT_S = 5.0  # to connect to an address, then again for its first answer
HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"  # what an HTTP/2 (gRPC) client sends first (RFC 9113)
EMPTY_SETTINGS_FRAME = bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])  # length 0, type SETTINGS, no flags, stream 0
FRAME_HEADER_BYTES = 9
READY_TIMEOUT_S = 600.0  # how long a restarted worker may take to load its model again


@dataclass(frozen=True)
class ClusterSettings:
    """Where the encoding runs: `address` is `local`, `auto`, `HOST:PORT` (a head's GCS) or `ray://HOST:PORT`."""

    address: str = LOCAL
    workers: int | None = None  # None: one per GPU, else CPUs // threads (at least 1)
    threads: int | None = None  # torch threads per CPU worker; None: the driver's (byte-identical results)
    energy: EnergySettings = field(default_factory=lambda: EnergySettings(enabled=False))  # measured on each worker


def import_ray() -> Any:
    """Ray, or a one-line error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise InputError(f"Ray is not installed: {INSTALL_HINT}", key="--ray") from None
    return ray


def _host_port(address: str) -> tuple[str, int]:
    bare = address.removeprefix("ray://")
    host, separator, port = bare.rpartition(":")
    if not separator or not port.isdigit() or not host:
        raise InputError(f"expected `local`, `auto`, HOST:PORT or ray://HOST:PORT, got {address!r}", key="--ray")
    return host.strip("[]"), int(port)


def check_reachable(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Fail within seconds, naming the address, when no Ray cluster answers there: Ray itself retries for one
    to two minutes, printing its own connection warnings, whatever listens on the port.

    A Ray head's GCS (and the Ray Client server of `ray://`) is a gRPC server, so it answers HTTP/2's
    connection preface with a SETTINGS frame; a web server, a database or a closed port does not. With
    TLS (`RAY_USE_TLS`) the TLS handshake comes first, so only the connection is tried."""
    host, port = _host_port(address)
    try:
        connection = socket.create_connection((host, port), timeout=timeout_s)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise SourceUnavailableError(
            f"cannot reach the Ray cluster at {address} ({reason}); start it with `ray start --head` "
            "or run without an address for a local instance"
        ) from None
    with connection:
        if _ray_uses_tls():
            return
        try:
            answer = _http2_answer(connection)
        except OSError as error:  # no answer in time, or the connection reset
            answer = error.strerror or f"no answer within {timeout_s:.0f} s"
    if not _is_http2_settings(answer):
        raise SourceUnavailableError(
            f"{address} does not answer as a Ray cluster ({_described(answer)}); give the address "
            "`ray start --head` prints (its GCS, port 6379 by default), or `local`"
        )


def _ray_uses_tls() -> bool:
    return os.environ.get("RAY_USE_TLS", "0").lower() in ("1", "true")


def _http2_answer(connection: socket.socket) -> bytes:
    """The first frame header (9 bytes) a server sends after HTTP/2's preface, or what it sent before closing."""
    connection.sendall(HTTP2_PREFACE + EMPTY_SETTINGS_FRAME)
    answer = b""
    while len(answer) < FRAME_HEADER_BYTES:
        chunk = connection.recv(FRAME_HEADER_BYTES - len(answer))
        if not chunk:
            break
        answer += chunk
    return answer


def _is_http2_settings(answer: bytes | str) -> bool:
    """A SETTINGS frame header (type 4, stream 0): what every HTTP/2 server sends first."""
    return (
        isinstance(answer, bytes)
        and len(answer) == FRAME_HEADER_BYTES
        and answer[3] == 4
        and int.from_bytes(answer[5:], "big") & 0x7FFFFFFF == 0
    )


def _described(answer: bytes | str) -> str:
    """What the server did instead: an OS error's reason, silence, or the first bytes of another protocol."""
    if isinstance(answer, str):
        return answer
    if not answer:
        return "it closed the connection without answering"
    return f"it answered {answer.decode('latin-1')!r}..., not HTTP/2 as Ray's GCS does"


def check_workers(workers: int | None, resources: Mapping[str, float], where: str) -> None:
    """`--workers` at most the CPUs `where` has: each worker holds one, so Ray would leave the rest pending
    forever (or, on a local instance told it had that many CPUs, start them all and run out of memory)."""
    cpus = int(resources.get("CPU", 0))
    if workers is None or workers <= cpus:
        return
    gpus = int(resources.get("GPU", 0))
    has = f"{cpus} CPU{'s' if cpus != 1 else ''}" + (f" and {gpus} GPU{'s' if gpus != 1 else ''}" if gpus else "")
    advice = f"use --workers {cpus} or fewer" if cpus else "add nodes with CPUs to the cluster"
    raise InputError(
        f"{workers:,} workers asked for, but {where} has {has} (each worker holds one CPU); {advice}",
        key="--workers",
    )


def _local_cpus() -> int:
    """The CPUs this process may run on (a container's or a job's allocation, not the whole machine's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _connect(ray: Any, settings: ClusterSettings) -> None:
    """`ray.init` for the settings' address; a local instance's workers are checked before it is started."""
    try:
        if settings.address == LOCAL:
            cpus = _local_cpus()
            check_workers(settings.workers, {"CPU": cpus}, "this machine")
            ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=settings.address, log_to_driver=False)
    except ConnectionError as error:
        raise SourceUnavailableError(f"cannot reach the Ray cluster at {settings.address}: {error}") from None


@contextlib.contextmanager
def ray_pool(settings: ClusterSettings) -> Iterator[RayEncodingPool]:
    """Connect (or start a local instance), yield the run's pool, and stop its actors and the connection."""
    if settings.workers is not None and settings.workers < 1:
        raise InputError("at least 1 worker", key="--workers")
    ray = import_ray()
    if settings.address not in (LOCAL, AUTO):
        check_reachable(settings.address)
    connected_here = not ray.is_initialized()
    if connected_here:
        _connect(ray, settings)
    pool: RayEncodingPool | None = None
    try:
        where = "the Ray cluster" + (f" at {settings.address}" if settings.address not in (LOCAL, AUTO) else "")
        check_workers(settings.workers, ray.cluster_resources(), where)
        pool = RayEncodingPool(ray, settings)
        yield pool
    finally:
        if pool is not None:
            pool.close()
        if connected_here:
            ray.shutdown()


def _identity_digest(identity: dict[str, Any]) -> str:
    canonical = json.dumps(identity, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ShardWorker:
    """One Ray actor: the model loaded once, then whole shards encoded into the shared store, each measured by
    a CodeCarbon tracker of its own process (on its own node) when energy is measured."""

    def __init__(self, card: ModelCard, settings: EncodeSettings, threads: int | None, energy: EnergySettings) -> None:
        import torch

        if threads is not None:
            torch.set_num_threads(threads)
        self.meter = EnergyMeter(energy).__enter__()  # its probe runs while the model loads
        self.encoder = load_encoder(card, settings)

    def info(self) -> dict[str, Any]:
        return {
            **_where(),
            "hardware": hardware(self.encoder.device),
            "output_identity": _identity_digest(self.encoder.output_identity()),
        }

    def encode_shard(
        self, root: str, shard_size: int | None, dtype: str, job: ShardJob
    ) -> tuple[ShardReport, EnergyReading | None]:
        store = EmbeddingStore(Path(root), shard_size, dtype)  # type: ignore[arg-type]
        with self.meter.measure(f"shard-{job.number}") as readings:
            report = store.encode_shard(self.encoder, job)
        return report, readings[0] if readings else None


def _where() -> dict[str, Any]:
    import ray

    return {"host": socket.gethostname(), "node_id": ray.get_runtime_context().get_node_id(), "pid": os.getpid()}


class BlockWorker:
    """One Ray search actor: scores blocks of stored dense shards, keeping some in memory between searches."""

    def __init__(self, threads: int) -> None:
        import faiss

        faiss.omp_set_num_threads(threads)  # the driver's count, as the encode workers use it
        self._kept: dict[StoredBlock, np.ndarray] = {}

    def info(self) -> dict[str, Any]:
        return _where()

    def top_k(
        self, blocks: list[StoredBlock], queries: np.ndarray, k: int, query_batch_size: int, resident_bytes: int
    ) -> tuple[np.ndarray, np.ndarray]:
        self._kept = {block: vectors for block, vectors in self._kept.items() if block in blocks}
        return top_k_of(
            ((block.first, self._vectors(block, resident_bytes)) for block in blocks), queries, k, query_batch_size
        )

    def _vectors(self, block: StoredBlock, resident_bytes: int) -> np.ndarray:
        if block in self._kept:
            return self._kept[block]
        try:
            vectors = float32_block([stored.read() for stored in block.shards])
        except OSError as error:
            raise InputError(
                f"cannot read a shard of the embedding store on host {socket.gethostname()} ({error.strerror}): "
                "the store (--cache-dir) must be a folder every node of the cluster sees",
                path=Path(error.filename or block.shards[0].path),
                key="--cache-dir",
            ) from None
        if sum(kept.nbytes for kept in self._kept.values()) + vectors.nbytes <= resident_bytes:
            self._kept[block] = vectors
        return vectors


@dataclass
class _Worker:
    name: str
    actor: Any
    info: dict[str, Any] = field(default_factory=dict)  # as of its last (re)start
    restarts: int = 0
    probe: Any = None  # while Ray restarts it: the pending call that tells when it is back
    back_by: float = 0.0  # ... and when it is dropped if it is not


class RayEncodingPool:
    """The run's Ray workers, for one model at a time; `encode_shards` is the store's `ShardExecutor`."""

    def __init__(self, ray: Any, settings: ClusterSettings) -> None:
        import torch

        self._ray = ray
        self.settings = settings
        self.threads = settings.threads or torch.get_num_threads()
        self._model: tuple[str, EncodeSettings] | None = None
        self._workers: list[_Worker] = []
        self._redone: list[dict[str, Any]] = []
        self._in_flight: dict[str, int] = {}
        self._searchers: list[_Worker] = []  # started at the first search, kept for the run
        self._last_search: dict[str, int] = {}  # blocks each searcher scored in the last search
        self._energy: list[tuple[str, dict[str, Any], EnergyReading | None]] = []  # (entry, worker info, reading)

    def _gpu_count(self, encode: EncodeSettings) -> int:
        if encode.device == "cpu":
            return 0
        return int(self._ray.cluster_resources().get("GPU", 0))

    def _start(self, encoder: Encoder) -> list[_Worker]:
        """Actors for the encoder's model, started when the model changes (the runner loads one at a time)."""
        model = (encoder.card.sha256, encoder.settings)
        if self._model == model:
            return self._workers
        self._stop(self._workers)
        self._workers, self._model = [], None
        gpus = self._gpu_count(encoder.settings)
        if gpus:
            count = min(self.settings.workers or gpus, gpus)
            encode = replace(encoder.settings, device="cuda")  # Ray sets CUDA_VISIBLE_DEVICES to the actor's GPU
            options: dict[str, Any] = {"num_gpus": 1, "num_cpus": 1}
            threads = None
        else:
            count = self._cpu_worker_count()
            encode, options, threads = encoder.settings, {"num_cpus": 1}, self.threads
        remote = self._ray.remote(max_restarts=-1, max_task_retries=0, **options)(ShardWorker)
        energy = self.settings.energy
        workers = [_Worker(f"worker-{n}", remote.remote(encoder.card, encode, threads, energy)) for n in range(count)]
        self._workers = workers  # so that `close` stops them if they are refused
        expected = _identity_digest(encoder.output_identity())
        for worker in workers:
            worker.info = self._call(
                worker.actor.info.remote(), f"{worker.name} could not load {encoder.card.name}", READY_TIMEOUT_S
            )
            if worker.info["output_identity"] != expected:
                raise InputError(
                    f"{worker.name} on host {worker.info['host']} loads {encoder.card.name} differently from the "
                    "driver (other weights or library versions): every node must see the same model files",
                    path=encoder.card.path,
                )
        self._model = model
        return workers

    def _cpu_worker_count(self) -> int:
        return self.settings.workers or max(1, int(self._ray.cluster_resources().get("CPU", 1)) // self.threads)

    def top_k_of_blocks(
        self, blocks: Sequence[StoredBlock], queries: np.ndarray, k: int, query_batch_size: int, resident_bytes: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """The index's `BlockSearcher`: block i scored on searcher i mod n, the searchers' top k merged here."""
        if not self._searchers:
            # No CPU reserved: searching follows encoding, so the encode workers' CPUs are idle by then.
            remote = self._ray.remote(max_restarts=-1, max_task_retries=-1, num_cpus=0, scheduling_strategy="SPREAD")
            actor = remote(BlockWorker)
            self._searchers = [
                _Worker(f"searcher-{n}", actor.remote(self.threads)) for n in range(self._cpu_worker_count())
            ]
            for searcher in self._searchers:
                ready = searcher.actor.info.remote()
                searcher.info = self._call(ready, f"{searcher.name} could not start", READY_TIMEOUT_S)
        shares = [list(blocks[n :: len(self._searchers)]) for n in range(len(self._searchers))]
        shared_queries = self._ray.put(queries)
        calls = [
            (searcher, searcher.actor.top_k.remote(share, shared_queries, k, query_batch_size, resident_bytes))
            for searcher, share in zip(self._searchers, shares, strict=True)
            if share
        ]
        indices, scores = empty_top_k(len(queries), k)
        for searcher, ref in calls:
            found, found_scores = self._call(ref, f"{searcher.name} failed to search")
            indices, scores = merge_top_k(indices, scores, found, found_scores, k)
        self._last_search = {searcher.name: len(share) for searcher, share in zip(self._searchers, shares, strict=True)}
        return indices, scores

    def _call(self, ref: Any, context: str, timeout_s: float | None = None) -> Any:
        """`ray.get`, with an error raised on a worker turned back into the harness error it was."""
        try:
            return self._ray.get(ref, timeout=timeout_s)
        except self._ray.exceptions.GetTimeoutError:
            raise HarnessError(f"{context}: no answer within {timeout_s:.0f} s (no node can place it?)") from None
        except self._ray.exceptions.RayTaskError as error:
            cause = getattr(error, "cause", None)
            if isinstance(cause, HarnessError):
                raise cause from None
            raise HarnessError(f"{context}: {cause!r}") from None
        except self._ray.exceptions.RayActorError as error:  # e.g. its constructor failed: the model is not there
            cause = getattr(error, "cause", None)
            if isinstance(getattr(cause, "cause", None), HarnessError):
                raise cause.cause from None
            raise HarnessError(f"{context}: {str(error).strip().splitlines()[0]}") from None

    def encode_shards(
        self, store: EmbeddingStore, encoder: Encoder, jobs: Sequence[ShardJob], progress: ProgressCallback | None
    ) -> list[ShardReport]:
        """Every job encoded by some worker; a worker that dies is restarted by Ray and its shard handed out again."""
        for job in {(job.language, job.role): job for job in reversed(jobs) if job.texts}.values():
            # One text encoded on the driver per (language, role): an unknown language fails here before any
            # work is sent, and the driver's encoder describes its language routing as a one-process run's does.
            encode_checked(encoder, job.texts[:1], job.language, job.role)
        workers = self._start(encoder)
        queue = deque(jobs)
        attempts = dict.fromkeys((job.number for job in jobs), 0)
        idle = [index for index, worker in enumerate(workers) if worker.probe is None]
        # A shard, or None: a probe asking whether a restarted worker is back (kept across calls).
        pending: dict[Any, tuple[int, ShardJob | None]] = {
            worker.probe: (index, None) for index, worker in enumerate(workers) if worker.probe is not None
        }
        reports: list[ShardReport] = []
        root = str(store.root)
        while queue or any(job is not None for _, job in pending.values()):
            while queue and idle:
                index, job = idle.pop(0), queue.popleft()
                attempts[job.number] += 1
                ref = workers[index].actor.encode_shard.remote(root, store.shard_size, store.dtype, job)
                pending[ref] = (index, job)
                self._in_flight[workers[index].name] = job.number
            if not pending:
                raise HarnessError(f"every Ray worker of {encoder.card.name} is gone; {len(queue)} shards left undone")
            [ref], _ = self._ray.wait(list(pending), num_returns=1)
            index, job = pending.pop(ref)
            worker = workers[index]
            try:
                value = self._ray.get(ref)
            except self._ray.exceptions.RayActorError as error:
                if job is not None:
                    self._in_flight.pop(worker.name, None)
                    self._lost(worker, job, attempts[job.number], error)
                    queue.appendleft(job)
                    worker.back_by = time.monotonic() + READY_TIMEOUT_S
                worker.probe = None
                if time.monotonic() < worker.back_by:
                    time.sleep(0.2)  # Ray is restarting it: ask again shortly
                    worker.probe = worker.actor.info.remote()
                    pending[worker.probe] = (index, None)
                continue
            except self._ray.exceptions.RayTaskError:
                self._call(ref, f"{worker.name} failed on shard {job.number if job else '?'}")
                raise
            idle.append(index)
            if job is None:
                worker.info, worker.probe = value, None
                continue
            self._in_flight.pop(worker.name, None)
            report, reading = value
            if not report.computed and attempts[job.number] > 1:
                # Its last worker was killed after committing the shard but before answering: this run computed it.
                report = replace(report, computed=True, encode_s=stored_encode_s(shard_folder(job.entry, job.number)))
            if report.computed:
                self._energy.append((str(job.entry), dict(worker.info), reading))
                store.committed(shard_folder(job.entry, job.number))
            reports.append(replace(report, worker=worker.name))
            if progress:
                progress(len(job.texts))
        return reports

    def _lost(self, worker: _Worker, job: ShardJob, attempts: int, error: Exception) -> None:
        """A worker died during `job`: Ray restarts it; the shard is handed out again, up to MAX_ATTEMPTS times."""
        worker.restarts += 1
        self._redone.append({"worker": worker.name, "shard": job.number, "entry": job.entry.name})
        if attempts >= MAX_ATTEMPTS:
            raise HarnessError(
                f"shard {job.number} of {job.entry} killed its worker {MAX_ATTEMPTS} times "
                f"(last on host {worker.info.get('host')}): {type(error).__name__}"
            )

    def in_flight(self) -> dict[str, int]:
        """The shard number each busy worker is encoding now (worker name -> shard)."""
        return dict(self._in_flight)

    def worker_pids(self) -> dict[str, int]:
        """Each worker's process id, once every restarting worker is back (Ray starts it as a new process)."""
        for worker in self._workers:
            while worker.probe is not None and time.monotonic() < worker.back_by:
                try:
                    worker.info, worker.probe = self._ray.get(worker.probe), None
                except self._ray.exceptions.RayActorError:
                    time.sleep(0.2)
                    worker.probe = worker.actor.info.remote()
        return {worker.name: int(worker.info["pid"]) for worker in self._workers}

    def describe(self, entries: Sequence[str] | None = None) -> dict[str, Any]:
        """The cluster as a result records it: nodes, workers and their hardware, restarts and redone shards,
        the energy each node spent on the shards of `entries` (store entry folders; None: every entry)."""
        workers = []
        for worker in self._workers:
            info = {key: value for key, value in worker.info.items() if key != "output_identity"}
            restarting = {"restarting": True} if worker.probe is not None else {}
            workers.append({"name": worker.name, **info, "restarts": worker.restarts, **restarting})
        return {
            "engine": f"ray {self._ray.__version__}",
            "address": self.settings.address,
            "nodes": len({worker["node_id"] for worker in workers}),
            "cluster_nodes": sum(1 for node in self._ray.nodes() if node.get("Alive")),
            "workers": workers,
            "threads_per_cpu_worker": self.threads,
            "redone_shards": list(self._redone),
            "energy": self._energy_per_node(entries),
            **({"search": self._search_description()} if self._last_search else {}),
        }

    def _energy_per_node(self, entries: Sequence[str] | None) -> dict[str, Any]:
        settings = self.settings.energy
        if not settings.enabled:
            return {"measured": False, "reason": "energy measurement is off (--no-energy)"}
        nodes: dict[str, dict[str, Any]] = {}
        for entry, info, reading in self._energy:
            if entries is not None and entry not in entries:
                continue
            node = nodes.setdefault(
                info["node_id"],
                {"node_id": info["node_id"], "host": info["host"], "shards": 0, "energy_kwh": 0.0, "emissions_kg": 0.0},
            )
            node["shards"] += 1
            if reading is None or reading.error or reading.energy_kwh is None:
                node.setdefault("errors", []).append(reading.error if reading and reading.error else "no reading")
                continue
            node["energy_kwh"] += reading.energy_kwh
            node["emissions_kg"] += reading.emissions_kg or 0.0
            node["methods"] = sorted({*node.get("methods", []), *reading.methods})
            node["tool_version"] = reading.tool_version
        return {
            "measured": True,
            "method": "CodeCarbon's offline tracker in each worker process (process mode) on its own node, "
            "summed per node over the shards this run encoded for the result (stored shards cost nothing now)",
            "country_iso_code": settings.country_iso_code,
            "nodes": sorted(nodes.values(), key=lambda node: (node["host"], node["node_id"])),
        }

    def _search_description(self) -> dict[str, Any]:
        searchers = [{"name": searcher.name, **searcher.info} for searcher in self._searchers]
        return {
            "method": "exact dense search on Ray actors, block i on searcher i mod n, top k merged on the driver",
            "nodes": len({searcher["node_id"] for searcher in searchers}),
            "searchers": [{**searcher, "blocks": self._last_search.get(searcher["name"], 0)} for searcher in searchers],
        }

    def _stop(self, workers: Sequence[_Worker]) -> None:
        for worker in workers:
            with contextlib.suppress(Exception):
                self._ray.kill(worker.actor, no_restart=True)

    def close(self) -> None:
        """Stop the run's actors (the cluster keeps running)."""
        self._stop([*self._workers, *self._searchers])
        self._workers, self._searchers, self._model = [], [], None
