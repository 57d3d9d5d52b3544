"""The Python API: one call from a notebook or a training loop, on the same run API as `harness run`.

```python
import harness

results = harness.evaluate("all-minilm-l6-v2", data="path/to/scifact", language="en")
results = harness.evaluate(my_model, name="my-model", revision="step-5000", suite="miracl", languages=["sw"])
results[0].metrics["ndcg@10"], results[0].per_query["ndcg@10"], results[0].path
harness.load("results", model="my-model")  # every result recorded, as the same objects
harness.report("results", "reports")  # the leaderboard
harness.fuse(["bm25", "my-model"], data="path/to/scifact")  # reciprocal rank fusion of recorded runs
```

`model` is a card name or file, a checkpoint folder or `hf:ORG/NAME[@REVISION]`, an `Encoder`, or any object
with `encode(texts, **kwargs) -> array` (see `harness.models.adapters.python`). Results are the files the
CLI writes, keyed the same way: a second call with the same model, data and settings keeps the first
result unless `overwrite=True`. Bad input raises `InputError` naming what is wrong; nothing is written.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.catalog.cards import ModelCard
from harness.core.errors import InputError
from harness.data.sampling import Sampling
from harness.encode import Encoder, EncodeSettings
from harness.models.adapters.python import PythonEncoder, card_text_digest
from harness.record import EnergySettings, load_results
from harness.record.result import read_result
from harness.reporting import render_reports
from harness.results import StoredResult
from harness.results import load as load_stored
from harness.run.api import RunEvents, RunRequest, run, run_fusion
from harness.run.fusion import FusionSpec
from harness.run.runner import StoreSettings

Result = StoredResult
"""A recorded result: `metrics`, `per_query`, `path`, `record` (everything recorded) and `to_frame()`."""

_LOG = logging.getLogger("harness")
_REQUEST_SETTINGS = frozenset(
    {"split", "maxp", "index", "k", "latency_sample", "report_dir", "suites_dirs", "cards_dirs", "local", "store"}
)
_ENCODE_SETTINGS = frozenset(field.name for field in dataclasses.fields(EncodeSettings))
_OTHER_SETTINGS = frozenset({"corpus_size", "seed", "cache_dir", "energy", "country"})


def _request_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """`**settings` as RunRequest fields: its own, the encode settings by name, sampling, cache and energy."""
    unknown = sorted(set(settings) - _REQUEST_SETTINGS - _ENCODE_SETTINGS - _OTHER_SETTINGS)
    if unknown:
        known = ", ".join(sorted(_REQUEST_SETTINGS | _ENCODE_SETTINGS | _OTHER_SETTINGS))
        raise InputError(f"unknown setting {unknown[0]!r}; known settings: {known}", key=unknown[0])
    fields = {name: value for name, value in settings.items() if name in _REQUEST_SETTINGS}
    encode = {name: value for name, value in settings.items() if name in _ENCODE_SETTINGS}
    fields["encode"] = EncodeSettings(**encode)
    if "cache_dir" in settings and "store" not in settings:
        fields["store"] = StoreSettings(root=Path(settings["cache_dir"]).expanduser())
    energy = settings.get("energy", True)
    if isinstance(energy, bool):
        energy = EnergySettings(
            enabled=energy, country_iso_code=settings.get("country", EnergySettings().country_iso_code)
        )
    fields["energy"] = energy
    return fields


def _selection(
    suite: str | Path | None,
    data: str | Path | None,
    language: str | None,
    languages: Sequence[str] | None,
    datasets: Sequence[str] | None,
) -> dict[str, Any]:
    """The RunRequest fields that say what data to run on."""
    folder = Path(data) if data is not None else None
    return {"suite": suite, "data": folder, "language": language, "languages": languages, "datasets": datasets}


def _sampling(max_queries: int | None, settings: Mapping[str, Any]) -> Sampling:
    return Sampling(max_queries=max_queries, corpus_size=settings.get("corpus_size"), seed=settings.get("seed", 0))


def _named_card(card: ModelCard) -> ModelCard:
    """An encoder's card with a hash: one built in Python has no file, so its fields are hashed."""
    if not card.sha256:
        card.sha256 = "sha256:" + card_text_digest(card)
    return card


def as_encoder(model: object, name: str | None, revision: str | None, encode: EncodeSettings) -> Encoder:
    """A Python model as an `Encoder`: an `Encoder` as it is, any object with `encode` wrapped."""
    if isinstance(model, Encoder):
        _named_card(model.card)
        return model
    chosen = name or getattr(model, "name", None)
    if not isinstance(chosen, str) or not chosen:
        raise InputError(
            f"a {type(model).__name__} needs a name for its results: harness.evaluate(model, name='my-model') "
            "or a `name` attribute",
            key="name",
        )
    version = revision if revision is not None else getattr(model, "revision", None)
    return PythonEncoder.wrap(model, chosen, str(version) if version is not None else None, encode)


def _say(note: str) -> None:
    _LOG.info(note)


def _stored(paths: Iterable[Path]) -> list[Result]:
    return [Result(path, read_result(path)) for path in paths]


def evaluate(
    model: object,
    *,
    suite: str | Path | None = None,
    data: str | Path | None = None,
    language: str | None = None,
    languages: Sequence[str] | None = None,
    datasets: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    max_queries: int | None = None,
    results_dir: str | Path = "results",
    name: str | None = None,
    revision: str | None = None,
    overwrite: bool = False,
    **settings: Any,
) -> list[Result]:
    """Run `model` on a suite (default: the bundled demo) or a local BEIR folder `data` in `language`; returns
    its results, written or kept, in run order.

    `settings` are the run's other knobs by name: `k`, `index`, `split`, `maxp`, `batch_size`, `device`,
    `dtype`, `precision`, `max_query_length`, `max_document_length`, `corpus_size`, `seed`, `cache_dir`,
    `energy` (False to skip CodeCarbon), `country`, `latency_sample`, `report_dir`, `local`, `cards_dirs`,
    `suites_dirs`. A plain object is named by `name` (or its `name` attribute) and `revision` (or its
    `revision` attribute): with the settings, they are its identity in the run key and the embedding store,
    so give a new revision when the weights change.
    """
    fields = _request_settings(settings)
    if isinstance(model, str | os.PathLike):
        if name is not None or revision is not None:
            raise InputError(
                "name and revision describe a Python object; a card or checkpoint names itself", key="name"
            )
        models, encoders = (str(model),), ()
    else:
        models, encoders = (), (as_encoder(model, name, revision, fields["encode"]),)
    request = RunRequest(
        **_selection(suite, data, language, languages, datasets),
        models=models,
        encoders=encoders,
        sampling=_sampling(max_queries, settings),
        metrics=metrics,
        overwrite=overwrite,
        results_dir=Path(results_dir),
        **fields,
    )
    return _stored(run(request, RunEvents(on_note=_say)).results)


def load(
    results_dir: str | Path = "results",
    *,
    model: str | None = None,
    suite: str | None = None,
    dataset: str | None = None,
    language: str | None = None,
) -> list[Result]:
    """Every result recorded under `results_dir`, optionally only those of one model, suite, dataset or language."""
    wanted = {"suite": suite, "dataset": dataset, "language": language}
    return [
        result
        for result in load_stored(results_dir)
        if (model is None or result.record.model.name == model)
        and all(value is None or getattr(result.record, key) == value for key, value in wanted.items())
    ]


def report(
    results_dir: str | Path = "results", out: str | Path = "reports", *, suites_dirs: Sequence[Path] = ()
) -> list[Path]:
    """Render the leaderboard of every result under `results_dir` into `out` (HTML, Markdown, LaTeX)."""
    folder = Path(results_dir)
    if not folder.is_dir():
        raise InputError("results folder not found; evaluate a model first", path=folder)
    return render_reports(load_results(folder), Path(out), suites_dirs=list(suites_dirs))


def fuse(
    models: Sequence[str],
    *,
    method: str = "rrf",
    norm: str = "min-max",
    weights: Sequence[float] | None = None,
    rrf_k: int = 60,
    suite: str | Path | None = None,
    data: str | Path | None = None,
    language: str | None = None,
    languages: Sequence[str] | None = None,
    datasets: Sequence[str] | None = None,
    name: str | None = None,
    tune_split: str | None = None,
    tune_metric: str | None = None,
    results_dir: str | Path = "results",
) -> list[Result]:
    """Fuse the recorded runs of `models` (their names as results label them) on every unit selected, each
    fused run recorded as a result of its own, as `harness fuse` does."""
    spec = FusionSpec(method, norm, tuple(weights) if weights is not None else None, rrf_k)
    request = RunRequest(
        **_selection(suite, data, language, languages, datasets),
        models=tuple(models),
        results_dir=Path(results_dir),
    )
    outcome = run_fusion(request, spec, name, tune_split, tune_metric, RunEvents(on_note=_say))
    return _stored(outcome.results)


__all__ = ["Result", "evaluate", "fuse", "load", "report"]
