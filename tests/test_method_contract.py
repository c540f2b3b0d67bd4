"""Contract checks run on every registered method (discovered from the registry): the checks of
``xmbench.testing``, which plugin authors run on their own methods."""

from __future__ import annotations

import pytest

from xmbench import testing
from xmbench.methods import METHODS


@pytest.mark.parametrize("check", testing.CHECKS, ids=lambda check: check.__name__)
@pytest.mark.parametrize("name", METHODS.names())
def test_method_contract(name, check):
    check(METHODS.get(name))


def test_a_breach_is_reported():
    """The checks are not vacuous: a method whose fit does not return self fails the fit check."""
    cls = METHODS.get("cca")
    broken = type("Broken", (cls,), {"fit": lambda self, *args, **kwargs: None, "__doc__": cls.__doc__})
    with pytest.raises(AssertionError, match="fit must return self"):
        testing.check_fit_embed(broken)


def test_every_built_in_parameter_declares_its_valid_values():
    """--set checks a value against the declared range before anything runs; a parameter without one
    would run with any value (cca.n_components=-1 once ran as the default)."""
    from xmbench.methods import METHODS
    from xmbench.settings import parameters

    for name in METHODS.names():
        cls = METHODS.get(name)
        if cls.__module__.partition(".")[0] != "xmbench":
            continue
        unranged = [p for p, default in parameters(cls).items() if not isinstance(default, bool) and p not in cls.param_ranges]
        assert not unranged, f"{name}: {unranged}"
        assert set(cls.param_ranges) <= set(parameters(cls)), name
        defaults = {p: v for p, v in parameters(cls).items() if p in cls.param_ranges}
        assert all(cls.param_ranges[p].allows(v) for p, v in defaults.items()), name  # the defaults are valid
