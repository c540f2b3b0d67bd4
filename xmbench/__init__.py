"""xmbench: one harness for comparing cross-modal common-representation learning methods."""

__version__ = "0.1.0"
