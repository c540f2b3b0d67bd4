"""Datasets of three modalities and cascaded association (the VAE-associator paper's Table 4): pairs
picked with --modalities, a cascade of exact translators scoring as the direct route, the links
being the direct runs of their pairs, one extractor per modality, and bad routes as one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xmbench import api
from xmbench.cascade import ComposedTranslator, link_keys
from xmbench.data import DATASETS, LoadOptions, PairedSplit
from xmbench.data.base import ModalitySpec
from xmbench.data.multimodal import AlignedSplit, MultiModalData, MultiModalDataset
from xmbench.errors import DataUnavailableError
from xmbench.methods.base import CrossModalMethod
from xmbench.options import Modality
from xmbench.results.schema import RunKey
from tests.hostile import _cli

NAMES = ("x", "y", "z")


class PlantedTrio(MultiModalDataset):
    """Three modalities as different full-rank linear maps of one class-structured latent, no noise:
    any modality determines the others exactly, so least squares translates exactly."""

    name = "planted-trio"
    description = "three linear views of one latent"
    pairings = ("by-class",)
    source = license = citation = "test"
    has_images = False
    modality_names = NAMES
    class_names = ("c0", "c1", "c2", "c3")

    @classmethod
    def _load_all(cls, pairing: str, options: LoadOptions) -> MultiModalData:
        rng = np.random.default_rng(options.data_seed)
        maps = {name: rng.standard_normal((5, width)) for name, width in zip(NAMES, (5, 7, 9))}
        centres = rng.standard_normal((4, 5)) * 2

        def split(n: int) -> AlignedSplit:
            y = rng.integers(0, 4, n)
            latent = centres[y] + 0.8 * rng.standard_normal((n, 5))
            return AlignedSplit({m: (latent @ maps[m]).astype(np.float64) for m in NAMES}, {m: y for m in NAMES})

        return MultiModalData(cls.name, pairing, tuple(ModalitySpec(m) for m in NAMES), cls.class_names,
                              split(400), split(120), {"source": "planted"})


class LeastSquares(CrossModalMethod):
    """Translates by the least-squares linear map between the modalities (exact on ``PlantedTrio``);
    embeds both modalities in B's space."""

    name = "least-squares"
    can_translate = True

    def __init__(self, seed: int = 0, device: str = "cpu") -> None:
        self.seed, self.device = seed, device

    def _fit(self, train: PairedSplit) -> None:
        self.maps_ = {Modality.A: np.linalg.lstsq(train.a, train.b, rcond=None)[0],
                      Modality.B: np.linalg.lstsq(train.b, train.a, rcond=None)[0]}

    def _translate(self, source: Modality, X: np.ndarray) -> np.ndarray:
        return X @ self.maps_[source]

    def _embed(self, modality: Modality, X: np.ndarray) -> np.ndarray:
        return X @ self.maps_[Modality.A] if modality is Modality.A else X


@pytest.fixture(autouse=True)
def _own_registries(monkeypatch):
    """The classes a run registers (this file's method and dataset) stay out of the other tests."""
    from xmbench.methods import METHODS

    for registry in (METHODS, DATASETS):
        monkeypatch.setattr(registry, "_entries", dict(registry._entries))
        monkeypatch.setattr(registry, "_origins", dict(registry._origins))


def _run(tmp_path: Path, **options) -> pd.DataFrame:
    config = api.RunConfig(dataset=PlantedTrio, methods=(LeastSquares,), profile="smoke", seeds=(0, 1),
                           out=tmp_path / "results", cache_dir=tmp_path / "cache", **options)
    report = api.run_benchmark(config, log=lambda line: None)
    assert not report.failed
    return report.scores


def test_a_pair_is_a_view_of_the_aligned_rows():
    data = PlantedTrio.load_all(None, LoadOptions(data_seed=3))
    pair = data.pair("z", "x")
    assert [spec.name for spec in pair.modalities] == ["z", "x"]
    np.testing.assert_array_equal(pair.train.a, data.train.x["z"])
    np.testing.assert_array_equal(pair.test.b, data.test.x["x"])
    assert pair.provenance["modalities"] == ["z", "x"]
    assert PlantedTrio.load(None, LoadOptions(data_seed=3)).modalities[1].name == "y"  # load: the first two


def test_a_cascade_of_exact_translators_scores_as_the_direct_route(tmp_path):
    scores = _run(tmp_path, cascade="x,y,z")
    assert set(scores["dataset"]) == {"planted-trio[x,z]"}
    assert set(scores["method"]) == {"least-squares", "least-squares[via=y]"}
    recognition = (scores["metric"] == "recognition_accuracy") & scores["task"].isin(["A->B", "B->A"])
    translation = (scores["metric"] == "mAP") & scores["task"].isin(["A=>B", "B=>A"])
    judged = scores[recognition | translation]
    table = judged.pivot_table(index=["seed", "task", "class", "metric"], columns="method", values="value")
    assert len(table) == 2 * 4 * 5 and table.notna().all().all()  # seeds x tasks x (all + 4 classes)
    np.testing.assert_allclose(table["least-squares[via=y]"], table["least-squares"], atol=1e-9)
    ceiling = scores[scores["metric"] == "classifier_accuracy"]
    assert ceiling["value"].min() > 0.5  # the planted classes are learnable, so the agreement is not trivial
    recognized = table.xs(("A->B", "all", "recognition_accuracy"), level=["task", "class", "metric"])
    assert recognized.min().min() > 0.5


def test_each_link_is_the_direct_run_of_its_pair(tmp_path):
    cascade = _run(tmp_path, cascade="x,y,z")
    link = _run(tmp_path, modalities="x,y")
    cascade_key = next(RunKey(**json.loads(p.read_text())["key"])
                       for p in (tmp_path / "results" / "runs").glob("*_x-y-z_*/manifest.json"))
    first = link_keys(cascade_key)[0]
    assert first.modalities == "x,y" and first.method == cascade_key.method
    manifests = {p.parent.name: json.loads(p.read_text()) for p in (tmp_path / "results" / "runs").glob("*/manifest.json")}
    direct = manifests[first.run_id]  # the link's key is exactly a direct run's
    composed = next(m for m in manifests.values() if m["key"]["modalities"] == "x,y,z" and m["key"]["seed"] == first.seed)
    assert composed["cascade"]["links"][0]["training_data"] == direct["training_data"]
    assert set(link["dataset"]) == {"planted-trio[x,y]"} and not cascade.empty


def test_composition_runs_forwards_and_backwards():
    class Shift:
        def __init__(self, by: float) -> None:
            self.by = by

        def translate(self, source, X):
            return X + (self.by if Modality.parse(source) is Modality.A else -self.by) * 10 ** len(X)

    composed = ComposedTranslator([Shift(1.0), Shift(2.0)])
    np.testing.assert_array_equal(composed.translate("a", np.zeros(1)), [30.0])
    np.testing.assert_array_equal(composed.translate("b", np.zeros(1)), [-30.0])


def test_every_pair_of_a_replicate_shares_one_extractor_per_modality(tmp_path):
    from xmbench.features.cnn import ExtractorConfig
    from xmbench.features.extract import build_features, build_modal_features

    class ImageTrio(PlantedTrio):
        @classmethod
        def _load_all(cls, pairing, options):
            rng = np.random.default_rng(0)
            y_train, y_test = np.arange(60) % 4, np.arange(20) % 4

            def images(y, channels):
                return np.clip(y[:, None, None, None] * 60 + rng.integers(0, 40, (len(y), channels, 28, 28)), 0,
                               255).astype(np.uint8)

            specs = tuple(ModalitySpec(m, (c, 28, 28)) for m, c in zip(NAMES, (1, 3, 1)))
            return MultiModalData("image-trio", pairing, specs, cls.class_names,
                                  AlignedSplit({m: images(y_train, s.input_shape[0]) for m, s in zip(NAMES, specs)},
                                               {m: y_train for m in NAMES}),
                                  AlignedSplit({m: images(y_test, s.input_shape[0]) for m, s in zip(NAMES, specs)},
                                               {m: y_test for m in NAMES}))

    data = ImageTrio.load_all(None, LoadOptions())
    config = ExtractorConfig(epochs=1)
    import torch

    modal = build_modal_features(data, config, 5, torch.device("cpu"), None)
    xz, yz = modal.pair("x", "z", torch.device("cpu")), modal.pair("y", "z", torch.device("cpu"))
    np.testing.assert_array_equal(xz.data.train.b, yz.data.train.b)  # z's features: one extractor
    for a, b in zip(xz.extractors[Modality.B].state_dict().values(), yz.extractors[Modality.B].state_dict().values()):
        assert torch.equal(a, b)
    # and the same features a two-modality load of the pair would get from the same seeds
    alone = build_features(data.pair("x", "z"), config, 5, torch.device("cpu"), None)
    np.testing.assert_array_equal(alone.data.test.a, xz.data.test.a)
    assert set(xz.extractor_accuracy) == {"x", "z"}


def _fails(tmp_path: Path, *arguments: str) -> str:
    """The one error line of ``xmbench run ARGUMENTS``, which must fail before writing anything."""
    code, out, err, escaped = _cli(["run", *arguments, "--out", str(tmp_path / "results")])
    assert not (tmp_path / "results").exists()
    lines = [line for line in err.splitlines() if line.strip()]
    assert code != 0 and escaped is None and len(lines) == 1 and lines[0].startswith("error: "), (code, err, escaped)
    return lines[0]


@pytest.mark.parametrize(("arguments", "message"), [
    (["--cascade", "speech,fashion,digits"], "has no modality 'digits'; it has mnist, fashion, speech"),
    (["--cascade", "speech,mnist"], "--cascade takes a route of three or more modalities"),
    (["--cascade", "speech,fashion,speech"], "names a modality twice"),
    (["--cascade", "speech,fashion,mnist", "--methods", "cca,vae-cg"], "cca cannot translate features"),
    (["--cascade", "speech,fashion,mnist", "--methods", "syncgan-image"], "syncgan-image cannot translate features"),
    (["--modalities", "speech,fashion,mnist"], "--modalities takes 2 modalities"),
    (["--modalities", "speech,mnist", "--cascade", "speech,fashion,mnist"], "exclude each other"),
])
def test_a_bad_route_is_one_line_before_anything_loads(tmp_path, arguments, message):
    assert message in _fails(tmp_path, "--dataset", "mnist-fashion-speech", "--methods", "vae-cg", *arguments)


def test_modalities_on_a_two_modality_dataset_is_one_line(tmp_path):
    assert "applies to datasets of three or more modalities" in _fails(tmp_path, "--dataset", "mnist-fashion",
                                                                        "--modalities", "mnist,fashion")


def test_missing_fsdd_names_the_three_modality_dataset(tmp_path):
    with pytest.raises(DataUnavailableError, match="dataset 'mnist-fashion-speech': no FSDD/fsdd_8k.npz"):
        DATASETS.get("mnist-fashion-speech").load_all(None, LoadOptions(data_root=tmp_path))


@pytest.mark.data
def test_the_triples_share_class_and_rows_across_modalities(data_root: Path):
    data = DATASETS.get("mnist-fashion-speech").load_all(None, LoadOptions(data_root=data_root, data_seed=0))
    assert data.names == ("mnist", "fashion", "speech") and len(data.class_names) == 10
    assert data.train.x["mnist"].shape == (2700, 1, 28, 28) and data.test.x["speech"].shape == (300, 1, 40, 101)
    for split in (data.train, data.test):
        for name in data.names:
            np.testing.assert_array_equal(split.y[name], split.y["speech"])
        assert set(np.bincount(split.y["speech"])) == {len(split) // 10}
    pair = data.pair("speech", "mnist")
    assert pair.train.a.shape == (2700, 1, 40, 101) and pair.train.b.dtype == np.uint8
