"""Run: the one run API every surface calls (`harness run`, `sweep`, `fuse`, a notebook): a `RunRequest`
says what to run and `run()` drives the pipeline for it, data -> encode -> store -> index/search ->
evaluate -> record, unit by unit (`runner`), keyed so a rerun resumes (`keys`), on one process or a Ray
cluster (`distributed`); pruning sweeps (`sweep`) and rank fusion of recorded runs (`fusion`).

May import: every stage below it (core, data, evaluate, catalog, encode, models, store, index, record,
results, report). Only the CLI imports it.
"""
