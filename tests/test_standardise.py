"""The VAE methods' feature scaling: per feature (whitening PCA scores) or one scale per modality."""

import numpy as np
import pytest

from xmbench.data.base import PairedSplit
from xmbench.errors import XmbenchError
from xmbench.methods import METHODS
from xmbench.methods.standardise import StandardisedFeatures


class Host(StandardisedFeatures):
    def __init__(self, scaling: str) -> None:
        self.scaling, self.device = scaling, "cpu"


def split() -> PairedSplit:
    rng = np.random.default_rng(0)
    # features with variances 16, 4, 1 and a constant one: like leading PCA components plus a dead unit
    a = rng.normal(size=(400, 4)) * np.array([4.0, 2.0, 1.0, 0.0]) + np.array([10.0, -3.0, 0.0, 7.0])
    b = rng.normal(size=(400, 2))
    y = np.zeros(400, dtype=np.int64)
    return PairedSplit(a.astype(np.float32), b.astype(np.float32), y, y)


def test_modality_scaling_keeps_relative_variances_and_feature_scaling_whitens():
    data = split()
    variances = data.a.astype(np.float64).var(0)
    by_modality, by_feature = Host("modality"), Host("feature")
    by_modality._fit_standardiser(data, None)
    by_feature._fit_standardiser(data, None)
    scaled = by_modality._to_model("a", data.a).numpy().astype(np.float64)
    # by hand: one scale sqrt((16 + 4 + 1 + 0) / 4) up to sampling; the variances keep their ratios
    np.testing.assert_allclose(by_modality.std_["a"], np.sqrt(variances.mean()), rtol=1e-12)
    np.testing.assert_allclose(scaled.var(0).mean(), 1.0, rtol=1e-5)
    np.testing.assert_allclose(scaled.var(0)[:3] / scaled.var(0)[2], variances[:3] / variances[2], rtol=1e-5)
    np.testing.assert_allclose(scaled.mean(0), 0.0, atol=1e-5)
    whitened = by_feature._to_model("a", data.a).numpy().astype(np.float64)
    np.testing.assert_allclose(whitened.var(0)[:3], 1.0, rtol=1e-5)
    assert by_feature.std_["a"][3] == 1.0  # the constant feature is centred, not scaled
    back = by_modality._from_model("a", by_modality._to_model("a", data.a))
    np.testing.assert_allclose(back, data.a, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("name", ["vae-assoc", "varalign"])
def test_unknown_scaling_is_one_clear_error(name):
    data = split()
    method = METHODS.get(name)(scaling="whiten", seed=0)
    with pytest.raises(XmbenchError, match="scaling must be one of feature, modality, got 'whiten'"):
        method.fit(data)
