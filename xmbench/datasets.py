"""The public face of datasets for Python users: ``from_arrays`` and ``read_dataset`` build a dataset
class from a user's data, which ``xmbench.api.RunConfig(dataset=...)`` runs like a built-in one."""

from xmbench.data import DATASETS, Dataset, from_arrays, read_dataset

__all__ = ["DATASETS", "Dataset", "from_arrays", "read_dataset"]
