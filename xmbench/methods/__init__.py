"""Registered methods: the built-in modules below, then installed plugins (entry-point group
``xmbench.methods``; see README "Benchmark your own method")."""

from xmbench.methods import cca, kcca  # noqa: F401  (registration side effect)
from xmbench.methods import acmr, contrastive, corr_ae, dcca, dccae, dscmr  # noqa: F401  (the deep baselines)
from xmbench.methods import cmgans  # noqa: F401
from xmbench.methods import vae_assoc  # noqa: F401
from xmbench.methods import varalign  # noqa: F401
from xmbench.methods import syncgan, syncgan_image  # noqa: F401
from xmbench.methods import cva, jmvae, mvae, vae_cg, vae_joint  # noqa: F401  (the VAE paper's baselines)
from xmbench.methods.base import METHODS, CrossModalMethod

METHODS.load_plugins()

__all__ = ["METHODS", "CrossModalMethod"]
