"""harness: compare multilingual retrievers on effectiveness and cost, with full provenance.

One package per stage, each importing only those listed before it (tests/test_layout.py holds this):
core, data, evaluation, catalog, encode, models, store, index, record, results, reporting, run, cli.
"""

__version__ = "0.1.0"
