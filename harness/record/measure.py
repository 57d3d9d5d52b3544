"""Wall time, latency percentiles and peak memory, measured around each stage of a run."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import psutil


@dataclass
class Elapsed:
    seconds: float = 0.0


@contextmanager
def stopwatch() -> Iterator[Elapsed]:
    elapsed = Elapsed()
    start = time.perf_counter()
    try:
        yield elapsed
    finally:
        elapsed.seconds = time.perf_counter() - start


def percentiles_ms(seconds: Sequence[float], quantiles: Sequence[float] = (50, 95)) -> dict[str, float]:
    if not len(seconds):
        return {}
    values = np.percentile(np.asarray(seconds) * 1000.0, quantiles)
    return {f"p{int(q)}": float(v) for q, v in zip(quantiles, values, strict=True)}


class PeakMemory:
    """Samples this process's resident memory on a thread; `peak_bytes` is the maximum seen.

    `ru_maxrss` would only give the peak since the process started, which hides the peak of
    the second model of a run behind the first.
    """

    def __init__(self, interval_s: float = 0.01) -> None:
        self._interval_s = interval_s
        self._process = psutil.Process()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.baseline_bytes = 0
        self.peak_bytes = 0
        self.peak_gpu_bytes: int | None = None

    def __enter__(self) -> PeakMemory:
        self.baseline_bytes = self.peak_bytes = self._process.memory_info().rss
        self._reset_gpu_peak()
        self._thread = threading.Thread(target=self._sample, name="peak-memory", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.peak_bytes = max(self.peak_bytes, self._process.memory_info().rss)
        self.peak_gpu_bytes = self._gpu_peak()

    def _sample(self) -> None:
        while not self._stop.wait(self._interval_s):
            self.peak_bytes = max(self.peak_bytes, self._process.memory_info().rss)

    # Only where a model has already imported torch: importing it here would cost seconds for BM25 and for a
    # rerun whose encodings are all stored, and no GPU memory is in use without it.
    @staticmethod
    def _reset_gpu_peak() -> None:
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()

    @staticmethod
    def _gpu_peak() -> int | None:
        torch = sys.modules.get("torch")
        return int(torch.cuda.max_memory_allocated()) if torch is not None and torch.cuda.is_available() else None
