"""The run API: what to run (`RunRequest`) and the functions that run it, under `harness run`,
`harness sweep`, `harness fuse` and any Python caller: `run`, `run_sweep` and `run_fusion`.

```python
from harness.run import RunRequest, run

outcome = run(RunRequest(suite="demo", languages=("en", "de"), models=("bm25",)))
outcome.results  # the result JSON files, written or kept, in run order
```

A request is checked before anything is loaded (depth, device, grid country, writable folders), then
the suite (or a `data` folder) is expanded into units, the cards are loaded and the units run; with a
`report_dir` the leaderboard is rendered from everything in `results_dir` afterwards.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from harness.catalog.cards import ModelCard, load_card
from harness.catalog.suites import LOCAL_SUITE, Suite, Unit, load_suite, suite_paths
from harness.core.errors import HarnessError, InputError
from harness.core.languages import is_known_language
from harness.data.sampling import Sampling
from harness.encode import Encoder, EncodeSettings
from harness.models.checkpoints import choose_model
from harness.record import EnergySettings, load_results
from harness.reporting import render_reports
from harness.run.checks import check_run_options
from harness.run.distributed import ClusterSettings, RayEncodingPool, ray_pool
from harness.run.fusion import FuseSettings, FusionSpec, Tuning, fuse_unit
from harness.run.local_data import data_suite
from harness.run.runner import Progress, RunSettings, SilentProgress, StoreSettings, model_family, run_units
from harness.run.sweep import SweepPlan, sweep_units

DEMO_SUITE = "demo"


def _frozen_paths(folders: Mapping[str | None, Path | str] | None) -> Mapping[str | None, Path]:
    return MappingProxyType({name: Path(folder).expanduser() for name, folder in (folders or {}).items()})


def _tuple(values: Sequence[Any] | None) -> tuple[Any, ...] | None:
    return None if values is None else tuple(values)


@dataclass(frozen=True)
class RunRequest:
    """What to run: the data (a suite, or a local BEIR folder), the models, and how.

    `suite` is a suite name or YAML path (default: the bundled demo); `data` a local BEIR folder in its
    language `language` (default en) instead. `languages`/`datasets` select a suite's units; `local`
    maps a dataset to a folder holding its files (the key None: the one dataset selected). `models`
    are card names or paths (default: the suite's default models, each skipped with a note when its
    weights are absent). `index` is `kind[:key=value,...]` for every model instead of its card's.
    `models` may also name a checkpoint folder or `hf:ORG/NAME[@REVISION]`, read into a card
    (`harness.models.checkpoints`). `k` is the depth (default: the suite's). A result that exists under
    its run key is kept unless `overwrite`. With `report_dir`, the leaderboard is rendered after the run.
    """

    suite: str | Path | None = None
    data: Path | None = None
    language: str | None = None
    data_name: str | None = None  # the `data` folder's dataset name (`--name`); default: `harness.run.local_data`
    languages: Sequence[str] | None = None
    datasets: Sequence[str] | None = None
    local: Mapping[str | None, Path] = field(default_factory=dict)
    models: Sequence[str] = ()
    encoders: Sequence[Encoder] = ()  # models a Python caller built (`harness.evaluate`), run after `models`
    sampling: Sampling = field(default_factory=Sampling)
    metrics: Sequence[str] | None = None
    split: str | None = None  # evaluate this split instead of each dataset's own
    maxp: bool | None = None  # None: the dataset's setting
    index: str | None = None
    k: int | None = None
    encode: EncodeSettings = field(default_factory=EncodeSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    cluster: ClusterSettings | None = None  # None: one process; else Ray workers encode the missing shards
    energy: EnergySettings = field(default_factory=EnergySettings)
    latency_sample: int = 200
    overwrite: bool = False
    results_dir: Path = Path("results")
    report_dir: Path | None = None
    suites_dirs: Sequence[Path] = ()
    cards_dirs: Sequence[Path] = ()

    def __post_init__(self) -> None:
        # Sequences become tuples and the folder mapping read-only, so a request cannot change once made.
        for name in ("languages", "datasets", "metrics"):
            object.__setattr__(self, name, _tuple(getattr(self, name)))
        for name in ("models", "encoders", "suites_dirs", "cards_dirs"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "local", _frozen_paths(self.local))
        object.__setattr__(self, "results_dir", Path(self.results_dir))
        if self.suite is not None:
            object.__setattr__(self, "suite", str(self.suite))
        if self.data is not None:
            object.__setattr__(self, "data", Path(self.data))
        if self.report_dir is not None:
            object.__setattr__(self, "report_dir", Path(self.report_dir))


@dataclass(frozen=True)
class RunEvents:
    """What a run tells its caller as it goes; every callback is optional."""

    progress: Progress = field(default_factory=SilentProgress)
    on_result: Callable[[Path], None] | None = None  # a result was written
    on_kept: Callable[[Path], None] | None = None  # a result exists under its run key and was kept
    on_skipped: Callable[[ModelCard, HarnessError], None] | None = None  # a default model is unavailable
    on_note: Callable[[str], None] | None = None  # an assumption the run made, worth saying
    on_shard: Callable[[Path], None] | None = None  # a shard of encodings was committed to the store (its folder)


@dataclass(frozen=True)
class RunOutcome:
    results: tuple[Path, ...]  # result JSON files, written or kept, in run order
    reports: tuple[Path, ...] = ()  # the rendered leaderboard's files, with a report_dir


def select_suite(request: RunRequest, on_note: Callable[[str], None] | None = None) -> Suite:
    """The request's suite, or a one-dataset suite around its `data` folder."""
    if request.suite and request.data:
        raise InputError("give either --suite or --data, not both", key="--data")
    if request.data:
        code = request.language or "en"
        if request.language is None and on_note:
            on_note("no --language given; analysing the data as English (en)")
        for part in code.split("-"):
            if not is_known_language(part):
                raise InputError(
                    f"unknown language code {part!r} (expected ISO 639, e.g. en, de, zh)", key="--language"
                )
        return data_suite(request.data, code, request.results_dir, request.data_name, on_note)
    if request.data_name is not None:
        raise InputError("--name names a --data folder's dataset; a suite's datasets have their names", key="--name")
    if request.suite == LOCAL_SUITE and LOCAL_SUITE not in suite_paths(list(request.suites_dirs)):
        raise InputError(
            "`local` is the suite of --data runs' results: give the data with the same --data DIR --language L",
            key="--suite",
        )
    if request.language:
        raise InputError(
            "--language describes a --data folder; use --languages to select a suite's languages", key="--language"
        )
    return load_suite(request.suite or DEMO_SUITE, list(request.suites_dirs))


def data_options(request: RunRequest) -> str:
    """The command-line options that give the request's data (`--suite xquad --local xquad=DIR --max-queries
    50`, or `--data DIR --language en`), to repeat in a command a message suggests."""
    if request.data is not None:
        parts = ["--data", str(request.data), "--language", request.language or "en"]
        parts += ["--name", request.data_name] if request.data_name else []
    else:
        parts = ["--suite", str(request.suite or DEMO_SUITE)]
        for name, folder in request.local.items():
            parts += ["--local", f"{name}={folder}" if name else str(folder)]
    drawn = request.sampling
    parts += ["--max-queries", str(drawn.max_queries)] if drawn.max_queries is not None else []
    parts += ["--corpus-sample", str(drawn.corpus_size)] if drawn.corpus_size is not None else []
    parts += ["--seed", str(drawn.seed)] if drawn.seed and drawn.requested else []
    return shlex.join(parts)


def local_folders(request: RunRequest, suite: Suite) -> dict[str, Path]:
    """`local` by dataset name; the key None names the one dataset selected."""
    folders: dict[str, Path] = {}
    for name, folder in request.local.items():
        if name is None:
            selected = request.datasets or [d.name for d in suite.spec.datasets if d.default]
            if len(selected) != 1:
                raise InputError(
                    f"say which dataset {str(folder)!r} holds: --local DATASET={folder} "
                    f"(datasets: {', '.join(d.name for d in suite.spec.datasets)})",
                    key="--local",
                )
            name = selected[0]
        folders[name.strip()] = folder
    return folders


def select_units(request: RunRequest, suite: Suite, maxp: bool | None = None) -> list[Unit]:
    """The suite's units the request selects, sampled and with its metrics and split."""
    units = suite.units(
        request.languages,
        request.datasets,
        local=local_folders(request, suite),
        sampling=request.sampling,
        maxp=maxp,
        metrics=request.metrics,
    )
    if request.split:
        units = [dataclasses.replace(unit, split=request.split) for unit in units]
    return units


def chosen_card(name: str, request: RunRequest, on_note: Callable[[str], None] | None = None) -> ModelCard:
    """The card `name` means (a card, a card file, a checkpoint folder or hub id), saying what a checkpoint's
    card assumed."""
    chosen = choose_model(name, request.cards_dirs)
    for note in chosen.notes:
        if on_note:
            on_note(note)
    return chosen.card


def load_cards(
    request: RunRequest, suite: Suite, on_note: Callable[[str], None] | None = None
) -> tuple[list[ModelCard], bool]:
    """Cards the request names (its built encoders' cards last), else the suite's defaults; the flag says which."""
    if request.models or request.encoders:
        cards = [chosen_card(name, request, on_note) for name in request.models]
        cards += [encoder.card for encoder in request.encoders]
        names = [card.name for card in cards]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise InputError(f"two models of this run are named {', '.join(map(repr, twice))}", key="--model")
        return cards, False
    names = suite.spec.default_models or ["bm25"]
    return [load_card(name, list(request.cards_dirs)) for name in names], True


def built_encoders(request: RunRequest) -> dict[str, Encoder]:
    return {encoder.card.name: encoder for encoder in request.encoders}


def index_override(
    text: str | None, cards: Sequence[ModelCard], built: Mapping[str, Encoder] | None = None
) -> dict[str, Any] | None:
    """`kind[:key=value,...]`, checked against every model of the run before any work."""
    if text is None:
        return None
    from harness.index import index_class, parse_index_spec

    spec = parse_index_spec(text)
    family = index_class(spec["kind"]).family
    for card in cards:
        family_of_model = model_family(card, built)
        if family_of_model != family:
            raise InputError(
                f"index {spec['kind']!r} is for {family} models but {card.name!r} is {family_of_model}; "
                "run it separately or set `index:` in its card",
                key="--index",
            )
    return spec


def _checked(request: RunRequest) -> EnergySettings:
    """Check what can be checked before loading anything; the energy settings with the grid upper-cased."""
    grid = check_run_options(
        k=request.k,
        device=request.encode.device,
        country=request.energy.country_iso_code,
        results_dir=request.results_dir,
        report_dir=request.report_dir,
        store_root=request.store.root,
    )
    return dataclasses.replace(request.energy, country_iso_code=grid)


def _settings(request: RunRequest, energy: EnergySettings, index: dict[str, Any] | None) -> RunSettings:
    return RunSettings(
        results_dir=request.results_dir,
        k=request.k,
        encode=request.encode,
        energy=energy,
        latency_sample=request.latency_sample,
        index=index,
        overwrite=request.overwrite,
        store=request.store,
    )


def _pool(
    cluster: ClusterSettings | None, energy: EnergySettings
) -> contextlib.AbstractContextManager[RayEncodingPool | None]:
    """The run's Ray pool (its workers measure energy as this run does), or nothing for a one-process run."""
    return ray_pool(dataclasses.replace(cluster, energy=energy)) if cluster else contextlib.nullcontext()


def run(request: RunRequest, events: RunEvents | None = None) -> RunOutcome:
    """Every model of the request on every unit it selects; returns the results written or kept.

    Results are keyed: rerunning an interrupted request resumes it. A bad input raises `InputError`
    naming the file, line or option at fault, before any work where it can be checked before.
    """
    events = events or RunEvents()
    if request.encoders and request.cluster:
        raise InputError("models built in Python run in this process: Ray workers load models from cards", key="--ray")
    energy = _checked(request)
    suite = select_suite(request, events.on_note)
    units = select_units(request, suite, request.maxp)
    cards, defaults = load_cards(request, suite, events.on_note)
    built = built_encoders(request)
    settings = _settings(request, energy, index_override(request.index, cards, built))
    with _pool(request.cluster, energy) as pool:
        written = run_units(
            units,
            cards,
            settings,
            progress=events.progress,
            on_result=events.on_result,
            k=suite.spec.k,
            on_unavailable=(events.on_skipped or (lambda card, error: None)) if defaults else None,
            on_kept=events.on_kept,
            pool=pool,
            built=built,
            on_note=events.on_note,
            on_shard=events.on_shard,
        )
    reports: list[Path] = []
    if request.report_dir is not None and written:
        reports = render_reports(load_results(request.results_dir), request.report_dir, suites_dirs=request.suites_dirs)
    return RunOutcome(tuple(written), tuple(reports))


def run_sweep(request: RunRequest, plan: SweepPlan, events: RunEvents | None = None) -> RunOutcome:
    """One sparse model (the request's only model), encoded once, indexed at every pruning point of `plan`."""
    events = events or RunEvents()
    if len(request.models) != 1:
        raise InputError("a sweep runs one model (-m NAME)", key="--model")
    energy = _checked(request)
    suite = select_suite(request, events.on_note)
    units = select_units(request, suite, maxp=False)  # sweep points score whole documents
    card = chosen_card(request.models[0], request, events.on_note)
    kind = index_override(request.index, [card])
    if kind and list(kind) == ["kind"] and card.index.get("kind") == kind["kind"]:
        kind = card.index  # a bare kind keeps the card's parameters for that kind
    with _pool(request.cluster, energy) as pool:
        written = sweep_units(
            units,
            card,
            plan,
            _settings(request, energy, kind),
            progress=events.progress,
            on_result=events.on_result,
            k=suite.spec.k,
            pool=pool,
            on_note=events.on_note,
            on_shard=events.on_shard,
        )
    return RunOutcome(tuple(written))


def run_fusion(
    request: RunRequest,
    spec: FusionSpec,
    name: str | None = None,
    tune_split: str | None = None,
    tune_metric: str | None = None,
    events: RunEvents | None = None,
) -> RunOutcome:
    """Fuse the recorded runs of the request's models on every unit it selects, each written as a result
    of its own; with `tune_split`, the method's parameter is tuned there for `tune_metric` (default: the
    unit's primary metric)."""
    events = events or RunEvents()
    suite = select_suite(request, events.on_note)
    written: list[Path] = []
    for unit in select_units(request, suite):
        tuning = Tuning(tune_split, tune_metric or unit.primary_metric) if tune_split else None
        settings = FuseSettings(request.results_dir, name, tuning, request.latency_sample, data_options(request))
        path = fuse_unit(unit, list(request.models), spec, settings)
        written.append(path)
        if events.on_result:
            events.on_result(path)
    return RunOutcome(tuple(written))


__all__ = [
    "FusionSpec",
    "RunEvents",
    "RunOutcome",
    "RunRequest",
    "SweepPlan",
    "run",
    "run_fusion",
    "run_sweep",
]
