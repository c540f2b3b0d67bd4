"""Registered methods. Importing a module registers its classes; add a method by adding a module here."""

from xmbench.methods import cca, kcca  # noqa: F401  (registration side effect)
from xmbench.methods import cmgans  # noqa: F401
from xmbench.methods import vae_assoc  # noqa: F401
from xmbench.methods import varalign  # noqa: F401
from xmbench.methods import syncgan, syncgan_image  # noqa: F401
from xmbench.methods.base import METHODS, CrossModalMethod

__all__ = ["METHODS", "CrossModalMethod"]
