"""Registered datasets: the built-in modules below, then installed plugins (entry-point group
``xmbench.datasets``); ``resolve_dataset`` also reads a user's data file (``xmbench.data.user``)."""

from xmbench.data import digits_colors, letters_colors, mnist_fashion, mnist_halves, mnist_speech, wikipedia  # noqa: F401
from xmbench.data import gtsrb_speech, mnist_fashion_speech  # noqa: F401
from xmbench.data.base import DATASETS, CrossModalData, Dataset, LoadOptions, PairedSplit, UnpairedFeatures
from xmbench.data.user import from_arrays, read_dataset, resolve_dataset

DATASETS.load_plugins()

__all__ = ["DATASETS", "CrossModalData", "Dataset", "LoadOptions", "PairedSplit", "UnpairedFeatures", "from_arrays",
           "read_dataset", "resolve_dataset"]
