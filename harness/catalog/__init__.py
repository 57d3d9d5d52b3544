"""Catalog: what can be run, as validated YAML: model cards (`cards`) and suites of datasets with their
sources, languages, splits, metrics and averages (`suites`), which expand into the units a run evaluates.

May import: core, data, evaluation.
"""
