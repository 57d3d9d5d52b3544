"""ranx with what numba compiles for its Python API cached on disk, so a machine compiles it once.

ranx jits its fusion, normalisation and metric kernels with `cache=True`, but using ranx from Python
(`Run.from_dict`, `fuse`, `optimize_fusion`, reading a fused run back) goes through numba's typed `Dict`
and `List`, whose methods (`_make_dict`, `_getitem`, `_iter`, `_append`, ...) numba jits without a
cache: every `harness fuse` compiled them again (87 functions, most of a warm run on the demo suite:
benchmarks/fusion_warm.py). Turning their cache on keeps each compiled signature in NUMBA_CACHE_DIR
(set by `import_ranx`, writable even where site-packages is not) beside ranx's kernels, invalidated
like theirs when the source file (here numba's) changes.
"""

from __future__ import annotations

import functools
from types import ModuleType

from harness.evaluation.protocol import import_ranx


@functools.cache
def cached_ranx() -> ModuleType:
    """`import_ranx()`, with numba's disk cache turned on for the typed containers' methods.

    Once per process (later calls return ranx), before ranx's Python API first runs: a signature
    compiled before the cache is on stays in memory only.
    """
    ranx = import_ranx()  # first: numba's cache locator reads NUMBA_CACHE_DIR when caching is turned on
    from numba.core.dispatcher import Dispatcher
    from numba.typed import typeddict, typedlist

    for module in (typeddict, typedlist):
        for value in vars(module).values():
            if isinstance(value, Dispatcher):
                value.enable_caching()
    return ranx
