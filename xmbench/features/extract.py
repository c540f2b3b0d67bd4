"""Frozen per-modality features: build each image modality's features once (a supervised CNN, an
unsupervised autoencoder, or PCA of the pixels), extract, cache."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

import xmbench
from xmbench.data.base import CrossModalData, ModalitySpec, PairedSplit
from xmbench.data.multimodal import MultiModalData
from xmbench.features.cache import FeatureCache, cache_key
from xmbench.features.autoencoder import train_autoencoder
from xmbench.features.cnn import ExtractorConfig, FeatureCNN, encode, extract, train_extractor
from xmbench.features.pixels import NEGLIGIBLE_VARIANCE, PIXEL_COMPONENTS, fit_pixel_pca, flat_pixels, pixel_features
from xmbench.features.probe import PROBE_METRIC, probe_accuracy
from xmbench.options import FeatureSource, Modality
from xmbench.seeding import derive_seed


@dataclass(frozen=True)
class FeatureSet:
    """The features every method of a run consumes, and what the extractors scored on test data."""

    data: CrossModalData  # same metadata as the loaded dataset; splits hold (n, d) float32 features
    # modality name -> test accuracy: of its CNN classifier (supervised), else of a linear probe
    extractor_accuracy: dict[str, float]
    cache_key: str
    from_cache: bool
    extractors: dict[Modality, FeatureCNN] = dataclasses.field(default_factory=dict)  # supervised only; frozen
    source: FeatureSource = FeatureSource.SUPERVISED

    @property
    def accuracy_metric(self) -> str:
        """The results metric of ``extractor_accuracy``: the extractor's own head, or a linear probe."""
        return EXTRACTOR_METRIC if self.source is FeatureSource.SUPERVISED else PROBE_METRIC

    @functools.cached_property
    def sha256(self) -> str:
        """A hash of the bytes every method consumes (features and labels of both splits): equal for
        every run of one replicate, recorded in each manifest."""
        digest = hashlib.sha256()
        for split in (self.data.train, self.data.test):
            for array in (split.a, split.b, split.y_a, split.y_b):
                digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()[:16]


def feature_inputs(
    data: CrossModalData | MultiModalData, config: ExtractorConfig, data_seed: int, device: torch.device,
    source: FeatureSource = FeatureSource.SUPERVISED,
) -> dict:
    """Everything the features depend on; its hash is the cache key."""
    inputs = {
        "features": source.value,
        "dataset": data.name,
        "pairing": data.pairing,
        "data_seed": data_seed,  # one entry per replicate (see RunKey.data_seed)
        "provenance": data.provenance,
        # the data's bytes, not its path: another copy with other values never hits this entry
        "data_sha256": data.sha256,
        "extractor": {FeatureSource.PIXELS: {"pca": PIXEL_COMPONENTS, "negligible_variance": NEGLIGIBLE_VARIANCE},
                      FeatureSource.RAW: {"raw": "flattened, uint8 / 255"}}.get(source, dataclasses.asdict(config)),
        "device_type": device.type,
        # the thread count changes the order of float sums in training, so the features too
        "torch_threads": torch.get_num_threads(),
        "cache_format": CACHE_FORMAT,
        "xmbench": xmbench.__version__,
        "torch": torch.__version__,
    }
    overrides = {spec.name: spec.extractor_channels for spec in data.modalities if spec.extractor_channels is not None}
    if overrides:  # only when present, so datasets without overrides keep their existing cache keys
        inputs["extractor_channels"] = overrides
    return inputs


Featurizer = Callable[[Modality, np.ndarray], np.ndarray]  # (modality, raw images) -> frozen features


def image_featurizer(extractors: dict[Modality, FeatureCNN], device: torch.device) -> Featurizer | None:
    """The frozen extractors as a map from one modality's raw (or generated) images to its
    features, the space every feature method works in; None unless both modalities have one.
    Lets translation-based retrieval judge methods that translate into images (``syncgan-image``)
    by the same features as the feature methods."""
    if any(m not in extractors for m in Modality):
        return None

    def featurize(modality: Modality, images: np.ndarray) -> np.ndarray:
        return extract(extractors[modality], np.ascontiguousarray(images), device)[0]

    return featurize


def modality_config(config: ExtractorConfig, spec: ModalitySpec) -> ExtractorConfig:
    """``config`` with the modality's own channel count, if it overrides it."""
    if spec.extractor_channels is None:
        return config
    return dataclasses.replace(config, channels=spec.extractor_channels)


CACHE_FORMAT = 2  # 2: entries also hold the extractors' weights (classifiers of generated images)
EXTRACTOR_PREFIX = "extractor_"
EXTRACTOR_METRIC = "extractor_test_accuracy"


def build_features(
    data: CrossModalData,
    config: ExtractorConfig,
    data_seed: int,
    device: torch.device,
    cache: FeatureCache | None,
    source: FeatureSource | str = FeatureSource.SUPERVISED,
) -> FeatureSet:
    """The frozen features of ``data`` from ``source`` (see ``FeatureSource``), from the cache when an
    entry with the same inputs exists. Modalities shipped as features pass through unchanged."""
    source = FeatureSource.parse(source)
    arrays, accuracy, key, from_cache = _cached_arrays(data, config, data_seed, device, cache, source)
    return _feature_set(data, arrays, accuracy, key, from_cache, config, device, source)


@dataclass(frozen=True)
class ModalFeatures:
    """The frozen features of every modality of a ``MultiModalData`` (one extractor per modality, one
    cache entry); ``pair`` is the ``FeatureSet`` of two of them, as ``build_features`` would give
    it, with the same extractors whichever pair or cascade link asks."""

    data: MultiModalData
    arrays: dict[str, np.ndarray]  # train_<name>, test_<name>, extractor_<name>.<weight>
    accuracy: dict[str, float]
    cache_key: str
    from_cache: bool
    config: ExtractorConfig
    source: FeatureSource

    def pair(self, first: str, second: str, device: torch.device) -> FeatureSet:
        renamed = {}
        for name, letter in ((first, "a"), (second, "b")):
            for prefix in ("train_", "test_", f"{EXTRACTOR_PREFIX}"):
                head = f"{prefix}{name}"
                renamed |= {f"{prefix}{letter}{key[len(head):]}": value for key, value in self.arrays.items()
                            if key == head or key.startswith(f"{head}.")}
        accuracy = {name: self.accuracy[name] for name in (first, second) if name in self.accuracy}
        return _feature_set(self.data.pair(first, second), renamed, accuracy, self.cache_key, self.from_cache,
                            self.config, device, self.source)


def build_modal_features(
    data: MultiModalData, config: ExtractorConfig, data_seed: int, device: torch.device, cache: FeatureCache | None,
    source: FeatureSource | str = FeatureSource.SUPERVISED,
) -> ModalFeatures:
    """``build_features`` for every modality of a dataset of three or more at once."""
    source = FeatureSource.parse(source)
    return ModalFeatures(data, *_cached_arrays(data, config, data_seed, device, cache, source), config, source)


def _cached_arrays(
    data: CrossModalData | MultiModalData, config: ExtractorConfig, data_seed: int, device: torch.device,
    cache: FeatureCache | None, source: FeatureSource,
) -> tuple[dict[str, np.ndarray], dict[str, float], str, bool]:
    inputs = feature_inputs(data, config, data_seed, device, source)
    cached = cache.load(inputs) if cache is not None else None
    if cached is not None:
        return *cached, cache_key(inputs), True
    arrays, accuracy = _extract_all(data, config, data_seed, device, source)
    if cache is not None:
        cache.save(inputs, arrays, accuracy)
    return arrays, accuracy, cache_key(inputs), False


def _feature_set(
    data: CrossModalData, arrays: dict[str, np.ndarray], accuracy: dict[str, float], key: str, from_cache: bool,
    config: ExtractorConfig, device: torch.device, source: FeatureSource,
) -> FeatureSet:
    """The ``FeatureSet`` of a pair whose arrays are named by modality letter (train_a, extractor_b., ...)."""
    features = dataclasses.replace(
        data,
        train=PairedSplit(arrays["train_a"], arrays["train_b"], data.train.y_a, data.train.y_b),
        test=PairedSplit(arrays["test_a"], arrays["test_b"], data.test.y_a, data.test.y_b),
    )
    extractors = {m: _load_extractor(data, m, config, arrays, device) for m in Modality
                  if data.spec(m).needs_extractor and source is FeatureSource.SUPERVISED}
    return FeatureSet(features, accuracy, key, from_cache, extractors, source)


def _load_extractor(
    data: CrossModalData, modality: Modality, config: ExtractorConfig, arrays: dict[str, np.ndarray], device: torch.device
) -> FeatureCNN:
    prefix = f"{EXTRACTOR_PREFIX}{modality.value}."
    state = {name[len(prefix):]: torch.from_numpy(np.array(value)) for name, value in arrays.items() if name.startswith(prefix)}
    spec = data.spec(modality)
    model = FeatureCNN(spec.input_shape[0], len(data.class_names), modality_config(config, spec).channels)
    model.load_state_dict(state)
    return model.to(device).eval().requires_grad_(False)


@dataclass(frozen=True)
class _Slot:
    """One modality to extract: its key in the arrays (a modality letter, or a name for datasets of
    three or more modalities), what it is, and its splits."""

    key: str
    spec: ModalitySpec
    train: tuple[np.ndarray, np.ndarray]  # (x, y)
    test: tuple[np.ndarray, np.ndarray]


def _slots(data: CrossModalData | MultiModalData) -> list[_Slot]:
    if isinstance(data, MultiModalData):
        return [_Slot(name, data.spec(name), (data.train.x[name], data.train.y[name]),
                      (data.test.x[name], data.test.y[name])) for name in data.names]
    return [_Slot(m.value, data.spec(m), (data.train.x(m), data.train.y(m)), (data.test.x(m), data.test.y(m)))
            for m in Modality]


def _extract_all(
    data: CrossModalData | MultiModalData, config: ExtractorConfig, data_seed: int, device: torch.device,
    source: FeatureSource,
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    arrays, accuracy = {}, {}
    for slot in _slots(data):
        spec = slot.spec
        (train_x, train_y), (test_x, test_y) = slot.train, slot.test
        train_key, test_key = f"train_{slot.key}", f"test_{slot.key}"
        if not spec.needs_extractor:
            arrays[train_key] = np.asarray(train_x, dtype=np.float32)
            arrays[test_key] = np.asarray(test_x, dtype=np.float32)
            continue
        # the seed of the supervised extractor, so the default features are unchanged by the option
        seed = derive_seed(data_seed, data.name, data.pairing, "extractor", spec.name)
        if source is FeatureSource.SUPERVISED:
            model = train_extractor(
                train_x, train_y, len(data.class_names), modality_config(config, spec), seed, device, spec.name,
            )
            arrays |= {f"{EXTRACTOR_PREFIX}{slot.key}.{k}": v.cpu().numpy() for k, v in model.state_dict().items()}
            arrays[train_key], _ = extract(model, train_x, device)
            arrays[test_key], predicted = extract(model, test_x, device)
            accuracy[spec.name] = float((predicted == test_y).mean())
            continue
        if source is FeatureSource.UNSUPERVISED:
            encoder = train_autoencoder(train_x, modality_config(config, spec), seed, device, spec.name)
            arrays[train_key], arrays[test_key] = encode(encoder, train_x, device), encode(encoder, test_x, device)
        elif source is FeatureSource.RAW:
            arrays[train_key], arrays[test_key] = flat_pixels(train_x), flat_pixels(test_x)
        else:
            pca = fit_pixel_pca(train_x)
            arrays[train_key], arrays[test_key] = pixel_features(pca, train_x), pixel_features(pca, test_x)
        # labels are read only now, by the probe, after the features are fixed
        accuracy[spec.name] = probe_accuracy(arrays[train_key], train_y, arrays[test_key], test_y,
                                             derive_seed(seed, "linear-probe"))
    return arrays, accuracy
