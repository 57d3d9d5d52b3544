"""The path `harness.references` had before the layout by stage: published reference scores now live in
`harness.results.references`; this module re-exports them so existing imports keep working."""

from harness.results.references import (
    AVERAGE,
    Reference,
    ReferenceFile,
    find_references,
    load_reference_file,
    load_references,
    references_path,
)

__all__ = [
    "AVERAGE",
    "Reference",
    "ReferenceFile",
    "find_references",
    "load_reference_file",
    "load_references",
    "references_path",
]
