"""Energy and emissions from CodeCarbon's offline tracker.

The online tracker cannot geolocate without network and silently assumes Canada/Quebec, so the
country is explicit (configurable) and recorded with the method CodeCarbon chose to measure
each component (RAPL, TDP or CPU-load model, RAM model, NVML).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

DEFAULT_COUNTRY = "NLD"


class EnergyReading(BaseModel):
    energy_kwh: float | None = None
    emissions_kg: float | None = None
    duration_s: float | None = None
    cpu_power_w: float | None = None
    gpu_power_w: float | None = None
    ram_power_w: float | None = None
    country_iso_code: str
    tracking_mode: str | None = None
    methods: list[str] = []
    tool: str = "codecarbon"
    tool_version: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class EnergySettings:
    enabled: bool = True
    country_iso_code: str = DEFAULT_COUNTRY


class EnergyMeter:
    """One tracker for a whole session; each task is measured as a CodeCarbon task.

    Starting a tracker costs seconds (CodeCarbon probes the CPU, RAM and GPUs), so a run of many
    (dataset, language) pairs starts one and measures each pair with `start_task`/`stop_task`, and
    it starts in a background thread: entering the meter before loading models hides the probe
    behind the load. The first `measure` waits for it.
    """

    def __init__(self, settings: EnergySettings) -> None:
        self.settings = settings
        self._tracker: Any = None
        self._error: str | None = None
        self._version: str | None = None
        self._starting: threading.Thread | None = None

    def __enter__(self) -> EnergyMeter:
        if self.settings.enabled:
            self._starting = threading.Thread(target=self._start, name="codecarbon-start", daemon=True)
            self._starting.start()
        return self

    def _start(self) -> None:
        try:
            import codecarbon
            from codecarbon import OfflineEmissionsTracker

            logging.getLogger("codecarbon").setLevel(logging.ERROR)
            self._version = codecarbon.__version__
            tracker = OfflineEmissionsTracker(
                country_iso_code=self.settings.country_iso_code,
                save_to_file=False,
                log_level="error",
                tracking_mode="process",
                allow_multiple_runs=True,
            )
            tracker.start()
            self._tracker = tracker
        except Exception as error:
            self._error = f"{type(error).__name__}: {error}"

    def _started(self) -> None:
        if self._starting is not None:
            self._starting.join()
            self._starting = None

    def __exit__(self, *exc: object) -> None:
        self._started()
        if self._tracker is not None:
            with contextlib.suppress(Exception):
                self._tracker.stop()
            self._tracker = None

    @contextmanager
    def measure(self, task_name: str) -> Iterator[list[EnergyReading]]:
        """Yields a list that holds the task's reading once the block ends (empty when disabled)."""
        readings: list[EnergyReading] = []
        if not self.settings.enabled:
            yield readings
            return
        self._started()
        if self._tracker is None:
            yield readings
            readings.append(self._unavailable(self._error or "tracker not started"))
            return
        try:
            self._tracker.start_task(task_name)
        except Exception as error:
            yield readings
            readings.append(self._unavailable(f"{type(error).__name__}: {error}"))
            return
        try:
            yield readings
        finally:
            readings.append(self._stop_task())

    def _stop_task(self) -> EnergyReading:
        try:
            data = self._tracker.stop_task()
        except Exception as error:
            return self._unavailable(f"{type(error).__name__}: {error}")
        return EnergyReading(
            energy_kwh=data.energy_consumed,
            emissions_kg=data.emissions,
            duration_s=data.duration,
            cpu_power_w=data.cpu_power,
            gpu_power_w=data.gpu_power,
            ram_power_w=data.ram_power,
            country_iso_code=data.country_iso_code or self.settings.country_iso_code,
            tracking_mode=data.tracking_mode,
            methods=[str(part) for part in self._tracker._conf.get("hardware", [])],
            tool_version=self._version,
        )

    def _unavailable(self, reason: str) -> EnergyReading:
        return EnergyReading(country_iso_code=self.settings.country_iso_code, error=reason, tool_version=self._version)
