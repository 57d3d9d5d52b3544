"""Results: reading recorded results back. The library (`load`, `load_frame`, exports to TREC and MTEB),
how a result is identified and the newest one picked (`result_id`, `latest`), published reference scores
(`references`, `reference_book`), suite averages, paired significance tests (`compare`) and the
regression gate (`gate`).

```python
from harness import results

frame = results.load_frame("results")  # one row per model/dataset/language/metric
results.export_mteb(results.load("results"), "mteb-results")
```

May import: core, data, evaluation, catalog, record.
"""

from harness.results.library import (
    FRAME_COLUMNS,
    FusionComponent,
    FusionInfo,
    MtebRegistry,
    MtebTask,
    StoredResult,
    Sweep,
    SweepPruning,
    export_mteb,
    export_trec,
    fusion_of,
    hardware_label,
    latest,
    load,
    load_frame,
    matches_model,
    model_revision,
    mteb_exportable,
    mteb_metric_name,
    per_query_frame,
    resolve_labels,
    result_id,
    sweep_of,
    to_frame,
)

__all__ = [
    "FRAME_COLUMNS",
    "FusionComponent",
    "FusionInfo",
    "MtebRegistry",
    "MtebTask",
    "StoredResult",
    "Sweep",
    "SweepPruning",
    "export_mteb",
    "export_trec",
    "fusion_of",
    "hardware_label",
    "latest",
    "load",
    "load_frame",
    "matches_model",
    "model_revision",
    "mteb_exportable",
    "mteb_metric_name",
    "per_query_frame",
    "resolve_labels",
    "result_id",
    "sweep_of",
    "to_frame",
]
