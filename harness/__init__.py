"""harness: compare multilingual retrievers on effectiveness and cost, with full provenance."""

__version__ = "0.1.0"
