"""Record: measure each stage (time, memory, energy) and write each result, with provenance, atomically.

May import: core, data, evaluation, catalog, encode.
"""

from harness.record.energy import EnergyMeter, EnergyReading, EnergySettings
from harness.record.result import (
    Efficiency,
    ModelInfo,
    ResultRecord,
    id_from_trec,
    iter_result_files,
    load_results,
    read_result,
    result_stem,
    trec_id,
    write_result,
)

__all__ = [
    "Efficiency",
    "EnergyMeter",
    "EnergyReading",
    "EnergySettings",
    "ModelInfo",
    "ResultRecord",
    "id_from_trec",
    "iter_result_files",
    "load_results",
    "read_result",
    "result_stem",
    "trec_id",
    "write_result",
]
