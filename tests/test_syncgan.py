"""SyncGAN on features and on raw images: the synchronizer's training data and labels, the
generators' synchronous batch, latent recovery, determinism, generated pairs, and failures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.conftest import planted_pairs
from xmbench.data.base import PairedSplit, UnpairedFeatures
from xmbench.errors import NonFiniteError, XmbenchError
from xmbench.eval.protocol import validation_scorer
from xmbench.methods import METHODS
from xmbench.methods.base import NotFittedError
from xmbench.methods.base import Validation
from xmbench.methods.gan.syncgan import SyncGAN
from xmbench.methods.gan.syncgan_image import SyncGANImage
from xmbench.methods.gan.syncgan_nets import Synchronizer, generated_sync_batch, real_sync_batch
from xmbench.seeding import derive_seed, torch_generator

TRAIN, TEST = planted_pairs(300, 60, 20, 12, 5, 0.5, seed=1)
EXTRA, _ = planted_pairs(90, 1, 20, 12, 5, 0.5, seed=2)  # rows whose pairing is withheld
UNPAIRED = UnpairedFeatures(EXTRA.a, EXTRA.b[::-1].copy())
TINY = {"hidden": (32, 32), "disc_hidden": (32,), "batch_size": 32, "epochs": 2, "recovery_steps": 20, "lr": 1e-3}


def fit(data: PairedSplit = TRAIN, unpaired: UnpairedFeatures | None = None, **params) -> SyncGAN:
    return SyncGAN(**{**TINY, **params}).fit(data, unpaired)


# ------------------------------------------------------------------------------ synchronizer
def test_synchronizer_trains_only_on_real_pairs_and_all_its_parameters_change(monkeypatch):
    calls = []
    original = Synchronizer.forward

    def spy(self, x_a, x_b):
        updating_s = next(self.parameters()).requires_grad  # S is frozen during the generator step
        calls.append((updating_s, x_a.detach().clone(), x_b.detach().clone()))
        return original(self, x_a, x_b)

    monkeypatch.setattr(Synchronizer, "forward", spy)
    method = fit(unpaired=UNPAIRED)
    n_iter = (len(TRAIN) + len(EXTRA)) // TINY["batch_size"]  # updates per epoch: full batches of the larger rows
    s_calls = [(a, b) for updating, a, b in calls if updating]
    assert len(s_calls) == TINY["epochs"] * n_iter
    assert len(calls) == 2 * len(s_calls)  # plus one scoring of generated pairs per generator step
    index = {m: {row.tobytes(): i for i, row in enumerate(method._to_model(m, TRAIN.x(m)).numpy())} for m in "ab"}
    for x_a, x_b in s_calls:
        rows_a = [index["a"].get(row.tobytes()) for row in x_a.numpy()]
        rows_b = [index["b"].get(row.tobytes()) for row in x_b.numpy()]
        assert None not in rows_a and None not in rows_b  # real paired rows: never generated, never unpaired
        same = np.array(rows_a) == np.array(rows_b)
        assert same.sum() == round(0.5 * len(same))  # synchronous ratio 0.5

    initial = method._init_networks({"a": (20,), "b": (12,)}).synchronizer.state_dict()
    trained = method.networks_.synchronizer.state_dict()
    assert set(initial) == set(trained) and any(k.startswith("head.") for k in trained)
    for key in initial:  # towers and the fully connected head (the TF1 code never trained the latter)
        assert not torch.equal(initial[key], trained[key]), key


def test_real_sync_batch_pairs_own_partner_then_another_pair():
    idx = torch.arange(40) % 7
    rows_a, rows_b, labels = real_sync_batch(idx, 7, 0.5, torch_generator(0))
    assert torch.equal(rows_a, idx) and labels.tolist() == [1.0] * 20 + [0.0] * 20
    assert torch.equal(rows_b[:20], idx[:20])
    assert (rows_b[20:] != idx[20:]).all() and ((rows_b >= 0) & (rows_b < 7)).all()
    partners = real_sync_batch(torch.zeros(3000, dtype=torch.long), 4, 0.0, torch_generator(1))[1]
    assert set(partners.tolist()) == {1, 2, 3}  # every other pair is reachable


def test_generated_sync_batch_same_noise_is_synchronous_different_noise_is_not():
    z1, z2 = torch.randn(10, 4, generator=torch_generator(0)), torch.randn(10, 4, generator=torch_generator(1))
    z_a, z_b, labels = generated_sync_batch(z1, z2, 0.5)
    assert torch.equal(z_a, z1)
    for row in range(10):
        assert labels[row].item() == (1.0 if torch.equal(z_a[row], z_b[row]) else 0.0)
    assert labels.tolist() == [1.0] * 5 + [0.0] * 5
    assert torch.equal(z_b[5:], z2[5:])


def test_synchronizer_learns_to_tell_real_pairs_apart():
    method = fit(epochs=16, eval_every=9)  # 9 updates per epoch: the last record is the last epoch's mean
    assert method.history_[-1]["s_accuracy"] > 0.75  # measured 0.875 (chance 0.5)


# -------------------------------------------------------------------------------- recovery
def test_recovery_lowers_the_error_and_does_not_depend_on_the_chunk_size():
    method = fit(epochs=10, recovery_steps=100, recovery_batch=7)
    X = method._to_model("a", TEST.a)
    starts, images = method._starts("a")
    z0 = starts[torch.cdist(X, images).argmin(dim=1)]  # each row's nearest candidate start
    G = method.networks_.generators["a"]
    z = method._recover("a", X)
    with torch.no_grad():
        before, after = ((G(z0) - X) ** 2).sum(1), ((G(z) - X) ** 2).sum(1)
    assert (after < before).all()  # every row improves on its best start (measured 17.1 vs 19.4 mean)
    assert method._explained_variance("a", X, z) > method._explained_variance("a", X, z0)
    method.recovery_batch = 1000
    # a different matmul blocking of 7 vs 1000 rows only rounds differently
    np.testing.assert_allclose(method._recover("a", X).numpy(), z.numpy(), atol=1e-5, rtol=0)
    np.testing.assert_array_equal(method.embed("a", TEST.a), method._recover("a", X).numpy())


def test_identical_rows_recover_identical_codes_wherever_they_sit():
    method = fit(recovery_batch=16)
    rows = TEST.b.copy()
    for position in (3, 17, 40, 59):  # in different chunks, among other rows
        rows[position] = TEST.b[0]
    codes = method.embed("b", rows)
    for position in (3, 17, 40, 59):
        np.testing.assert_allclose(codes[position], codes[0], atol=1e-6, rtol=0)
    assert not np.allclose(codes[1], codes[0])


def test_recovery_explains_a_planted_generators_samples():
    """Rows made by G_a itself from known codes: the recovered codes reproduce them (explained
    variance near 1), far better than the nearest candidate start does."""
    method = fit(epochs=4, recovery_steps=300)
    z_true = torch.randn(80, 64, generator=torch_generator(11))
    with torch.no_grad():
        X = method.networks_.generators["a"](z_true)
    starts, images = method._starts("a")
    start_ev = method._explained_variance("a", X, starts[torch.cdist(X, images).argmin(dim=1)])
    recovered_ev = method._explained_variance("a", X, method._recover("a", X))
    assert recovered_ev > 0.9 and recovered_ev > start_ev + 0.1


def test_held_out_diagnostics_in_the_curve_and_the_extra_results():
    validation_pairs = PairedSplit(TEST.a[:40], TEST.b[:40], TEST.y_a[:40], TEST.y_b[:40])
    scorer = validation_scorer(validation_pairs, [str(c) for c in range(5)])
    method = SyncGAN(**{**TINY, "eval_every": 9}).fit(TRAIN, None, Validation(validation_pairs, scorer))
    record = method.history_[-1]
    # selection on validation translation mAP; the retrieval tasks' mean is still recorded
    assert record["val_score"] == pytest.approx((record["val_map_A=>B"] + record["val_map_B=>A"]) / 2)
    retrieval = [record[f"val_map_{task}"] for task in ("A->B", "B->A", "A->A+B", "B->A+B")]
    assert record["val_map"] == pytest.approx(np.mean(retrieval))
    assert 0 <= record["val_s_accuracy"] <= 1
    assert {"val_recovery_ev_a", "val_recovery_ev_b"} <= set(record) and record["val_recovery_ev_a"] <= 1
    # held-out accuracy by hand: the same seeded draw, S's logits thresholded at 0
    generator = torch_generator(derive_seed(method.seed, "syncgan", "held-out-sync"))
    idx = torch.randperm(40, generator=generator)
    rows_a, rows_b, labels = real_sync_batch(idx, 40, 0.5, generator)
    with torch.no_grad():
        logits = method.networks_.synchronizer(method._to_model("a", TEST.a[:40])[rows_a],
                                               method._to_model("b", TEST.b[:40])[rows_b])
    assert method.extra_results()["s_heldout_accuracy"] == pytest.approx(float(((logits > 0) == (labels > 0)).float().mean()))
    method.embed("a", TEST.a)
    X = method._to_model("a", TEST.a)
    z = torch.as_tensor(method.embed("a", TEST.a))
    with torch.no_grad():
        error = ((method.networks_.generators["a"](z) - X) ** 2).sum()
    expected = 1 - float(error) / float(((X - X.mean(0)) ** 2).sum())
    assert method.extra_results()["recovery_ev_a"] == pytest.approx(expected, rel=1e-5)


# ---------------------------------------------------------------------- determinism, outputs
def test_paper_trains_on_the_papers_30000_pairs_a_stratified_seeded_subset(monkeypatch):
    from xmbench.options import Profile

    assert SyncGAN.from_profile(Profile.PAPER).max_pairs == 30000 == SyncGANImage.from_profile(Profile.PAPER).max_pairs
    assert SyncGAN.from_profile(Profile.QUICK).max_pairs is None  # quick trains on every pair
    seen = []
    original = SyncGAN._train
    monkeypatch.setattr(SyncGAN, "_train", lambda self, X, n: (seen.append(n), original(self, X, n))[1])
    method = fit(max_pairs=100, seed=4)
    assert seen == [100] and method.extra_results()["training_pairs"] == 100.0
    kept = method._limit_pairs(TRAIN)
    counts, full = np.bincount(kept.y_a, minlength=5), np.bincount(TRAIN.y_a, minlength=5)
    assert np.abs(counts - 100 * full / len(TRAIN)).max() <= 1  # class-stratified
    assert np.array_equal(kept.y_a, kept.y_b) and np.array_equal(kept.a, method._limit_pairs(TRAIN).a)  # seeded
    assert not np.array_equal(kept.a, SyncGAN(max_pairs=100, seed=5)._limit_pairs(TRAIN).a)
    with pytest.raises(XmbenchError, match="max_pairs must be None or a positive integer"):
        fit(max_pairs=0)


def test_same_seed_same_model_and_global_rng_untouched():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    first = fit(seed=4, unpaired=UNPAIRED)
    assert torch.equal(torch.rand(3), expected)
    second, other = fit(seed=4, unpaired=UNPAIRED), fit(seed=5, unpaired=UNPAIRED)
    assert first.history_ == second.history_
    assert [(r["update"], r["epoch"]) for r in first.history_] == [(24, 2)]  # 390 rows, 12 batches of 32 per epoch
    np.testing.assert_array_equal(first.translate("a", TEST.a), second.translate("a", TEST.a))
    assert not np.allclose(first.embed("b", TEST.b), other.embed("b", TEST.b))


def test_unpaired_rows_enter_the_standardisation_and_outputs_are_de_standardised():
    method = fit(unpaired=UNPAIRED)
    np.testing.assert_allclose(method.mean_["a"], np.concatenate([TRAIN.a, EXTRA.a]).astype(np.float64).mean(0))
    translated = method.translate("a", TEST.a)
    assert translated.shape == TEST.b.shape and translated.dtype == np.float32
    assert method.embed("a", TEST.a).shape == (len(TEST), 64)
    scale = np.abs(translated.mean(0) - TRAIN.b.mean(0)).mean() / TRAIN.b.std(0).mean()
    assert scale < 3  # in the features' units, not the standardised ones


def test_generate_pairs_is_deterministic_per_seed():
    method = fit()
    a, b = method.generate_pairs(25, seed=3)
    assert a.shape == (25, 20) and b.shape == (25, 12)
    again = method.generate_pairs(25, seed=3)
    np.testing.assert_array_equal(a, again[0])
    np.testing.assert_array_equal(b, again[1])
    assert not np.allclose(a, method.generate_pairs(25, seed=4)[0])
    z = torch.randn(25, 64, generator=torch_generator(3))  # the same z for both modalities
    with torch.no_grad():
        np.testing.assert_allclose(method._from_model("b", method.networks_.generators["b"](z)), b, rtol=1e-5)
    assert SyncGAN.can_generate_pairs and SyncGAN.input_kind == "features"
    with pytest.raises(XmbenchError, match="positive integer n"):
        method.generate_pairs(0, seed=1)
    with pytest.raises(NotFittedError):
        SyncGAN().generate_pairs(3, seed=1)


# -------------------------------------------------------------------------------- failures
def test_bad_hyper_parameters_are_one_clear_line():
    with pytest.raises(XmbenchError) as error:
        fit(epochs=0, hidden=(), sync_ratio=1.0, recovery_lr=-1, sync_weight=-2)
    message = str(error.value)
    assert message.startswith("syncgan: ") and "\n" not in message
    for part in ("epochs must be a positive integer", "hidden must be", "sync_ratio must be in (0, 1)", "recovery_lr must be positive", "sync_weight"):
        assert part in message
    with pytest.raises(XmbenchError, match="raw images need syncgan-image"):
        fit(data=PairedSplit(np.zeros((4, 1, 28, 28)), TRAIN.b[:4], TRAIN.y_a[:4], TRAIN.y_b[:4]))


def test_nan_loss_raises_naming_epoch_and_loss(monkeypatch):
    def poisoned(logits, labels):
        return torch.nn.functional.softplus(logits).mean() * float("nan")

    monkeypatch.setattr("xmbench.methods.gan.syncgan.F.binary_cross_entropy_with_logits", poisoned)
    with pytest.raises(NonFiniteError) as error:
        fit()
    message = str(error.value)
    # the first update's discriminator step is finite, its synchronizer step is not
    assert message.startswith("syncgan: non-finite loss in phase train at update 1 (epoch 1): s_loss became nan")
    assert "g_sync" in message and "\n" not in message


# ------------------------------------------------------------------------------- raw images
def tiny_images(n: int, seed: int) -> PairedSplit:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    a = rng.integers(0, 256, size=(n, 1, 28, 28), dtype=np.uint8)
    b = rng.integers(0, 256, size=(n, 3, 28, 28), dtype=np.uint8)
    return PairedSplit(a, b, y, y)


def test_image_variant_public_api_shapes_ranges_and_determinism():
    images = tiny_images(40, seed=0)
    params = {"width": 4, "fc_hidden": 8, "batch_size": 16, "epochs": 1, "recovery_steps": 5, "seed": 2}
    method = METHODS.get("syncgan-image")(**params).fit(images)
    assert isinstance(method, SyncGANImage) and method.input_kind == "images" and method.scale_ == {"a": 255.0, "b": 255.0}
    translated = method.translate("a", images.a[:6])
    assert translated.shape == (6, 3, 28, 28) and translated.dtype == np.float32
    assert translated.min() >= 0 and translated.max() <= 1
    assert method.translate("b", images.b[:6]).shape == (6, 1, 28, 28)
    assert method.embed("b", images.b[:6]).shape == (6, 64)
    a, b = method.generate_pairs(5, seed=1)
    assert a.shape == (5, 1, 28, 28) and b.shape == (5, 3, 28, 28)
    again = METHODS.get("syncgan-image")(**params).fit(images)
    np.testing.assert_array_equal(again.embed("a", images.a[:6]), method.embed("a", images.a[:6]))
    np.testing.assert_array_equal(again.generate_pairs(5, seed=1)[1], b)
    with pytest.raises(XmbenchError, match=r"must be images \(n, C, 28, 28\)"):
        SyncGANImage(**params).fit(planted_pairs(20, 1, 20, 12, 2, 0.5, seed=0)[0])


def test_discriminator_accuracies_are_recorded_per_modality():
    record = fit(epochs=2, eval_every=9).history_[-1]
    for m in "ab":
        assert 0.0 <= record[f"d_acc_real_{m}"] <= 1.0 and 0.0 <= record[f"d_acc_fake_{m}"] <= 1.0


def test_image_variant_is_scored_and_selected_on_translation_through_the_frozen_extractors(tmp_path, feature_cache):
    """A run of syncgan-image gets the translation tasks (its images mapped to features by the
    extractors) on the test split, and its validation score is their mean (selection_tasks)."""
    from xmbench import api
    import pandas as pd

    config = api.RunConfig(methods=("syncgan-image",), seeds=(0,), device="cpu", out=tmp_path, cache_dir=feature_cache)
    report = api.run_benchmark(config, log=lambda line: None)
    (run_id,) = report.completed
    scores = report.scores
    overall = scores[(scores["class"] == "all") & (scores["metric"] == "mAP")].set_index("task")["value"]
    assert {"A=>B", "B=>A"} <= set(overall.index) and overall[["A=>B", "B=>A"]].between(0, 1).all()
    curve = pd.read_csv(tmp_path / "runs" / run_id / "training.csv").pivot_table(
        index="update", columns="metric", values="value")
    assert np.allclose(curve["val_score"], (curve["val_map_A=>B"] + curve["val_map_B=>A"]) / 2)
