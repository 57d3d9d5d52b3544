"""Encoding on a local Ray instance (2 CPU workers) gives the results of a one-process run, byte for byte."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from harness.catalog.cards import load_card
from harness.catalog.suites import local_suite
from harness.cli import app
from harness.core.errors import InputError
from harness.encode import DenseRepresentation, EncodeSettings
from harness.index import make_index
from harness.record import EnergySettings
from harness.run.distributed import ClusterSettings, RayEncodingPool, ray_pool
from harness.run.runner import RunSettings, StoreSettings, run_units
from tests.conftest import scifact_cut, write_beir
from tests.tiny_colbert import write_tiny_colbert
from tests.tiny_models import WORDS, write_tiny_bert
from tests.tiny_sparse_models import write_tiny_bert_mlm

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    """One local Ray instance for the module (its start-up takes seconds); every pool reuses it."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def write_card(folder: Path, adapter: str, model: Path, **parameters: object) -> Path:
    path = folder / f"tiny-{adapter}.yaml"
    card = {"name": f"tiny-{adapter}", "adapter": adapter, "parameters": {"path": str(model), **parameters}}
    path.write_text(yaml.safe_dump(card), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cards")
    return {
        "dense": write_card(root, "dense", write_tiny_bert(root / "bert")),
        "splade": write_card(root, "splade", write_tiny_bert_mlm(root / "mlm")),
        "colbert": write_card(root, "colbert", write_tiny_colbert(root / "colbert"), fallback_language="en"),
    }


def corpus_folder(root: Path, documents: int, words: int = 12, queries: int = 8) -> Path:
    """A seeded corpus of the tiny models' words, with a judged document per query."""
    rng = random.Random(0)
    corpus = [
        {"_id": f"d{n}", "title": "", "text": " ".join(rng.choice(WORDS) for _ in range(words))}
        for n in range(documents)
    ]
    asked = [{"_id": f"q{n}", "text": " ".join(rng.choice(WORDS) for _ in range(4))} for n in range(queries)]
    qrels = [(query["_id"], f"d{rng.randrange(documents)}", 1) for query in asked]
    return write_beir(root, corpus, asked, qrels)


def settings(tmp: Path, name: str, shard_size: int) -> RunSettings:
    return RunSettings(
        results_dir=tmp / name / "results",
        energy=EnergySettings(enabled=False),
        latency_sample=2,
        encode=EncodeSettings(batch_size=4),
        store=StoreSettings(root=tmp / name / "store", shard_size=shard_size),
    )


def run(data: Path, card: Path, run_settings: RunSettings, pool: RayEncodingPool | None = None) -> Path:
    [path] = run_units(local_suite(data, "en").units(), [load_card(str(card))], run_settings, pool=pool)
    return path


def without_measured(path: Path) -> dict:
    record = json.loads(path.read_text(encoding="utf-8"))
    del record["measured"]
    return record


def assert_same_result(one_process: Path, on_ray: Path) -> None:
    assert without_measured(on_ray) == without_measured(one_process)
    assert on_ray.read_bytes().split(b'"measured"')[0] == one_process.read_bytes().split(b'"measured"')[0]
    trec = one_process.name.removesuffix(".json") + ".trec.gz"
    assert one_process.with_name(trec).read_bytes() == on_ray.with_name(trec).read_bytes()


# Dense runs in the fast suite; the sparse and multi-vector runs take about a minute each on a loaded 2-core box.
@pytest.mark.parametrize(
    "model", ["dense", pytest.param("splade", marks=pytest.mark.slow), pytest.param("colbert", marks=pytest.mark.slow)]
)
def test_a_ray_run_gives_the_one_process_result_byte_for_byte(model: str, cards, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = corpus_folder(tmp_path / "data", documents=30)
    one_process = run(data, cards[model], settings(tmp_path, "one", shard_size=7))
    with ray_pool(ClusterSettings(workers=2)) as pool:
        on_ray = run(data, cards[model], settings(tmp_path, "ray", shard_size=7), pool)
    assert_same_result(one_process, on_ray)
    encodings = json.loads(on_ray.read_text())["measured"]["encodings"]
    workers = encodings["documents"]["workers"]
    assert set(workers) == {"worker-0", "worker-1"}  # 5 shards: both workers encoded some
    assert sum(share["shards"] for share in workers.values()) == 5
    assert sum(share["texts"] for share in workers.values()) == 30
    cluster = encodings["cluster"]
    assert (cluster["nodes"], len(cluster["workers"]), cluster["redone_shards"]) == (1, 2, [])
    threads = {worker["hardware"]["torch_threads"] for worker in cluster["workers"]}
    assert threads == {cluster["threads_per_cpu_worker"]}
    if model == "dense":  # exact dense search ran on the searchers too: one block of 5 shards
        assert [searcher["blocks"] for searcher in cluster["search"]["searchers"]] == [1, 0]


def test_each_node_measures_the_energy_of_the_shards_it_encoded(cards, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = corpus_folder(tmp_path / "data", documents=30)
    measured = dataclasses.replace(settings(tmp_path, "energy", shard_size=7), energy=EnergySettings(enabled=True))
    with ray_pool(ClusterSettings(workers=2, energy=measured.energy)) as pool:
        path = run(data, cards["dense"], measured, pool)
    energy = json.loads(path.read_text())["measured"]["encodings"]["cluster"]["energy"]
    assert energy["measured"] is True
    assert energy["country_iso_code"] == measured.energy.country_iso_code
    [node] = energy["nodes"]
    assert node["shards"] == 5 + 2  # 30 documents and 8 queries, in shards of 7
    assert "errors" not in node, node
    assert node["energy_kwh"] > 0
    assert node["emissions_kg"] > 0
    assert node["methods"], node


def test_a_cluster_without_energy_measurement_says_so(cards, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = corpus_folder(tmp_path / "data", documents=10)
    with ray_pool(ClusterSettings(workers=1)) as pool:
        path = run(data, cards["dense"], settings(tmp_path, "off", shard_size=7), pool)
    energy = json.loads(path.read_text())["measured"]["encodings"]["cluster"]["energy"]
    assert energy == {"measured": False, "reason": "energy measurement is off (--no-energy)"}


def stored_shards(folder: Path, vectors: np.ndarray, rows: int) -> list[DenseRepresentation]:
    """Vectors saved in shards of `rows` and memory-mapped back, as the embedding store gives them."""
    folder.mkdir()
    shards = []
    for number, first in enumerate(range(0, len(vectors), rows)):
        np.save(folder / f"{number}.npy", vectors[first : first + rows])
        shards.append(DenseRepresentation(np.load(folder / f"{number}.npy", mmap_mode="r")))
    return shards


def test_exact_dense_search_on_ray_searchers_equals_the_one_process_search(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((70, 16)).astype(np.float16)
    vectors[40:50] = vectors[5:15]  # equal scores across blocks: the merge must break ties by row alike
    queries = DenseRepresentation(rng.standard_normal((12, 16)).astype(np.float32))
    shards = stored_shards(tmp_path / "shards", vectors, rows=5)
    params = {"block_rows": 10, "query_batch_size": 5}
    here = make_index("dense", {"kind": "faiss-flat", **params, "resident_bytes": 2_000})  # some blocks from disk
    here.build_from_shards(shards)
    expected = here.search(queries, k=25)
    with ray_pool(ClusterSettings(workers=2)) as pool:
        on_ray = make_index("dense", {"kind": "faiss-flat", **params, "resident_bytes": 2_000})
        assert on_ray.use_searcher(pool)
        on_ray.build_from_shards(shards)
        found = on_ray.search(queries, k=25)
        again = on_ray.search(queries.select(np.asarray([3])), k=25)  # the searchers' kept blocks, reused
        search = pool.describe()["search"]
    assert np.array_equal(found.indices, expected.indices)
    assert np.array_equal(found.scores, expected.scores)
    assert np.array_equal(again.indices, expected.indices[3:4])
    assert on_ray.describe() == here.describe()
    assert [(searcher["name"], searcher["blocks"]) for searcher in search["searchers"]] == [
        ("searcher-0", 4),
        ("searcher-1", 3),
    ]
    assert search["nodes"] == 1


def test_a_searcher_that_cannot_read_the_store_names_it(tmp_path: Path) -> None:
    shards = stored_shards(tmp_path / "shards", np.ones((6, 4), dtype=np.float32), rows=3)
    index = make_index("dense", {"kind": "faiss-flat"})
    with ray_pool(ClusterSettings(workers=1)) as pool:
        index.use_searcher(pool)
        index.build_from_shards(shards)
        (tmp_path / "shards" / "1.npy").unlink()  # what a node without the shared store sees
        with pytest.raises(InputError) as raised:
            index.search(DenseRepresentation(np.ones((1, 4), dtype=np.float32)), k=3)
    assert raised.value.key == "--cache-dir"
    assert "cannot read a shard of the embedding store on host" in str(raised.value)
    assert str(tmp_path / "shards" / "1.npy") in str(raised.value)


@pytest.mark.slow  # all-MiniLM-L6-v2 on 600 real passages, twice
def test_minilm_on_a_cut_of_scifact_on_ray_gives_the_one_process_result(  # type: ignore[no-untyped-def]
    shared_data: Path, minilm_path: Path, tmp_path: Path
) -> None:
    data = scifact_cut(shared_data / "beir-scifact", tmp_path / "scifact", documents=600)
    card = load_card("all-minilm-l6-v2")
    one_process_settings = settings(tmp_path, "one", shard_size=100)
    [one_process] = run_units(local_suite(data, "en").units(), [card], one_process_settings)
    with ray_pool(ClusterSettings(workers=2)) as pool:
        [on_ray] = run_units(
            local_suite(data, "en").units(), [card], settings(tmp_path, "ray", shard_size=100), pool=pool
        )
    assert_same_result(one_process, on_ray)
    record = json.loads(on_ray.read_text())
    assert record["metrics"]["ndcg@10"] > 0.5  # the real model on real text, not noise
    assert set(record["measured"]["encodings"]["documents"]["workers"]) == {"worker-0", "worker-1"}


def test_shards_already_stored_are_not_encoded_again(cards, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = corpus_folder(tmp_path / "data", documents=30)
    first = settings(tmp_path, "first", shard_size=7)
    run(data, cards["dense"], first)  # one process stores every shard
    [entry] = (first.store.root).glob("*/document.*")  # type: ignore[union-attr]
    shutil.rmtree(entry / "shard-000003")
    stored = {folder.name: (folder / "meta.json").read_bytes() for folder in entry.glob("shard-*")}
    again = dataclasses.replace(first, results_dir=tmp_path / "again")
    with ray_pool(ClusterSettings(workers=2)) as pool:
        path = run(data, cards["dense"], again, pool)
    documents = json.loads(path.read_text())["measured"]["encodings"]["documents"]
    assert (documents["status"], documents["computed_shards"], documents["texts_encoded"]) == ("partly reused", 1, 7)
    assert {name: (entry / name / "meta.json").read_bytes() for name in stored} == stored
    assert (entry / "shard-000003").is_dir()


@pytest.mark.slow  # about 90 s here: 12 shards large enough to be killed mid-shard
def test_a_worker_killed_mid_shard_is_replaced_and_the_run_completes_alike(cards, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = corpus_folder(tmp_path / "data", documents=1200, words=40)
    one_process = run(data, cards["dense"], settings(tmp_path, "one", shard_size=100))
    ray_settings = settings(tmp_path, "ray", shard_size=100)
    killed: list[int] = []

    def kill_worker_0_mid_shard(pool: RayEncodingPool) -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not killed:
            stored = list(ray_settings.store.root.glob("*/document.*/shard-*"))  # type: ignore[union-attr]
            if stored and "worker-0" in pool.in_flight():
                pid = pool.worker_pids()["worker-0"]
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            time.sleep(0.005)

    with ray_pool(ClusterSettings(workers=2)) as pool:
        killer = threading.Thread(target=kill_worker_0_mid_shard, args=(pool,), daemon=True)
        killer.start()
        on_ray = run(data, cards["dense"], ray_settings, pool)
        killer.join()
        pids = pool.worker_pids()
        cluster = pool.describe()
    assert killed, "the run ended before a worker could be killed"
    assert_same_result(one_process, on_ray)
    worker_0 = cluster["workers"][0]
    assert worker_0["restarts"] == 1
    assert pids["worker-0"] != killed[0]
    assert worker_0["pid"] == pids["worker-0"]
    [redone] = cluster["redone_shards"]
    assert redone["worker"] == "worker-0"
    documents = json.loads(on_ray.read_text())["measured"]["encodings"]["documents"]
    assert (documents["computed_shards"], documents["texts_encoded"]) == (12, 1200)  # the redone shard counted once


def test_ray_not_installed_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    data = corpus_folder(tmp_path / "data", documents=5)
    arguments = ["run", "--data", str(data), "--language", "en", "-m", "bm25", "--no-report", "--ray", "local"]
    outcome = CliRunner().invoke(app, [*arguments, "--results-dir", str(tmp_path / "results")])
    assert outcome.exit_code == 2
    assert "[--ray]: Ray is not installed: pip install harness[ray]" in " ".join(outcome.output.split())
    assert not (tmp_path / "results").exists()


def test_an_unreachable_cluster_fails_within_seconds_naming_its_address(tmp_path: Path) -> None:
    data = corpus_folder(tmp_path / "data", documents=5)
    start = time.monotonic()
    outcome = CliRunner().invoke(
        app,
        ["run", "--data", str(data), "--language", "en", "-m", "bm25", "--no-report", "--ray", "127.0.0.1:9"],
    )
    assert outcome.exit_code == 3
    assert "cannot reach the Ray cluster at 127.0.0.1:9" in " ".join(outcome.output.split())
    assert time.monotonic() - start < 10


def test_workers_without_ray_is_a_bad_option(tmp_path: Path) -> None:
    data = corpus_folder(tmp_path / "data", documents=5)
    outcome = CliRunner().invoke(
        app, ["run", "--data", str(data), "--language", "en", "-m", "bm25", "--no-report", "--workers", "2"]
    )
    assert outcome.exit_code == 2
    assert "[--workers]: --workers needs --ray" in " ".join(outcome.output.split())


def test_harness_run_on_ray_from_the_command_line(cards, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = corpus_folder(tmp_path / "data", documents=20)
    common = ["run", "--data", str(data), "--language", "en", "-m", str(cards["dense"]), "--no-report"]
    common += ["--no-energy", "--latency-sample", "2", "--shard-size", "6"]
    one = CliRunner().invoke(
        app, [*common, "--results-dir", str(tmp_path / "one"), "--cache-dir", str(tmp_path / "c1")]
    )
    assert one.exit_code == 0, one.output
    on_ray = CliRunner().invoke(
        app,
        [*common, "--results-dir", str(tmp_path / "ray"), "--cache-dir", str(tmp_path / "c2"), "--ray", "local"],
    )
    assert on_ray.exit_code == 0, on_ray.output
    [one_path] = (tmp_path / "one").rglob("*.json")
    [ray_path] = (tmp_path / "ray").rglob("*.json")
    assert_same_result(one_path, ray_path)
    assert json.loads(ray_path.read_text())["measured"]["encodings"]["cluster"]["address"] == "local"


def test_a_worker_that_cannot_load_the_model_says_so(tmp_path: Path) -> None:
    from harness.catalog.cards import load_card_file
    from harness.core.errors import HarnessError
    from harness.models.adapters import load_encoder
    from harness.store import EmbeddingStore

    model = write_tiny_bert(tmp_path / "bert")
    encoder = load_encoder(load_card_file(write_card(tmp_path, "dense", model)), EncodeSettings(batch_size=4))
    encoder.encode_documents(["the driver has read its weights"], "en")
    model.rename(tmp_path / "moved")  # what a node without the model's files sees
    with ray_pool(ClusterSettings(workers=1)) as pool, pytest.raises(HarnessError) as raised:
        EmbeddingStore(tmp_path / "store", shard_size=2).encode(
            encoder, ["cats purr", "dogs bark"], "en", "document", executor=pool
        )
    assert str(raised.value).startswith("worker-0 could not load tiny-dense")


@pytest.mark.slow  # two sweeps, one of them starting its own Ray workers
def test_a_sweep_on_ray_gives_the_one_process_points(cards, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = corpus_folder(tmp_path / "data", documents=20)
    common = ["sweep", "--data", str(data), "--language", "en", "-m", str(cards["splade"]), "--prune", "topk:0,4"]
    common += ["--no-energy", "--latency-sample", "2", "--shard-size", "6"]
    for name, extra in (("one", []), ("ray", ["--ray", "local", "--workers", "2"])):
        outcome = CliRunner().invoke(
            app, [*common, "--results-dir", str(tmp_path / name), "--cache-dir", str(tmp_path / f"c-{name}"), *extra]
        )
        assert outcome.exit_code == 0, outcome.output
    for one_path in sorted((tmp_path / "one").rglob("*.json")):
        [ray_path] = (tmp_path / "ray").rglob(one_path.name)
        one, on_ray = without_measured(one_path), without_measured(ray_path)
        for record in (one, on_ray):  # the group is new per sweep; pruning_s is a timing the sweep block keeps
            del record["sweep"]["group"], record["sweep"]["pruning_s"], record["run_file"]
        assert (on_ray["metrics"], on_ray["per_query"]) == (one["metrics"], one["per_query"])
        assert on_ray == one
    [record] = [json.loads(path.read_text()) for path in (tmp_path / "ray").rglob("*.none.*json")]
    assert set(record["measured"]["encodings"]["documents"]["workers"]) == {"worker-0", "worker-1"}
