"""Deep CCA: its loss against canonical correlations computed independently, the method contract,
and a planted shared signal it must find."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xmbench.methods.deep.dcca import DeepCCA, total_correlation
from xmbench.testing import check_method, planted_pairs


def _numpy_correlations(a: np.ndarray, b: np.ndarray, ridge: float) -> np.ndarray:
    """Canonical correlations by hand: whiten each view's ridge-regularised covariance (Cholesky),
    then the singular values of the whitened cross-covariance."""
    a, b = a - a.mean(0), b - b.mean(0)
    n = len(a)
    la = np.linalg.cholesky(a.T @ a / (n - 1) + ridge * np.eye(a.shape[1]))
    lb = np.linalg.cholesky(b.T @ b / (n - 1) + ridge * np.eye(b.shape[1]))
    cross = np.linalg.solve(la, a.T @ b / (n - 1)) @ np.linalg.inv(lb).T
    return np.linalg.svd(cross, compute_uv=False)


def test_the_loss_is_minus_the_sum_of_canonical_correlations_computed_independently():
    rng = np.random.default_rng(0)
    shared = rng.standard_normal((200, 3))
    a = np.hstack([shared, rng.standard_normal((200, 4))]) @ rng.standard_normal((7, 6))
    b = np.hstack([shared + 0.3 * rng.standard_normal((200, 3)), rng.standard_normal((200, 2))]) @ rng.standard_normal((5, 5))
    expected = _numpy_correlations(a, b, 1e-3)
    got = total_correlation(torch.from_numpy(a).float(), torch.from_numpy(b).float(), 1e-3)
    np.testing.assert_allclose(got.item(), expected.sum(), rtol=1e-5)
    np.testing.assert_allclose(total_correlation(torch.from_numpy(a), torch.from_numpy(b), 1e-3, top_k=2).item(),
                               expected[:2].sum(), rtol=1e-9)
    assert expected[:3].min() > 0.8 and expected[3:].max() < 0.3  # three shared directions planted


def test_the_loss_agrees_with_cca_zoo_on_the_top_correlations():
    linear = pytest.importorskip("cca_zoo.linear")
    rng = np.random.default_rng(1)
    z = rng.standard_normal((500, 2))
    a = np.hstack([z, rng.standard_normal((500, 3))])
    b = np.hstack([z @ rng.standard_normal((2, 2)) + 0.5 * rng.standard_normal((500, 2)), rng.standard_normal((500, 2))])
    ta, tb = linear.CCA(n_components=2).fit([a, b]).transform([a, b])
    reference = [abs(np.corrcoef(ta[:, k], tb[:, k])[0, 1]) for k in range(2)]  # on the data it was fit on
    ours = total_correlation(torch.from_numpy(a), torch.from_numpy(b), 1e-12, top_k=2).item()
    np.testing.assert_allclose(ours, np.sum(reference), rtol=1e-6)


def test_the_gradient_flows_through_the_float64_loss_to_float32_codes():
    a = torch.randn(50, 4, requires_grad=True)
    b = torch.randn(50, 3)
    total_correlation(a, b, 1e-3).backward()
    assert a.grad is not None and a.grad.dtype == torch.float32 and torch.isfinite(a.grad).all()


def test_dcca_keeps_the_method_contract():
    check_method(DeepCCA)


def test_dcca_finds_a_planted_shared_signal():
    train, test = planted_pairs(800, 200, 20, 12, 5, 0.5, seed=3)
    method = DeepCCA(hidden=(64,), out_dim=8, batch_size=200, max_updates=300, seed=0).fit(train)
    za, zb = method.embed("a", test.a), method.embed("b", test.b)
    first = np.corrcoef(za[:, 0], zb[:, 0])[0, 1]
    assert first > 0.9  # the top test correlation of a signal shared through linear maps
    assert method.extra_results()["train_total_correlation"] > 4  # 8 latent dims of shared signal


def test_dcca_finds_nothing_where_the_modalities_share_nothing():
    """Independent modalities: whatever DCCA fits to the training batches (it can overfit them) must not
    correlate on held-out pairs; max |r| over 8 dims of 300 independent pairs is about .15 by chance."""
    from xmbench.data import PairedSplit

    rng = np.random.default_rng(5)

    def split(n: int) -> PairedSplit:
        y = rng.integers(0, 5, n)
        return PairedSplit(rng.standard_normal((n, 20)).astype(np.float32),
                           rng.standard_normal((n, 12)).astype(np.float32), y, y)

    train, test = split(800), split(300)
    method = DeepCCA(hidden=(64,), out_dim=8, batch_size=200, max_updates=300, seed=0).fit(train)
    za, zb = method.embed("a", test.a), method.embed("b", test.b)
    assert method.extra_results()["train_total_correlation"] > 1.0  # it did fit something on train
    assert max(abs(np.corrcoef(za[:, k], zb[:, k])[0, 1]) for k in range(8)) < 0.25


def test_selection_on_correlation_scores_the_objective_on_every_validation_pair():
    from xmbench.methods.base import Validation

    train, test = planted_pairs(800, 300, 20, 12, 5, 0.5, seed=3)
    validation = Validation(test, lambda method: {"A->B": 0.0, "B->A": 0.0, "A->A+B": 0.0, "B->A+B": 0.0})
    method = DeepCCA(hidden=(64,), out_dim=8, batch_size=200, max_updates=200, eval_every=50, model_selection=True,
                     selection="correlation", seed=0).fit(train, validation=validation)
    [phase] = method.training_summary()
    assert phase.score_name == "validation total correlation"
    codes = [torch.from_numpy(method._to_model(m, test.x(m)).numpy()) for m in "ab"]
    expected = total_correlation(*(method._codes(m, x) for m, x in zip("ab", codes, strict=True)), 1e-3).item()
    assert phase.best_score == pytest.approx(expected, rel=1e-6)  # the kept state is the best scored
    assert expected > 4  # 8 shared latent dims found on held-out pairs


def test_the_loss_has_finite_gradients_when_a_view_has_fewer_distinct_rows_than_codes():
    """Ten colours coded in 50 dimensions: the covariance has 40 equal eigenvalues (the ridge), where an
    eigendecomposition's gradient is undefined; the Cholesky form's is finite."""
    generator = torch.Generator().manual_seed(0)
    ha = torch.randn(800, 50, generator=generator, requires_grad=True)
    colours = torch.randn(10, 50, generator=generator)
    hb = colours[torch.arange(800) % 10].clone().requires_grad_(True)
    (-total_correlation(ha, hb, 1e-3)).backward()
    assert torch.isfinite(ha.grad).all() and torch.isfinite(hb.grad).all()
    assert ha.grad.abs().max() > 0


def test_non_finite_codes_give_a_nan_loss_for_the_training_loop_to_report():
    codes = torch.randn(20, 4)
    broken = codes.clone()
    broken[3, 1] = float("nan")
    assert torch.isnan(total_correlation(codes, broken, 1e-3))
