"""Adversarial methods: CM-GANs and its ablations, SyncGAN (features and images), and what they share
(discriminator losses, the inert-GAN health checks, latent recovery)."""
