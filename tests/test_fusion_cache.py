"""Fusion compiles once per machine: what numba compiles for ranx is kept in its disk cache, so a second
process fusing the same way compiles nothing (`harness.evaluation.ranx_cache`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# Every method under every normalisation, an empty component, one query at a time (the latency sample) and
# tuning each tunable method; prints the functions numba compiled meanwhile.
FUSE_EVERY_WAY = """
import json
import numpy as np
from numba.core import event
from harness.run.fusion import METHODS, NORMS, TUNABLE, FusionSpec, fuse, fusion_latencies, tune

rng = np.random.default_rng(7)
queries = [f"q{n}" for n in range(6)]
def scored(answered):
    return {q: {f"d{d}": float(rng.normal()) for d in rng.choice(30, 12, replace=False)} for q in answered}
a, b = scored(queries), scored(queries[:-1])
qrels = {q: {f"d{d}": int(g) for d, g in zip(rng.choice(30, 5, replace=False), [0, 1, 1, 2, 3])} for q in queries}
listener = event.RecordingListener()
with event.install_listener("numba:compile", listener):
    for method in METHODS:
        for norm in NORMS:
            spec = FusionSpec(method, norm)
            fuse([a, b], spec, spec.params(2))
        spec = FusionSpec(method)
        fuse([a, {q: {} for q in queries}], spec, spec.params(2))
        fusion_latencies([a, b], spec, spec.params(2), 3)
        if method in TUNABLE:
            tune([a, b], qrels, spec, "ndcg@10")
compiled = {f"{e.data['dispatcher'].py_func.__module__}.{e.data['dispatcher'].__name__}" for _, e in listener.buffer}
print(json.dumps(sorted(compiled)))
"""


def compiled_in_a_new_process() -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", FUSE_EVERY_WAY],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_a_second_process_fusing_every_way_compiles_nothing() -> None:
    compiled_in_a_new_process()  # fills numba's cache (NUMBA_CACHE_DIR, as import_ranx sets it) where it lacks these
    assert compiled_in_a_new_process() == []
