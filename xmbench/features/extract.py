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
from xmbench.features.cache import FeatureCache, cache_key
from xmbench.features.autoencoder import train_autoencoder
from xmbench.features.cnn import ExtractorConfig, FeatureCNN, encode, extract, train_extractor
from xmbench.features.pixels import NEGLIGIBLE_VARIANCE, PIXEL_COMPONENTS, fit_pixel_pca, pixel_features
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
    data: CrossModalData, config: ExtractorConfig, data_seed: int, device: torch.device,
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
        "extractor": dataclasses.asdict(config) if source is not FeatureSource.PIXELS else {
            "pca": PIXEL_COMPONENTS, "negligible_variance": NEGLIGIBLE_VARIANCE},
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
    inputs = feature_inputs(data, config, data_seed, device, source)
    cached = cache.load(inputs) if cache is not None else None
    if cached is not None:
        arrays, accuracy = cached
        from_cache = True
    else:
        arrays, accuracy = _extract_all(data, config, data_seed, device, source)
        from_cache = False
        if cache is not None:
            cache.save(inputs, arrays, accuracy)
    features = dataclasses.replace(
        data,
        train=PairedSplit(arrays["train_a"], arrays["train_b"], data.train.y_a, data.train.y_b),
        test=PairedSplit(arrays["test_a"], arrays["test_b"], data.test.y_a, data.test.y_b),
    )
    extractors = {m: _load_extractor(data, m, config, arrays, device) for m in Modality
                  if data.spec(m).needs_extractor and source is FeatureSource.SUPERVISED}
    return FeatureSet(features, accuracy, cache_key(inputs), from_cache, extractors, source)


def _load_extractor(
    data: CrossModalData, modality: Modality, config: ExtractorConfig, arrays: dict[str, np.ndarray], device: torch.device
) -> FeatureCNN:
    prefix = f"{EXTRACTOR_PREFIX}{modality.value}."
    state = {name[len(prefix):]: torch.from_numpy(np.array(value)) for name, value in arrays.items() if name.startswith(prefix)}
    spec = data.spec(modality)
    model = FeatureCNN(spec.input_shape[0], len(data.class_names), modality_config(config, spec).channels)
    model.load_state_dict(state)
    return model.to(device).eval().requires_grad_(False)


def _extract_all(
    data: CrossModalData, config: ExtractorConfig, data_seed: int, device: torch.device, source: FeatureSource
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    arrays, accuracy = {}, {}
    for modality in Modality:
        spec = data.spec(modality)
        train_x, test_x = data.train.x(modality), data.test.x(modality)
        train_key, test_key = f"train_{modality.value}", f"test_{modality.value}"
        if not spec.needs_extractor:
            arrays[train_key] = np.asarray(train_x, dtype=np.float32)
            arrays[test_key] = np.asarray(test_x, dtype=np.float32)
            continue
        # the seed of the supervised extractor, so the default features are unchanged by the option
        seed = derive_seed(data_seed, data.name, data.pairing, "extractor", spec.name)
        if source is FeatureSource.SUPERVISED:
            model = train_extractor(
                train_x, data.train.y(modality), len(data.class_names), modality_config(config, spec), seed, device,
                spec.name,
            )
            arrays |= {f"{EXTRACTOR_PREFIX}{modality.value}.{k}": v.cpu().numpy() for k, v in model.state_dict().items()}
            arrays[train_key], _ = extract(model, train_x, device)
            arrays[test_key], predicted = extract(model, test_x, device)
            accuracy[spec.name] = float((predicted == data.test.y(modality)).mean())
            continue
        if source is FeatureSource.UNSUPERVISED:
            encoder = train_autoencoder(train_x, modality_config(config, spec), seed, device, spec.name)
            arrays[train_key], arrays[test_key] = encode(encoder, train_x, device), encode(encoder, test_x, device)
        else:
            pca = fit_pixel_pca(train_x)
            arrays[train_key], arrays[test_key] = pixel_features(pca, train_x), pixel_features(pca, test_x)
        # labels are read only now, by the probe, after the features are fixed
        accuracy[spec.name] = probe_accuracy(arrays[train_key], data.train.y(modality), arrays[test_key],
                                             data.test.y(modality), derive_seed(seed, "linear-probe"))
    return arrays, accuracy
