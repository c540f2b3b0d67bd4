"""Registered datasets. Importing a module registers it; add a dataset by adding a module here."""

from xmbench.data import digits_colors, letters_colors, mnist_fashion, mnist_halves, mnist_speech, wikipedia  # noqa: F401
from xmbench.data.base import DATASETS, CrossModalData, Dataset, LoadOptions, PairedSplit, UnpairedFeatures

__all__ = ["DATASETS", "CrossModalData", "Dataset", "LoadOptions", "PairedSplit", "UnpairedFeatures"]
