"""Results are written atomically: a failure leaves neither a half file nor a JSON without its run."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness.record import read_result, write_result
from harness.record.energy import EnergyMeter, EnergySettings
from harness.record.measure import PeakMemory, percentiles_ms
from tests.results_factory import make_record


def test_write_result_puts_the_run_beside_the_json(tmp_path: Path) -> None:
    path = write_result(tmp_path / "s" / "m" / "d.en.test", make_record("m", "d", "en"), ["q Q0 d 1 1.0 m\n"])
    assert path.name == "d.en.test.json"
    assert (path.parent / "d.en.test.trec.gz").is_file()
    assert read_result(path).run_file == "d.en.test.trec.gz"


def test_a_failing_run_writer_leaves_no_files(tmp_path: Path) -> None:
    def broken_lines():
        yield "q Q0 d 1 1.0 m\n"
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_result(tmp_path / "d.en.test", make_record("m", "d", "en"), broken_lines())
    assert list(tmp_path.iterdir()) == []


def test_percentiles_in_milliseconds() -> None:
    assert percentiles_ms([0.001, 0.002, 0.003, 0.004, 0.005]) == {"p50": 3.0, "p95": pytest.approx(4.8)}
    assert percentiles_ms([]) == {}


def test_peak_memory_sees_a_transient_allocation() -> None:
    with PeakMemory(interval_s=0.001) as memory:
        block = bytearray(200 * 1024 * 1024)
        block[::4096] = b"x" * len(block[::4096])  # touch every page
        time.sleep(0.1)  # held for many sampling intervals (the sampler needs the GIL), then freed
        del block
    assert memory.peak_bytes - memory.baseline_bytes > 150 * 1024 * 1024


def test_disabled_energy_meter_records_nothing() -> None:
    with EnergyMeter(EnergySettings(enabled=False)) as meter, meter.measure("task") as readings:
        pass
    assert readings == []


def test_energy_reading_names_country_and_method() -> None:
    with EnergyMeter(EnergySettings(country_iso_code="DEU")) as meter, meter.measure("task") as readings:
        sum(range(200_000))
    [reading] = readings
    assert reading.error is None
    assert reading.country_iso_code == "DEU"
    assert reading.energy_kwh is not None and reading.energy_kwh > 0
    assert reading.methods  # e.g. ["RAM()", "CPU(Cpu Load)"]


def test_result_files_are_readable_by_others(tmp_path: Path) -> None:
    path = write_result(tmp_path / "d.en.test", make_record("m", "d", "en"), ["q Q0 d 1 1.0 m\n"])
    assert path.stat().st_mode & 0o777 == 0o644
    assert path.with_name("d.en.test.trec.gz").stat().st_mode & 0o777 == 0o644
