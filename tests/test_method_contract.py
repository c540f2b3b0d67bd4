"""Contract checks run on every registered method (discovered from the registry)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from tests.conftest import planted_pairs
from xmbench.data.base import PairedSplit
from xmbench.errors import XmbenchError
from xmbench.methods import METHODS
from xmbench.methods.base import NotFittedError
from xmbench.options import Profile

TRAIN, TEST = planted_pairs(300, 60, 20, 12, 5, 0.5, seed=7)
FEATURE_METHODS = [name for name in METHODS.names() if METHODS.get(name).input_kind == "features"]
IMAGE_METHODS = [name for name in METHODS.names() if METHODS.get(name).input_kind == "images"]


def image_pairs(n: int, seed: int) -> PairedSplit:
    """Tiny uint8 image pairs: a 1-channel and a 3-channel modality, brightness set by the class."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    a = np.clip(y[:, None, None, None] * 80 + rng.integers(0, 40, (n, 1, 28, 28)), 0, 255).astype(np.uint8)
    b = np.clip(y[:, None, None, None] * 80 + rng.integers(0, 40, (n, 3, 28, 28)), 0, 255).astype(np.uint8)
    return PairedSplit(a, b, y, y)


def smoke(name: str, seed: int = 0):
    return METHODS.get(name).from_profile(Profile.SMOKE, seed=seed, device="cpu")


@pytest.mark.parametrize("name", FEATURE_METHODS)
def test_fit_returns_self_and_embeds_both_modalities(name):
    method = smoke(name)
    assert method.fit(TRAIN) is method
    za, zb = method.embed("a", TEST.a), method.embed("b", TEST.b)
    assert za.shape[0] == len(TEST) and zb.shape[0] == len(TEST)
    assert za.shape[1] == zb.shape[1]
    assert np.isfinite(za).all() and np.isfinite(zb).all()
    output_shapes = {  # verb -> (capable, modality -> shape of the generated features)
        "translate": (method.can_translate, {"a": TEST.b.shape, "b": TEST.a.shape}),
        "reconstruct": (method.can_reconstruct, {"a": TEST.a.shape, "b": TEST.b.shape}),
    }
    for verb, (capable, shapes) in output_shapes.items():
        generate = getattr(method, verb)
        if not capable:
            with pytest.raises(XmbenchError, match=f"cannot {verb}"):
                generate("a", TEST.a)
            continue
        for modality, shape in shapes.items():
            assert generate(modality, TEST.x(modality)).shape == shape
    for space in ("a", "b"):  # every method can be scored per task space; shared spaces ignore it
        in_a, in_b = method.embed_in(space, "a", TEST.a), method.embed_in(space, "b", TEST.b)
        assert in_a.shape[0] == len(TEST) and in_a.shape[1] == in_b.shape[1]
        if method.shared_space:
            np.testing.assert_array_equal(in_a, za)


@pytest.mark.parametrize("name", FEATURE_METHODS)
def test_same_seed_same_embeddings(name):
    first = smoke(name, seed=3).fit(TRAIN).embed("a", TEST.a)
    second = smoke(name, seed=3).fit(TRAIN).embed("a", TEST.a)
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("name", METHODS.names())
def test_constructor_only_stores_documented_hyper_parameters(name):
    cls = METHODS.get(name)
    params = inspect.signature(cls.__init__).parameters
    assert {"seed", "device"} <= set(params)
    method = cls()
    assert not [attr for attr in vars(method) if attr.endswith("_")], "learned state set in __init__"
    assert set(method.get_params()) == set(params) - {"self"}
    assert cls.__doc__ and len(cls.__doc__.strip()) > 40
    for profile in Profile:
        unknown = set(cls.profiles.get(profile, {})) - set(params)
        assert not unknown, f"profile {profile} sets unknown hyper-parameters {unknown}"


@pytest.mark.parametrize("name", FEATURE_METHODS)
def test_input_errors_are_clear(name):
    method = smoke(name)
    with pytest.raises(NotFittedError, match="not fitted"):
        method.embed("a", TEST.a)
    method.fit(TRAIN)
    with pytest.raises(XmbenchError, match="invalid modality 'c'"):
        method.embed("c", TEST.a)
    with pytest.raises(XmbenchError, match="has 20 features at fit, got 12"):
        method.embed("a", TEST.b)
    bad = TEST.a.copy()
    bad[0, 0] = np.nan
    with pytest.raises(XmbenchError, match="NaN or inf"):
        method.embed("a", bad)


@pytest.mark.parametrize("name", IMAGE_METHODS)
def test_image_methods_fit_embed_and_generate_images(name):
    train, test = image_pairs(64, seed=1), image_pairs(20, seed=2)
    method = smoke(name)
    assert method.fit(train) is method
    za, zb = method.embed("a", test.a), method.embed("b", test.b)
    assert za.shape[0] == zb.shape[0] == len(test) and za.shape[1] == zb.shape[1]
    if method.can_translate:
        assert method.translate("a", test.a).shape == test.b.shape
        assert method.translate("b", test.b).shape == test.a.shape
    with pytest.raises(XmbenchError, match="features at fit"):
        method.embed("a", test.b)
    np.testing.assert_array_equal(smoke(name).fit(train).embed("a", test.a), za)
