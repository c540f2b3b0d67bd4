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
