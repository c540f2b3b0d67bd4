"""Registered methods, by family (one subpackage each), then installed plugins (entry-point group
``xmbench.methods``; see README "Benchmark your own method")."""

from xmbench.methods.base import METHODS, CrossModalMethod
from xmbench.methods.deep import acmr, contrastive, corr_ae, dcca, dccae, dscmr  # noqa: F401  (registration side effect)
from xmbench.methods.gan import cmgans, syncgan, syncgan_image  # noqa: F401
from xmbench.methods.linear import cca, kcca  # noqa: F401
from xmbench.methods.vae import cva, jmvae, mvae, vae_assoc, vae_cg, vae_joint, varalign  # noqa: F401

METHODS.load_plugins()

__all__ = ["METHODS", "CrossModalMethod"]
