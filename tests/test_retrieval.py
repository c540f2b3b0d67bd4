"""The retrieval protocol: cosine scores, label relevance, self-exclusion, tasks and the mAP table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xmbench.errors import XmbenchError
from xmbench.eval.ap import average_precision
from xmbench.eval.retrieval import Task, cosine_similarity, evaluate_retrieval, retrieval_ap


def paired_data(seed: int, n: int = 60, d: int = 8, k: int = 3) -> tuple:
    """Noisy class prototypes in two modalities; pair i shares label i % k."""
    rng = np.random.default_rng(seed)
    prototypes = rng.standard_normal((k, d))
    y = np.arange(n) % k
    emb_a = prototypes[y] + rng.standard_normal((n, d))
    emb_b = prototypes[y] + rng.standard_normal((n, d))
    return emb_a, y, emb_b, y.copy()


def reference_ap(queries, query_labels, gallery, gallery_labels, exclude=None) -> np.ndarray:
    """AP computed the long way: full score matrix, columns deleted for excluded items."""
    scores = cosine_similarity(queries, gallery)
    relevant = query_labels[:, None] == gallery_labels[None, :]
    out = []
    for i in range(len(queries)):
        keep = np.ones(len(gallery), bool)
        if exclude is not None:
            keep[exclude[i]] = False
        out.append(average_precision(scores[i, keep][None], relevant[i, keep][None])[0])
    return np.array(out)


def test_cosine_similarity_values_and_zero_rows() -> None:
    rng = np.random.default_rng(0)
    q, g = rng.standard_normal((5, 7)), rng.standard_normal((9, 7)) - 3
    expected = (q / np.linalg.norm(q, axis=1, keepdims=True)) @ (g / np.linalg.norm(g, axis=1, keepdims=True)).T
    scores = cosine_similarity(q, g)
    assert scores.dtype == np.float32 and scores.shape == (5, 9)
    assert not (scores.view(np.uint32) & 1).any()  # last mantissa bit free for the AP kernel's relevance bit
    np.testing.assert_allclose(scores, expected, atol=1e-6)
    with pytest.raises(XmbenchError, match="dimension"):
        cosine_similarity(q, g[:, :3])
    g[4] = 0.0
    with pytest.raises(XmbenchError, match="all-zero rows"):
        cosine_similarity(q, g)


@pytest.mark.parametrize("d", [3, 17, 64, 129])
def test_identical_embeddings_give_identical_scores(d: int) -> None:
    # A plain float32 BLAS matmul fails this (edge tiles round differently); the exact
    # quantised product must not.
    rng = np.random.default_rng(d)
    prototypes = rng.standard_normal((3, d))
    which = rng.integers(0, 3, 301)
    scores = cosine_similarity(rng.standard_normal((13, d)), prototypes[which] * 2.5)
    for k in range(3):
        block = scores[:, which == k]
        np.testing.assert_array_equal(block, np.repeat(block[:, :1], block.shape[1], axis=1))


def test_retrieval_ap_matches_reference_and_uses_gallery_labels() -> None:
    emb_a, y_a, emb_b, _ = paired_data(1)
    y_gallery = (np.arange(len(emb_b)) + 1) % 3  # deliberately not the query labels
    ours = retrieval_ap(emb_a, y_a, emb_b, y_gallery, chunk_size=16)
    np.testing.assert_allclose(ours, reference_ap(emb_a, y_a, emb_b, y_gallery), atol=1e-14)
    assert not np.allclose(ours, retrieval_ap(emb_a, y_a, emb_b, y_a))
    with pytest.raises(XmbenchError, match="have no relevant item"):
        retrieval_ap(emb_a, y_a, emb_b, np.full(len(emb_b), 9))


def test_self_exclusion_matches_deleting_the_query_from_the_gallery() -> None:
    emb_a, y_a, emb_b, y_b = paired_data(2)
    gallery, labels = np.concatenate([emb_a, emb_b]), np.concatenate([y_a, y_b])
    for offset, query, query_labels in [(0, emb_a, y_a), (len(emb_a), emb_b, y_b)]:
        self_index = offset + np.arange(len(query))
        ours = retrieval_ap(query, query_labels, gallery, labels, self_index=self_index, chunk_size=7)
        expected = reference_ap(query, query_labels, gallery, labels, exclude=self_index)
        np.testing.assert_allclose(ours, expected, atol=1e-14)
        task = "A->A+B" if offset == 0 else "B->A+B"  # evaluate_retrieval must pick the same self_index
        table = evaluate_retrieval(emb_a, y_a, emb_b, y_b, ["x", "y", "z"], tasks=[task])
        assert table["value"].iloc[0] == pytest.approx(expected.mean(), abs=1e-14)


def test_keep_self_raises_ap_when_the_query_is_its_own_best_match() -> None:
    emb_a, y_a, emb_b, y_b = paired_data(3)
    table = evaluate_retrieval(emb_a, y_a, emb_b, y_b, ["x", "y", "z"], tasks=["A->A+B", "B->A+B"])
    legacy = evaluate_retrieval(emb_a, y_a, emb_b, y_b, ["x", "y", "z"], tasks=["A->A+B", "B->A+B"], keep_self=True)
    excluded, kept = (t.set_index(["task", "class"])["value"] for t in (table, legacy))
    assert (kept > excluded).all()
    assert (legacy["n_queries"] == table["n_queries"]).all()


def test_per_class_map_is_the_mean_of_that_class_queries() -> None:
    emb_a, y_a, emb_b, y_b = paired_data(4, n=61, k=4)
    y_a[y_a == 3] = 0  # class 3 has no query in modality A but is still a gallery class for B
    names = ["cat", "dog", "owl", "elk"]
    tasks = ["A->B", "A->A+B", "B->A+B"]  # B->A would leave class-3 queries without a target
    table = evaluate_retrieval(emb_a, y_a, emb_b, y_b, names, tasks=tasks, chunk_size=10)
    assert list(table.columns) == ["task", "class", "metric", "value", "n_queries"]
    assert set(table["metric"]) == {"mAP"} and list(dict.fromkeys(table["task"])) == tasks
    ap = retrieval_ap(emb_a, y_a, np.concatenate([emb_a, emb_b]), np.concatenate([y_a, y_b]),
                      self_index=np.arange(len(emb_a)))
    rows = table[table["task"] == "A->A+B"].set_index("class")
    assert list(rows.index) == ["all", "cat", "dog", "owl"]  # only classes present among queries
    assert rows.loc["all", "value"] == pytest.approx(ap.mean(), abs=1e-15)
    assert rows.loc["all", "n_queries"] == len(emb_a)
    for c, name in enumerate(names[:3]):
        assert rows.loc[name, "value"] == pytest.approx(ap[y_a == c].mean(), abs=1e-15)
        assert rows.loc[name, "n_queries"] == (y_a == c).sum()
    b_rows = table[table["task"] == "B->A+B"].set_index("class")
    assert b_rows.loc["elk", "n_queries"] == (y_b == 3).sum()


def test_identical_gallery_embeddings_score_the_expected_tie_value() -> None:
    # Two classes, every B item has the same embedding: each query sees its 4 gallery items tied,
    # 2 of them relevant. Expected AP (see tests/test_ap.py::test_hand_computed): the relevant
    # pair takes rank pairs (1,2) (1,3) (1,4) (2,3) (2,4) (3,4) with APs 1, 5/6, 3/4, 7/12,
    # 1/2, 5/12; mean 49/72.
    emb_a = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    y_a = np.array([0, 1, 1])
    emb_b = np.tile([[0.3, -0.7]], (4, 1))
    y_b = np.array([0, 1, 1, 0])
    table = evaluate_retrieval(emb_a, y_a, emb_b, y_b, ["left", "right"], tasks=[Task.A_TO_B])
    np.testing.assert_allclose(table["value"], 49 / 72, rtol=1e-14)
    assert list(table["class"]) == ["all", "left", "right"] and list(table["n_queries"]) == [3, 1, 2]


def test_empty_targets_and_bad_options() -> None:
    emb_a, y_a, emb_b, y_b = paired_data(5, n=12)
    y_b[y_b == 2] = 1  # class 2 has no B item: A->B queries of class 2 are empty
    with pytest.raises(XmbenchError, match="4 of 12 queries"):
        evaluate_retrieval(emb_a, y_a, emb_b, y_b, ["a", "b", "c"], tasks=["A->B"])
    table = evaluate_retrieval(emb_a, y_a, emb_b, y_b, ["a", "b", "c"], tasks=["A->B"], empty_target_action="skip")
    rows = table.set_index("class")
    assert rows.loc["all", "n_queries"] == 8 and np.isnan(rows.loc["c", "value"]) and rows.loc["c", "n_queries"] == 0
    with pytest.raises(XmbenchError, match="valid: A->B, B->A, A->A\\+B, B->A\\+B"):
        evaluate_retrieval(emb_a, y_a, emb_b, y_b, ["a", "b", "c"], tasks=["A->C"])
    with pytest.raises(XmbenchError, match="class_names"):
        evaluate_retrieval(emb_a, y_a, emb_b, y_b, ["a", "b"])
    with pytest.raises(XmbenchError, match="self_index"):
        retrieval_ap(emb_a, y_a, emb_b, y_b, self_index=np.full(12, 12))


def test_deterministic_across_chunks_and_threads() -> None:
    emb_a, y_a, emb_b, y_b = paired_data(6, n=90)
    emb_b[::3] = emb_b[0]  # plenty of ties
    runs = [
        evaluate_retrieval(emb_a, y_a, emb_b, y_b, ["p", "q", "r"], chunk_size=c, n_threads=t)
        for c, t in [(256, 2), (256, 2), (1, 1), (7, 2), (32, 3)]
    ]
    assert list(dict.fromkeys(runs[0]["task"])) == ["A->B", "B->A", "A->A+B", "B->A+B"]
    for run in runs[1:]:
        pd.testing.assert_frame_equal(run, runs[0], check_exact=True)
