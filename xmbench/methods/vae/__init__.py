"""Variational methods: the VAE-associator model, cross-modal variational alignment, and the
VAE-associator paper's five baselines (VAE, VAE-CG, JMVAE, CVA, MVAE)."""
