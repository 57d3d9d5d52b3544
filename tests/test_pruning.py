"""Post-hoc pruning keeps exactly the right terms of each row, deterministically on ties."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from harness.encode.pruning import Pruning, parse_pruning_list, prune


def kept(matrix: sp.csr_matrix) -> list[dict[int, float]]:
    rows = []
    for row in range(matrix.shape[0]):
        begin, end = matrix.indptr[row], matrix.indptr[row + 1]
        rows.append({int(c): float(w) for c, w in zip(matrix.indices[begin:end], matrix.data[begin:end], strict=True)})
    return rows


ROWS = sp.csr_matrix(
    np.array(
        [
            [0.0, 5.0, 1.0, 3.0, 1.0, 0.0],  # total 10
            [2.0, 2.0, 2.0, 2.0, 0.0, 0.0],  # all tied, total 8
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],  # empty
            [0.0, 0.0, 0.0, 0.0, 0.0, 7.0],  # one term
        ],
        dtype=np.float32,
    )
)


def test_top_k_keeps_the_k_largest_and_breaks_ties_by_lowest_column() -> None:
    result = kept(prune(ROWS, Pruning("topk", 2)))
    assert result == [{1: 5.0, 3: 3.0}, {0: 2.0, 1: 2.0}, {}, {5: 7.0}]


def test_top_k_tie_at_the_cut_keeps_the_lower_column() -> None:
    assert kept(prune(ROWS, Pruning("topk", 3)))[0] == {1: 5.0, 3: 3.0, 2: 1.0}


def test_mass_keeps_the_smallest_heaviest_prefix_reaching_the_share() -> None:
    # Row 0 ranked: 5 (50%), 3 (80%), 1 @col2 (90%), 1 @col4 (100%).
    assert kept(prune(ROWS, Pruning("mass", 50)))[0] == {1: 5.0}
    assert kept(prune(ROWS, Pruning("mass", 51)))[0] == {1: 5.0, 3: 3.0}
    assert kept(prune(ROWS, Pruning("mass", 80)))[0] == {1: 5.0, 3: 3.0}
    assert kept(prune(ROWS, Pruning("mass", 85)))[0] == {1: 5.0, 3: 3.0, 2: 1.0}
    assert kept(prune(ROWS, Pruning("mass", 100)))[0] == {1: 5.0, 3: 3.0, 2: 1.0, 4: 1.0}


def test_mass_on_tied_weights_keeps_the_lowest_columns() -> None:
    assert kept(prune(ROWS, Pruning("mass", 60)))[1] == {0: 2.0, 1: 2.0, 2: 2.0}


def test_mass_keeps_at_least_the_heaviest_term_and_leaves_empty_rows_empty() -> None:
    result = kept(prune(ROWS, Pruning("mass", 1)))
    assert result == [{1: 5.0}, {0: 2.0}, {}, {5: 7.0}]


def test_no_pruning_only_drops_explicit_zeros_and_leaves_the_input_unchanged() -> None:
    matrix = sp.csr_matrix((np.array([1.0, 0.0, 2.0]), np.array([0, 1, 2]), np.array([0, 3])), shape=(1, 3))
    assert kept(prune(matrix, Pruning())) == [{0: 1.0, 2: 2.0}]
    assert matrix.nnz == 3


def test_result_does_not_depend_on_storage_order() -> None:
    shuffled = sp.csr_matrix((np.array([1.0, 3.0, 1.0, 5.0]), np.array([4, 3, 2, 1]), np.array([0, 4])), shape=(1, 6))
    assert kept(prune(shuffled, Pruning("topk", 3))) == [{1: 5.0, 3: 3.0, 2: 1.0}]


def test_pruning_matches_a_row_by_row_reference_on_random_rows() -> None:
    rng = np.random.default_rng(3)
    matrix = sp.random(200, 300, density=0.1, format="csr", random_state=4, dtype=np.float32)
    matrix.data = np.round(rng.exponential(size=matrix.nnz), 1).astype(np.float32) + 0.1  # many ties
    for rule in (Pruning("topk", 7), Pruning("mass", 70)):
        result = kept(prune(matrix, rule))
        for row, weights in enumerate(kept(matrix)):
            ranked = sorted(weights.items(), key=lambda item: (-item[1], item[0]))
            if rule.method == "topk":
                expected = dict(ranked[:7])
            else:
                total, mass, expected = sum(weights.values()), 0.0, {}
                for column, weight in ranked:
                    if mass >= 0.7 * total * (1 - 1e-9):
                        break
                    expected[column] = weight
                    mass += weight
            assert result[row] == expected, (rule, row)


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("mass:0,10,30,50,60,95", ["none", "mass:10", "mass:30", "mass:50", "mass:60", "mass:95"]),
        ("topk:0,32, 64,64", ["none", "topk:32", "topk:64"]),
        ("none", ["none"]),
        ("mass:12.5", ["mass:12.5"]),
    ],
)
def test_sweep_lists_parse_to_labelled_rules(text: str, labels: list[str]) -> None:
    assert [rule.label for rule in parse_pruning_list(text)] == labels


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mass:120", "between 0 and 100"),
        ("topk:2.5", "whole number"),
        ("topk:-1", "whole number"),
        ("keep:5", "expected `none`"),
        ("mass:", "expected `none`"),
        ("mass:ten", "'ten' is not a number"),
    ],
)
def test_bad_pruning_rules_are_refused_naming_the_problem(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_pruning_list(text)


def test_a_single_rule_refuses_a_list() -> None:
    assert Pruning.parse("topk:5") == Pruning("topk", 5)
    with pytest.raises(ValueError, match="one rule"):
        Pruning.parse("topk:5,6")


def test_negative_weights_are_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        prune(sp.csr_matrix(np.array([[1.0, -1.0]])), Pruning("topk", 1))


def test_chunked_ranking_gives_the_same_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.encode.pruning as pruning

    matrix = sp.random(120, 80, density=0.2, format="csr", random_state=5, dtype=np.float32)
    whole = prune(matrix, Pruning("mass", 60))
    monkeypatch.setattr(pruning, "_CHUNK_NNZ", 37)
    chunked = prune(matrix, Pruning("mass", 60))
    assert kept(chunked) == kept(whole)
