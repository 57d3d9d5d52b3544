"""Documentation that cannot drift: every `harness …` command in README.md and docs/*.md is checked
against the command line as it is, and those that can run offline here are run.

A command is a line of a fenced block (`$ ` prompts, `run:` steps of a workflow and `python -m harness`
included; a line ending in `\\` goes on on the next), or an inline `harness …` span of the prose. An
inline span that only names a command (`harness gate`) is checked to name one; every other command has a
row in KINDS, keyed by its text (comment dropped, spaces collapsed), that says what the test does with it:
every command is parsed by the real click command (unknown options, bad choices and values fail) and its
models, suites, datasets, languages and local folders are checked against the catalog; RUNS and SAMPLED
commands are also run, a document's in its order, in a fresh folder beside a link to ../shared.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.exceptions import TyperException

from harness.catalog.cards import card_paths
from harness.catalog.suites import suite_paths
from harness.cli import app
from harness.core.errors import HarnessError
from harness.run.api import RunRequest, select_suite, select_units
from tests.conftest import REPO, SHARED

DOCUMENTS = (REPO / "README.md", *sorted((REPO / "docs").glob("*.md")))


class Kind(Enum):
    RUNS = "run as written"
    SAMPLED = "run with QUICK appended: the full data is too slow for a test"
    SLOW = "runs here, too slow for a test: checked, not run"
    NEEDS_NETWORK = "downloads weights or data from the hub: checked, not run"
    NEEDS_GPU = "needs CUDA: checked, not run"
    NEEDS_FILES = "reads the reader's own files or a model trained first: checked, not run"
    DESTRUCTIVE = "removes what the other documents' runs read: checked, not run"
    OTHER_MACHINE = "measures against the machine that recorded the expectations: checked, not run"
    SYNOPSIS = "a synopsis with placeholders: its command and option names are checked"
    KNOWN_BROKEN = "fails for a bug in the code, not the text: checked, not run"


# What a SAMPLED command gets appended: a few queries over a cut corpus, the same for a run and its fuse.
QUICK = "--max-queries 10 --corpus-sample 40"

MINILM_ON_XQUAD = "MiniLM on all of XQuAD (7 units, ~9,300 texts) takes 7 minutes here"

XQUAD_RUN = "harness run --suite xquad --local xquad=../shared/data/xquad -m bm25 -m all-minilm-l6-v2"

KINDS: dict[str, tuple[Kind, str]] = {
    # README.md
    "harness run": (Kind.RUNS, "the quick start: the demo suite with BM25 and MiniLM"),
    "harness run --data path/to/scifact --language en -m bm25 -m all-minilm-l6-v2": (
        Kind.SLOW,
        "MiniLM encodes all of SciFact: 12 minutes here",
    ),
    "harness run --data path/to/xquad/zh --language zh -m bm25": (Kind.RUNS, ""),
    "harness list suites": (Kind.RUNS, ""),
    "harness run --suite demo --languages zh,hi,zh-en -m bm25": (Kind.RUNS, ""),
    "harness report --results-dir results --out reports": (Kind.RUNS, ""),
    "harness cache prune --all": (Kind.DESTRUCTIVE, "empties the embedding store every document's runs share"),
    "harness run ... --ray local|auto|ADDRESS": (Kind.SYNOPSIS, ""),
    'harness explain -m milco --text "..."': (Kind.NEEDS_NETWORK, "MILCO's weights"),
    'harness explain -m milco --query "..." --document "..."': (Kind.NEEDS_NETWORK, "MILCO's weights"),
    "harness sweep -m milco --suite demo --languages en --prune mass:0,10,30,50,60,95": (
        Kind.NEEDS_NETWORK,
        "MILCO's weights",
    ),
    "harness run --data path/to/scifact --language en -m path/to/my-checkpoint -m bm25": (
        Kind.SLOW,
        "a checkpoint (MiniLM stands in) encodes all of SciFact: 12 minutes here",
    ),
    "harness run --suite miracl --languages sw -m hf:intfloat/multilingual-e5-small": (
        Kind.NEEDS_NETWORK,
        "MIRACL and the checkpoint from the hub",
    ),
    "harness card path/to/my-checkpoint > my-model.yaml": (Kind.RUNS, ""),
    "harness run -m path/to/my-e5.yaml": (Kind.NEEDS_FILES, "the reader's own card"),
    "harness list adapters": (Kind.RUNS, ""),
    "harness list models --cards-dir .": (Kind.RUNS, ""),
    "harness run --data path/to/beir-folder --language en -m my-model.yaml": (Kind.RUNS, ""),
    "harness fetch --suite mmarco --languages de": (Kind.NEEDS_NETWORK, "downloads mMARCO"),
    "harness fetch --suite mrtydi --languages sw": (Kind.NEEDS_NETWORK, "downloads Mr.TyDi"),
    "harness fetch --suite miracl --languages sw": (Kind.NEEDS_NETWORK, "downloads MIRACL"),
    "harness fetch --suite mldr --languages hi": (Kind.NEEDS_NETWORK, "downloads MLDR"),
    "harness fetch --suite mkqa --languages ja": (Kind.NEEDS_NETWORK, "downloads MKQA and BEIR NQ"),
    "harness fetch --suite hindi-beir": (Kind.NEEDS_NETWORK, "downloads Hindi-BEIR"),
    "harness fetch --suite beir --datasets scifact": (Kind.NEEDS_NETWORK, "downloads BEIR"),
    "harness fetch --suite limit": (Kind.NEEDS_NETWORK, "downloads LIMIT"),
    "harness run --suite limit --datasets limit-small --local limit-small=../shared/data/limit-small": (
        Kind.SAMPLED,
        "MiniLM on LIMIT-small's 1,000 queries",
    ),
    XQUAD_RUN: (Kind.SAMPLED, MINILM_ON_XQUAD),
    "harness compare bm25 all-minilm-l6-v2 --suite beir --suite xquad": (Kind.RUNS, ""),
    "harness fuse --suite xquad --local xquad=../shared/data/xquad -m bm25 -m all-minilm-l6-v2 --method rrf": (
        Kind.SAMPLED,
        "fuses the sampled runs above",
    ),
    "harness gate": (Kind.RUNS, ""),
    "harness gate --update --suite demo -m bm25": (Kind.RUNS, ""),
    "harness export trec --out runs/": (Kind.RUNS, ""),
    # docs/cross-lingual.md
    "python -m harness run --suite xquad --local xquad=../shared/data/xquad -m bm25 -m all-minilm-l6-v2": (
        Kind.SAMPLED,
        MINILM_ON_XQUAD,
    ),
    "harness run --suite esci --local esci=~/data/esci -m bm25 --languages en,es,ja,es-en,ja-en": (
        Kind.NEEDS_FILES,
        "ESCI's parquet files (1.2 GB) downloaded by the reader",
    ),
    # docs/distributed.md
    "harness run --ray": (Kind.SYNOPSIS, ""),
    "harness sweep --ray": (Kind.SYNOPSIS, ""),
    "harness run --data ../shared/data/beir-scifact -m bge-m3-dense --device cuda --dtype bfloat16 "
    "--ray local --cache-dir /scratch/harness": (Kind.NEEDS_GPU, "BGE-M3 on CUDA with Ray"),
    "harness run --suite miracl --languages sw -m bge-m3-dense --device cuda --ray auto --cache-dir /shared/harness": (
        Kind.NEEDS_GPU,
        "a Ray cluster of GPUs",
    ),
    'harness run --suite miracl --languages en -m bge-m3-dense --device cuda --dtype bfloat16 --ray "$head:$port" '
    "--cache-dir /shared/$USER/harness --results-dir results": (Kind.NEEDS_GPU, "a Slurm job's Ray cluster of GPUs"),
    # docs/fusion.md
    "harness compare bm25 'rrf:bm25+all-minilm-l6-v2' --suite xquad": (Kind.RUNS, ""),
    "harness run ... --split dev": (Kind.SYNOPSIS, ""),
    # docs/late-interaction.md, docs/plaid-index.md
    "harness run --suite demo --model colbert-xm": (Kind.NEEDS_NETWORK, "ColBERT-XM's weights"),
    "harness run --suite demo --model colbert-xm --index plaid": (Kind.NEEDS_NETWORK, "ColBERT-XM's weights"),
    "harness run --suite demo --model colbert-xm --index plaid:nbits=1,probes=2,index_dir=indexes": (
        Kind.NEEDS_NETWORK,
        "ColBERT-XM's weights",
    ),
    "harness run --data my-beir-folder --language fr --model my-colbert.yaml --index plaid:nbits=1": (
        Kind.NEEDS_FILES,
        "the reader's own data and card",
    ),
    # docs/learned-sparse.md
    'harness explain -m milco --text "巴尔的摩：美国最伟大的城市"': (Kind.NEEDS_NETWORK, "MILCO's weights"),
    'harness explain -m milco --text "where is Baltimore?" --as query': (Kind.NEEDS_NETWORK, "MILCO's weights"),
    'harness explain -m milco --query "where is Baltimore?" --document "Baltimore is a city in Maryland"': (
        Kind.NEEDS_NETWORK,
        "MILCO's weights",
    ),
    "harness explain -m splade-v3 --data ../shared/data/beir-scifact --query-id 1 --doc-id 31715818": (
        Kind.NEEDS_NETWORK,
        "SPLADE-v3's weights",
    ),
    "harness explain -m milco --suite demo --languages de-en --query-id ... --doc-id ...": (Kind.SYNOPSIS, ""),
    "harness sweep -m milco --suite demo --prune topk:0,16,32,64,128 --query-prune topk:32 --index seismic": (
        Kind.NEEDS_NETWORK,
        "MILCO's weights",
    ),
    # docs/nllb-e5.md
    "harness run --suite xquad --local xquad=../shared/data/xquad -m nllb-e5": (
        Kind.NEEDS_FILES,
        "a model trained with harness distill nllb-e5 first",
    ),
    "harness run --suite xquad --local xquad=../shared/data/xquad -m my-cards/nllb-e5-1.3b.yaml": (
        Kind.NEEDS_FILES,
        "the reader's own card and trained model",
    ),
    "harness distill nllb-e5 --data pairs.jsonl": (Kind.NEEDS_NETWORK, "NLLB-200 and E5 from the hub"),
    "harness distill nllb-e5 --data pairs.jsonl --nllb facebook/nllb-200-distilled-1.3B --output "
    "~/models/nllb-e5-1.3b --epochs 2 --batch-size 64 --learning-rate 2e-4": (
        Kind.NEEDS_NETWORK,
        "NLLB-200 1.3B and E5 from the hub",
    ),
    "harness distill nllb-e5 --data pairs.jsonl --nllb ./nllb-local --e5 ./e5-local": (
        Kind.NEEDS_FILES,
        "the reader's local copies of NLLB-200 and E5",
    ),
    # docs/reporting.md
    "harness compare A B [C ...]": (Kind.SYNOPSIS, ""),
    "harness export mteb\\|trec": (Kind.SYNOPSIS, ""),
    'harness report --format md --title "MIRACL dev, 18 languages"': (Kind.RUNS, ""),
    "harness compare bm25 splade-v3 milco --suite miracl --metric ndcg@10 --metric recall@100 --alpha 0.01": (
        Kind.NEEDS_NETWORK,
        "results of MIRACL, SPLADE-v3 and MILCO",
    ),
    "harness run --suite demo -m bm25 --no-energy": (Kind.RUNS, ""),
    "harness gate --efficiency": (Kind.OTHER_MACHINE, "latencies of the machine that recorded regressions/"),
    "harness run --suite demo --no-energy --no-report": (Kind.RUNS, ""),
    'harness gate --summary "$GITHUB_STEP_SUMMARY"': (Kind.RUNS, ""),
    "harness report --out reports": (Kind.RUNS, ""),
    "harness export mteb --out mteb-results": (Kind.RUNS, ""),
    "harness export trec --out runs": (Kind.RUNS, ""),
    # docs/suites.md
    "harness list suites NAME": (Kind.SYNOPSIS, ""),
    "harness fetch --suite mmarco --languages de,ja": (Kind.NEEDS_NETWORK, "downloads mMARCO"),
    "harness fetch --suite mrtydi --languages sw,te": (Kind.NEEDS_NETWORK, "downloads Mr.TyDi"),
    "harness fetch --suite mldr --languages hi,ar": (Kind.NEEDS_NETWORK, "downloads MLDR"),
    "harness fetch --suite mkqa --languages de": (Kind.NEEDS_NETWORK, "downloads MKQA and BEIR NQ"),
    "harness fetch --suite hindi-beir --datasets scifact,fiqa": (Kind.NEEDS_NETWORK, "downloads Hindi-BEIR"),
    "harness fetch --suite beir --datasets scifact,nfcorpus": (Kind.NEEDS_NETWORK, "downloads BEIR"),
    "harness fetch --suite X [--languages ...] [--datasets ...]": (Kind.SYNOPSIS, ""),
    "harness report --suites-dir": (Kind.SYNOPSIS, ""),
}

# Where a command names the reader's files, what stands in for them when it runs (and is checked).
STAND_INS = {
    "path/to/xquad/zh": "../shared/data/xquad/zh",
    "path/to/beir-folder": str(REPO / "suites" / "demo" / "en"),
    "path/to/scifact": "../shared/data/beir-scifact",
}
CHECKPOINT = "path/to/my-checkpoint"  # the MiniLM checkpoint stands in (its folder is known at run time)

# What a document assumes the reader ran before it (commands of other documents): reporting.md reads the results
# of the README's quick start and xquad runs.
READER_RAN = {"docs/reporting.md": ("harness run", XQUAD_RUN)}

# The variables the documented commands read (a GitHub workflow's step summary).
ENVIRONMENT = {"GITHUB_STEP_SUMMARY": "step-summary.md"}


@dataclass(frozen=True)
class DocCommand:
    document: str  # relative to the repository
    line: int
    text: str  # as the reader types it: lines joined, prompt and comment dropped, spaces collapsed
    inline: bool

    @property
    def where(self) -> str:
        return f"{self.document}:{self.line}"


_FENCED = re.compile(r"^\s*(?:\$ |-? *run: )?((?:python -m )?harness(?: .*)?)$")
_INLINE = re.compile(r"`((?:python -m )?harness(?:\s[^`]*)?)`")


def _without_comment(text: str) -> str:
    """The command before its `# comment` (a `#` inside quotes is the command's)."""
    words = shlex.split(text, comments=True)
    for mark in re.finditer(r"\s#", text):
        with contextlib.suppress(ValueError):  # a `#` inside quotes: the quote is not closed before it
            if shlex.split(text[: mark.start()]) == words:
                return text[: mark.start()]
    return text


def document_commands(name: str, markdown: str) -> list[DocCommand]:
    """The `harness` commands of one Markdown document, fenced and inline, in the order a reader meets them."""
    lines = markdown.splitlines()
    found: list[tuple[int, DocCommand]] = []
    prose: list[str] = []  # the file with its fenced blocks blanked, for the inline spans
    fenced, number = False, 0
    while number < len(lines):
        line = lines[number]
        prose.append("" if fenced or line.lstrip().startswith("```") else line)
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif fenced and (match := _FENCED.match(line)):
            start, text = number, match.group(1)
            while text.endswith("\\") and number + 1 < len(lines):
                number += 1
                prose.append("")
                text = text[:-1] + " " + lines[number].strip()
            found.append((start, DocCommand(name, start + 1, " ".join(_without_comment(text).split()), False)))
        number += 1
    joined = "\n".join(prose)
    for match in _INLINE.finditer(joined):
        start = joined.count("\n", 0, match.start())
        found.append((start, DocCommand(name, start + 1, " ".join(match.group(1).split()), True)))
    return [command for _, command in sorted(found, key=lambda pair: pair[0])]


COMMANDS = [
    command
    for path in DOCUMENTS
    for command in document_commands(path.relative_to(REPO).as_posix(), path.read_text(encoding="utf-8"))
]
ROOT = typer.main.get_command(app)


def _words(text: str) -> list[str]:
    """The command's arguments after `harness`, without a shell redirection."""
    words = shlex.split(text, comments=True)
    words = words[2:] if words[:2] == ["python", "-m"] else words
    assert words[0] == "harness", text
    return list(words[1 : words.index(">") if ">" in words else None])


def _command_path(words: list[str]) -> tuple[list[tuple[str, Any]], list[str]]:
    """The (sub)commands the leading words name, and the words left for the last one."""
    path: list[tuple[str, Any]] = [("harness", ROOT)]
    while hasattr(path[-1][1], "commands") and words and not words[0].startswith("-"):
        command = path[-1][1].commands.get(words[0].split("|")[0])
        if command is None:
            break
        path.append((words[0], command))
        words = words[1:]
    return path, words


def names_a_command(command: DocCommand) -> bool:
    """An inline span that only names a command or its help (`harness gate`, `harness cache verify`,
    `harness run --help`): prose, not a command to run."""
    return command.inline and set(_command_path(_words(command.text))[1]) <= {"--help"}


def kind(command: DocCommand) -> Kind | None:
    """What the test does with the command: its row in KINDS (None: it has none); a mention is a synopsis."""
    return Kind.SYNOPSIS if names_a_command(command) else KINDS.get(command.text, (None, ""))[0]


def _parsed(text: str) -> tuple[str, dict[str, Any]]:
    """Parse the command with the real click commands (types, choices and ranges checked; nothing runs):
    its name and its parameters' values. `--help` is left out, as it would print the help and stop."""
    path, rest = _command_path(_words(text))
    assert len(path) > 1, f"no harness command in {text!r}"
    parent = None
    for name, command in path[:-1]:
        parent = typer.Context(command, info_name=name, parent=parent)
    name, command = path[-1]
    return name, command.make_context(name, [word for word in rest if word != "--help"], parent=parent).params


def _values(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(item) for item in value] if isinstance(value, (list, tuple)) else [str(value)]


def _is_path(spec: str) -> bool:
    return "/" in spec or spec.endswith((".yaml", ".yml")) or spec.startswith("hf:")


def check_catalog(name: str, params: dict[str, Any]) -> None:
    """The models are cards (or a card file, checkpoint folder or hf: spec); a suite is one that exists, and the
    datasets, languages and --local datasets a run names are ones it has."""
    cards = card_paths([Path(d) for d in _values(params.get("cards_dir"))])
    for model in _values(params.get("model")):
        assert _is_path(model) or model in cards, f"-m {model}: no card of that name; cards: {', '.join(cards)}"
    suites_dirs = [Path(d) for d in _values(params.get("suites_dir"))]
    suites = suite_paths(suites_dirs)
    for suite in _values(params.get("suite")):
        assert _is_path(suite) or suite in suites, (
            f"--suite {suite}: no suite of that name; suites: {', '.join(suites)}"
        )
    if name not in {"run", "sweep", "fuse"} or params.get("data") is not None:
        return
    # The docs' folders are relative to the repository; the reader's own (absent here) are left out.
    local: dict[str | None, Path] = {}
    for entry in _values(params.get("local")):
        dataset, separator, folder = entry.partition("=")
        local[dataset if separator else None] = Path(folder if separator else entry)
    request = RunRequest(
        suite=params.get("suite"),
        languages=params["languages"].split(",") if params.get("languages") else None,
        datasets=params["datasets"].split(",") if params.get("datasets") else None,
        local={dataset: REPO / folder for dataset, folder in local.items() if (REPO / folder).is_dir()},
        suites_dirs=suites_dirs,
    )
    try:
        select_units(request, select_suite(request))
    except HarnessError as error:
        raise AssertionError(str(error)) from None


def check_synopsis(text: str) -> None:
    """A synopsis names real commands (each of `a|b`) and real options of the last one."""
    words = _words(text)
    path, rest = _command_path(words)
    for (_, group), word in zip(path[:-1], words, strict=False):
        for alternative in word.split("|"):
            assert alternative in group.commands, f"{word}: no command {alternative!r}"
    command = path[-1][1]
    options = {option for param in command.params for option in (*param.opts, *param.secondary_opts)} | {"--help"}
    for word in rest:
        if word.startswith("-") and word != "-":
            assert word.split("=")[0] in options, f"{path[-1][0]} has no option {word}"


def _stand_ins(text: str, checkpoint: str) -> str:
    for placeholder, stand_in in {**STAND_INS, CHECKPOINT: checkpoint}.items():
        text = text.replace(placeholder, stand_in)
    return text


def test_every_documented_command_is_classified() -> None:
    documented = {command.text for command in COMMANDS if not names_a_command(command)}
    unknown = sorted(f"{c.where}: {c.text}" for c in COMMANDS if c.text in documented - KINDS.keys())
    assert not unknown, "classify these documented commands in KINDS:\n" + "\n".join(unknown)
    assert not KINDS.keys() - documented, f"KINDS lists commands no document has: {sorted(KINDS.keys() - documented)}"


def test_commands_are_read_from_fences_prompts_continuations_workflows_and_prose() -> None:
    markdown = "\n".join(
        [
            "Run `harness fetch --suite limit` first, or `harness run --suite limit",
            "--datasets limit-small` (see `harness/cli`).",
            "```bash",
            "harness run --suite demo \\",
            '    -m bm25   # a comment, and a "#" in quotes stays:',
            '$ harness report --title "A #1"   # index.html',
            "python -m harness gate",
            "pip install harness",
            "```",
            "```yaml",
            "        run: harness gate --summary out.md",
            "```",
        ]
    )
    assert [(c.line, c.text, c.inline) for c in document_commands("x.md", markdown)] == [
        (1, "harness fetch --suite limit", True),
        (1, "harness run --suite limit --datasets limit-small", True),
        (4, "harness run --suite demo -m bm25", False),
        (6, 'harness report --title "A #1"', False),
        (7, "python -m harness gate", False),
        (11, "harness gate --summary out.md", False),
    ]


def test_what_a_document_assumes_was_run_is_a_documented_command_that_runs() -> None:
    documented = {command.text for command in COMMANDS if kind(command) in {Kind.RUNS, Kind.SAMPLED}}
    assert {text for texts in READER_RAN.values() for text in texts} <= documented


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: command.where)
def test_documented_command_is_valid(command: DocCommand) -> None:
    if kind(command) is None:
        pytest.fail(f"{command.where}: {command.text!r} is not classified in KINDS")
    if kind(command) is Kind.SYNOPSIS:
        check_synopsis(command.text)
        return
    text = _stand_ins(command.text, checkpoint="path/to/checkpoint")
    if kind(command) is Kind.SAMPLED:
        text += " " + QUICK
    try:
        name, params = _parsed(text)
    except TyperException as error:  # click's usage errors: an unknown option, a bad value or choice
        pytest.fail(f"{command.where}: {command.text}\n  {error}")
    try:
        check_catalog(name, params)
    except AssertionError as error:
        pytest.fail(f"{command.where}: {command.text}\n  {error}")


@pytest.fixture(scope="session")
def documents_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedding store for every document's runs: a corpus the README encoded is read back by the others."""
    return tmp_path_factory.mktemp("doc-commands-store")


RUN_DOCUMENTS = sorted({c.document for c in COMMANDS if kind(c) in {Kind.RUNS, Kind.SAMPLED}})


@pytest.mark.slow
@pytest.mark.parametrize("document", RUN_DOCUMENTS)
def test_documented_commands_run(document: str, tmp_path: Path, documents_store: Path, minilm_path: Path) -> None:
    """A reader's session: the document's runnable commands in its order, in a fresh folder whose ../shared is
    the shared data, each exiting 0."""
    if not SHARED.is_dir():
        pytest.skip("../shared is absent (real public data lives beside the repo, not in it)")
    (tmp_path / "shared").symlink_to(SHARED)
    work = tmp_path / "work"
    shutil.copytree(REPO / "regressions", work / "regressions")  # a checkout's expectations, for harness gate
    environment = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HF_HUB_OFFLINE": "1",
        "HARNESS_CACHE_DIR": str(documents_store),
        "COLUMNS": "160",
        **{variable: str(work / value) for variable, value in ENVIRONMENT.items()},
    }
    ran = [
        next(c for c in COMMANDS if c.text == text and kind(c) is not Kind.SYNOPSIS)
        for text in READER_RAN.get(document, ())
    ]
    ran += [c for c in COMMANDS if c.document == document and kind(c) in {Kind.RUNS, Kind.SAMPLED}]
    for command in ran:
        text = _stand_ins(command.text, str(minilm_path))
        text += " " + QUICK if kind(command) is Kind.SAMPLED else ""
        outcome = subprocess.run(
            ["bash", "-c", text], cwd=work, env=environment, capture_output=True, text=True, timeout=600
        )
        assert outcome.returncode == 0, (
            f"{command.where}: `{text}` exited {outcome.returncode}\n{outcome.stdout[-3000:]}\n{outcome.stderr[-3000:]}"
        )
