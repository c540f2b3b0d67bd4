"""The method contract as importable checks, for plugin authors' own test suites.

xmbench runs these on every built-in method (``tests/test_method_contract.py``); a plugin's tests
can call ``check_method(MyMethod)`` (or one check at a time) to hold its method to the same rules:
the constructor only stores documented hyper-parameters, ``fit`` returns self, both modalities embed
into one width, generation has the right shapes, same seed gives the same numbers, and bad input
is one clear error. Each check raises ``AssertionError`` (or the method's own error) on a breach.
"""

from __future__ import annotations

import inspect

import numpy as np

from xmbench.data.base import PairedSplit
from xmbench.errors import XmbenchError
from xmbench.methods.base import CrossModalMethod, NotFittedError
from xmbench.options import Profile


def planted_pairs(
    n_train: int, n_test: int, d_a: int, d_b: int, n_classes: int, noise: float, seed: int
) -> tuple[PairedSplit, PairedSplit]:
    """(train, test): two modalities sharing a class signal through different random linear maps."""
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    y = rng.integers(0, n_classes, size=n)
    centres = rng.standard_normal((n_classes, 8)) * 3
    latent = centres[y] + noise * rng.standard_normal((n, 8))
    a = latent @ rng.standard_normal((8, d_a)) + noise * rng.standard_normal((n, d_a))
    b = latent @ rng.standard_normal((8, d_b)) + noise * rng.standard_normal((n, d_b))
    a, b = a.astype(np.float32), b.astype(np.float32)
    train, test = slice(0, n_train), slice(n_train, n)
    return PairedSplit(a[train], b[train], y[train], y[train]), PairedSplit(a[test], b[test], y[test], y[test])


def image_pairs(n: int, seed: int) -> PairedSplit:
    """Tiny uint8 image pairs: a 1-channel and a 3-channel modality, brightness set by the class."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    a = np.clip(y[:, None, None, None] * 80 + rng.integers(0, 40, (n, 1, 28, 28)), 0, 255).astype(np.uint8)
    b = np.clip(y[:, None, None, None] * 80 + rng.integers(0, 40, (n, 3, 28, 28)), 0, 255).astype(np.uint8)
    return PairedSplit(a, b, y, y)


def smoke(cls: type[CrossModalMethod], seed: int = 0) -> CrossModalMethod:
    return cls.from_profile(Profile.SMOKE, seed=seed, device="cpu")


def _pairs(cls: type[CrossModalMethod]) -> tuple[PairedSplit, PairedSplit]:
    if cls.input_kind == "images":
        return image_pairs(64, seed=1), image_pairs(20, seed=2)
    return planted_pairs(300, 60, 20, 12, 5, 0.5, seed=7)


def check_constructor(cls: type[CrossModalMethod]) -> None:
    """Hyper-parameters in ``__init__`` (with ``seed`` and ``device``), no learned state before ``fit``,
    ``get_params`` reads them back, a docstring, and profiles that set only real parameters."""
    params = inspect.signature(cls.__init__).parameters
    assert {"seed", "device"} <= set(params), "the constructor must take seed and device keywords"
    method = cls()
    assert not [attr for attr in vars(method) if attr.endswith("_")], "learned state set in __init__"
    assert set(method.get_params()) == set(params) - {"self"}, "get_params must return every constructor argument"
    assert cls.__doc__ and len(cls.__doc__.strip()) > 40, "document the method and its choices in its docstring"
    for profile in Profile:
        unknown = set(cls.profiles.get(profile, {})) - set(params)
        assert not unknown, f"profile {profile} sets unknown hyper-parameters {unknown}"


def check_fit_embed(cls: type[CrossModalMethod]) -> None:
    """``fit`` returns self; both modalities embed into one width; the model counts its parameters;
    generation has the target's shape;
    a verb the method cannot do says so; ``embed_in`` works for both spaces."""
    train, test = _pairs(cls)
    method = smoke(cls)
    assert method.fit(train) is method, "fit must return self"
    za, zb = method.embed("a", test.a), method.embed("b", test.b)
    assert za.shape[0] == zb.shape[0] == len(test) and za.shape[1] == zb.shape[1]
    assert np.isfinite(za).all() and np.isfinite(zb).all()
    count = method.trainable_parameters()
    assert isinstance(count, int) and count > 0, f"trainable_parameters() must count what fit learned, got {count!r}"
    shapes = {"translate": (method.can_translate, {"a": test.b.shape, "b": test.a.shape}),
              "reconstruct": (method.can_reconstruct, {"a": test.a.shape, "b": test.b.shape})}
    for verb, (capable, by_modality) in shapes.items():
        generate = getattr(method, verb)
        if not capable:
            _raises(XmbenchError, f"cannot {verb}", generate, "a", test.a)
            continue
        for modality, shape in by_modality.items():
            assert generate(modality, test.x(modality)).shape == shape, f"{verb} from {modality}: wrong shape"
    for space in ("a", "b"):
        in_a, in_b = method.embed_in(space, "a", test.a), method.embed_in(space, "b", test.b)
        assert in_a.shape[0] == len(test) and in_a.shape[1] == in_b.shape[1]
        if method.shared_space:
            np.testing.assert_array_equal(in_a, za)


def check_same_seed_same_numbers(cls: type[CrossModalMethod]) -> None:
    """Two fits with one seed give identical embeddings."""
    train, test = _pairs(cls)
    first = smoke(cls, seed=3).fit(train).embed("a", test.a)
    np.testing.assert_array_equal(first, smoke(cls, seed=3).fit(train).embed("a", test.a))


def check_input_errors(cls: type[CrossModalMethod]) -> None:
    """Embedding before fit, an unknown modality, a wrong width and NaN are clear errors."""
    train, test = _pairs(cls)
    method = smoke(cls)
    _raises(NotFittedError, "not fitted", method.embed, "a", test.a)
    method.fit(train)
    _raises(XmbenchError, "invalid modality 'c'", method.embed, "c", test.a)
    _raises(XmbenchError, "features at fit", method.embed, "a", test.b)
    if cls.input_kind == "features":
        bad = test.a.copy()
        bad[0, 0] = np.nan
        _raises(XmbenchError, "NaN or inf", method.embed, "a", bad)


CHECKS = (check_constructor, check_fit_embed, check_same_seed_same_numbers, check_input_errors)


def check_method(cls: type[CrossModalMethod]) -> None:
    """Every contract check on ``cls`` (its ``smoke`` profile, on small planted data)."""
    for check in CHECKS:
        check(cls)


def _raises(error: type[Exception], text: str, call, *args) -> None:  # noqa: ANN001
    try:
        call(*args)
    except error as raised:
        assert text in str(raised), f"expected an error saying {text!r}, got {raised!r}"
        return
    raise AssertionError(f"expected {error.__name__} ({text!r}) from {getattr(call, '__name__', call)}{args[:1]}")
