"""Recognition accuracy and the scoring protocol, checked against hand-computed cases."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from tests.conftest import planted_pairs
from xmbench.api import _warn_zero_rows
from xmbench.data.base import ModalitySpec, PairedSplit
from xmbench.errors import XmbenchError
from xmbench.eval.protocol import retrieval_scores, score_method, embed_split
from xmbench.eval.recognition import CEILING, RECOGNITION, accuracy_rows, fit_recognizers, recognition_accuracy
from xmbench.methods.base import CrossModalMethod
from xmbench.options import Modality

CLASSES = ["zero", "one", "two"]


def test_accuracy_rows_by_hand():
    predicted = np.array([0, 0, 1, 2, 2, 1])
    expected = np.array([0, 1, 1, 2, 2, 2])
    table = accuracy_rows("A->B", predicted, expected, CLASSES).set_index("class")
    # overall 4/6; class zero 1/1, one 1/2, two 2/3
    assert table.loc["all", "value"] == pytest.approx(4 / 6)
    assert table.loc["zero", "value"] == 1.0
    assert table.loc["one", "value"] == 0.5
    assert table.loc["two", "value"] == pytest.approx(2 / 3)
    assert table["n_queries"].tolist() == [6, 1, 2, 3]
    assert set(table["metric"]) == {RECOGNITION}


def test_accuracy_rows_rejects_mismatched_lengths():
    with pytest.raises(XmbenchError, match="3 predictions for 2 expected labels"):
        accuracy_rows("A->B", np.zeros(3, int), np.zeros(2, int), CLASSES)


class Oracle(CrossModalMethod):
    """Translates a sample of class c into the mean real target feature of class c (or of class c+1
    when ``shift``), so a good classifier's accuracy is known by construction."""

    name = "oracle"
    can_translate = True
    can_reconstruct = True

    def __init__(self, shift: int = 0, seed: int = 0, device: str = "cpu") -> None:
        self.shift, self.seed, self.device = shift, seed, device

    def _fit(self, train: PairedSplit) -> None:
        self.means_ = {m: np.stack([train.x(m)[train.y(m) == c].mean(0) for c in range(3)]) for m in Modality}
        self.train_ = train

    def _classify(self, modality: Modality, X: np.ndarray) -> np.ndarray:
        distances = ((X[:, None, :] - self.means_[modality][None]) ** 2).sum(-1)
        return distances.argmin(1)

    def _embed(self, modality: Modality, X: np.ndarray) -> np.ndarray:
        return np.eye(3)[self._classify(modality, X)] + 0.01

    def _translate(self, source: Modality, X: np.ndarray) -> np.ndarray:
        return self.means_[source.other][(self._classify(source, X) + self.shift) % 3]

    def _reconstruct(self, modality: Modality, X: np.ndarray) -> np.ndarray:
        return self.means_[modality][self._classify(modality, X)]


@pytest.fixture(scope="module")
def clusters():
    return planted_pairs(600, 150, 10, 6, 3, 0.3, seed=3)


def test_recognizers_have_a_ceiling_and_judge_generated_samples(clusters):
    train, test = clusters
    recognizers = fit_recognizers(train, test, CLASSES, seed=0)
    for modality in Modality:
        ceiling = recognizers[modality].ceiling.set_index("class")
        assert set(ceiling["metric"]) == {CEILING}
        assert ceiling.loc["all", "value"] > 0.95  # well-separated planted clusters
    exact = recognition_accuracy(Oracle().fit(train), test, recognizers, CLASSES)
    shifted = recognition_accuracy(Oracle(shift=1).fit(train), test, recognizers, CLASSES)
    overall = lambda t, task: t[(t["task"] == task) & (t["class"] == "all") & (t["metric"] == RECOGNITION)]["value"].item()  # noqa: E731
    for task in ("A->B", "B->A", "A->A", "B->B"):
        assert overall(exact, task) > 0.95
    # every translation lands in the next class: cross-modal accuracy collapses, reconstruction does not
    assert overall(shifted, "A->B") < 0.05 and overall(shifted, "B->A") < 0.05
    assert overall(shifted, "A->A") > 0.95


def test_methods_that_cannot_generate_get_no_recognition_rows(clusters):
    train, test = clusters
    recognizers = fit_recognizers(train, test, CLASSES, seed=0)

    class EmbedOnly(Oracle):
        can_translate = False
        can_reconstruct = False

    table, embeddings, spaces = score_method(EmbedOnly().fit(train), test, CLASSES, recognizers)
    assert set(embeddings) == {"a", "b"} and spaces == {} and set(table["space"]) == {""}
    assert set(table["metric"]) == {"mAP", "total_canonical_correlation"}  # no recognition rows


class TwoSpaces(Oracle):
    """Perfect class codes in modality A's space, noise in B's: which space each task uses shows."""

    shared_space = False

    def _embed_in(self, space: Modality, modality: Modality, X: np.ndarray) -> np.ndarray:
        if space is Modality.A:
            return self._embed(modality, X)
        return np.random.default_rng(len(X) + modality.value.encode()[0]).standard_normal((len(X), 3))


def test_per_modality_spaces_score_each_task_in_its_space(clusters):
    train, test = clusters
    embeddings = embed_split(TwoSpaces().fit(train), test)
    assert set(embeddings) == {"a@a", "b@a", "a@b", "b@b"}
    table = retrieval_scores(embeddings, test, CLASSES)
    overall = table[table["class"] == "all"]
    by_space = {space: rows.set_index("task")["value"] for space, rows in overall.groupby("space")}
    assert set(by_space) == {"", "A", "B"}  # every task in both spaces, and the headline
    assert list(by_space[""].index) == ["A->B", "B->A", "A->A+B", "B->A+B"]
    assert (by_space["A"] > 0.99).all() and (by_space["B"] < 0.5).all()  # perfect codes vs noise (chance 1/3)
    # without a validation split the headline falls back to Task.space: B->A in A's space (the
    # gallery's), A->A+B in A's (the query's): perfect; A->B and B->A+B in B's noisy space
    headline = by_space[""]
    assert headline["B->A"] > 0.99 and headline["A->A+B"] > 0.99
    assert headline["A->B"] < 0.5 and headline["B->A+B"] < 0.5


def test_headline_space_is_chosen_on_the_validation_split_not_the_test_split(clusters):
    train, test = clusters
    method = TwoSpaces().fit(train)
    table, _, spaces = score_method(method, test, CLASSES, None, validation=train)
    assert spaces == {task: "A" for task in ("A->B", "B->A", "A->A+B", "B->A+B")}  # A's space wins on validation
    overall = table[(table["class"] == "all")]
    headline = overall[(overall["space"] == "") & overall["task"].str.contains("->")].set_index("task")["value"]
    in_a = overall[overall["space"] == "A"].set_index("task")["value"]
    pd.testing.assert_series_equal(headline, in_a)
    # a method whose good space is B's gets B: the rule, not a fixed space

    class Swapped(TwoSpaces):
        def _embed_in(self, space, modality, X):
            return super()._embed_in(space.other, modality, X)

    _, _, spaces = score_method(Swapped().fit(train), test, CLASSES, None, validation=train)
    assert set(spaces.values()) == {"B"}


class NoisyOracle(Oracle):
    """Translations = the class mean of the target plus noise (no ties, so AP has one definition)."""

    def _translate(self, source: Modality, X: np.ndarray) -> np.ndarray:
        means = super()._translate(source, X)
        noise = np.random.default_rng(len(X) + 7 * (source is Modality.A)).standard_normal(means.shape)
        return means + 12.0 * noise


def _ap_by_hand(queries, y_query, gallery, y_gallery) -> np.ndarray:
    """Mean precision at each relevant item of the cosine ranking, one query at a time."""
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    g = gallery / np.linalg.norm(gallery, axis=1, keepdims=True)
    out = []
    for row, label in zip(q @ g.T, y_query, strict=True):
        relevant = (y_gallery == label)[np.argsort(-row, kind="stable")]
        hits = np.cumsum(relevant)
        out.append((hits[relevant] / (np.flatnonzero(relevant) + 1)).mean())
    return np.array(out)


def test_translation_retrieval_ranks_translated_queries_among_real_target_features(clusters):
    train, test = clusters
    method = NoisyOracle().fit(train)
    table, _, _ = score_method(method, test, CLASSES, None)
    translated = table[table["task"].isin(["A=>B", "B=>A"])]
    assert set(translated["space"]) == {""} and set(translated["metric"]) == {"mAP"}
    for task, source, target in (("A=>B", "a", "b"), ("B=>A", "b", "a")):
        ap = _ap_by_hand(method.translate(source, test.x(source)), test.y(source), test.x(target), test.y(target))
        rows = translated[translated["task"] == task].set_index("class")["value"]
        assert rows["all"] == pytest.approx(ap.mean(), abs=1e-6)
        for c, name in enumerate(CLASSES):
            assert rows[name] == pytest.approx(ap[test.y(source) == c].mean(), abs=1e-6)
        assert 0.4 < rows["all"] < 0.99  # the noise makes it neither chance (1/3) nor perfect
    # methods that cannot translate have no translation rows
    class EmbedOnly(Oracle):
        can_translate = False

    table, _, _ = score_method(EmbedOnly().fit(train), test, CLASSES, None)
    assert not table["task"].isin(["A=>B", "B=>A"]).any()


class ImageOracle(NoisyOracle):
    """NoisyOracle on "images": (n, 1, d, 1) arrays that a featurizer maps to features."""

    input_kind = "images"

    def _fit(self, train: PairedSplit) -> None:
        super()._fit(PairedSplit(train.a[:, 0, :, 0], train.b[:, 0, :, 0], train.y_a, train.y_b))

    def _translate(self, source: Modality, X: np.ndarray) -> np.ndarray:
        return super()._translate(source, X[:, 0, :, 0])[:, None, :, None]

    def _embed(self, modality: Modality, X: np.ndarray) -> np.ndarray:
        return super()._embed(modality, X[:, 0, :, 0])


def test_image_translations_are_scored_through_the_featurizer_in_feature_space(clusters):
    train, test = clusters
    as_images = lambda split: PairedSplit(split.a[:, None, :, None], split.b[:, None, :, None], split.y_a, split.y_b)  # noqa: E731
    projection = {m: np.random.default_rng(i).standard_normal((train.x(m).shape[1], 8)) for i, m in enumerate(Modality)}

    def featurize(modality: Modality, images: np.ndarray) -> np.ndarray:  # a fixed nonlinear "extractor"
        return np.abs(images[:, 0, :, 0] @ projection[modality]) + 0.1

    method = ImageOracle().fit(as_images(train))
    image_test = as_images(test)
    table, _, _ = score_method(method, image_test, CLASSES, None, featurize=featurize)
    for task, source, target in (("A=>B", Modality.A, Modality.B), ("B=>A", Modality.B, Modality.A)):
        queries = featurize(target, method.translate(source, image_test.x(source)))
        ap = _ap_by_hand(queries, test.y(source), featurize(target, image_test.x(target)), test.y(target))
        row = table[(table["task"] == task) & (table["class"] == "all")]["value"].item()
        assert row == pytest.approx(ap.mean(), abs=1e-6) and 0.4 < row < 0.99
    # without a featurizer, translations into images are not ranked at all
    table, _, _ = score_method(method, image_test, CLASSES, None)
    assert not table["task"].isin(["A=>B", "B=>A"]).any()


def test_translation_into_features_with_an_all_zero_row_is_not_scored_and_the_rest_is(clusters):
    train, test = clusters
    method = NoisyOracle().fit(train)
    b = test.b.copy()
    b[3] = 0.0  # a real target feature row cosine cannot rank (a ReLU extractor can give one)
    table, _, _ = score_method(method, PairedSplit(test.a, b, test.y_a, test.y_b), CLASSES, None)
    assert "A=>B" not in set(table["task"])  # into b: undefined, so absent rather than a number
    assert "B=>A" in set(table["task"])
    assert {"A->B", "B->A", "A->A+B", "B->A+B"} <= set(table["task"])


def test_features_with_all_zero_rows_get_one_warning_line_per_modality(clusters):
    train, test = clusters
    b = test.b.copy()
    b[[1, 4]] = 0.0
    data = SimpleNamespace(train=train, test=PairedSplit(test.a, b, test.y_a, test.y_b),
                           modalities=(ModalitySpec("digit", (1, 8, 8)), ModalitySpec("colour", (3, 8, 8))))
    lines: list[str] = []
    _warn_zero_rows(data, lines.append)
    assert lines == ["WARNING: 0 train and 2 test colour features are all-zero (cosine similarity undefined): "
                     "translation retrieval into colour is not scored"]
