"""Python entry points; the CLI is a thin layer over these."""

from __future__ import annotations

import os
import platform
import subprocess
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sklearn
import torch

import xmbench
from xmbench.data import DATASETS, CrossModalData, LoadOptions
from xmbench.devices import describe_device, resolve_device
from xmbench.errors import XmbenchError
from xmbench.data.fraction import check_fraction, withhold_pairing
from xmbench.eval.protocol import needs_recognizers, score_method
from xmbench.eval.recognition import Recognizer, fit_recognizers, image_recognizers
from xmbench.features.cache import FeatureCache, default_cache_dir
from xmbench.features.cnn import ExtractorConfig
from xmbench.features.extract import FeatureSet, build_features
from xmbench.methods import METHODS
from xmbench.options import Modality, Profile
from xmbench.progress import progress
from xmbench.results.schema import ALL_CLASSES, MANIFEST_VERSION, RunKey
from xmbench.results.store import ResultsStore
from xmbench.seeding import derive_seed

DATA_ROOT_ENV = "XMBENCH_DATA_ROOT"


@dataclass(frozen=True)
class RunConfig:
    """One invocation: a dataset and pairing, several methods and seeds, one profile and device."""

    dataset: str = "digits-colors"
    methods: tuple[str, ...] = ("cca", "kcca")
    pairing: str | None = None
    seeds: tuple[int, ...] = (0,)
    paired_fractions: tuple[float, ...] = (1.0,)
    profile: str = "smoke"
    device: str = "auto"
    data_root: Path | None = None
    out: Path = Path("results")
    cache_dir: Path | None = None
    force: bool = False
    allow_download: bool = False
    split_seed: int = 0
    keep_self: bool = False
    extractor: ExtractorConfig = field(default_factory=ExtractorConfig)


@dataclass
class RunReport:
    """What an invocation did: finished runs' scores, and which runs were skipped or failed."""

    scores: pd.DataFrame
    modalities: dict[str, str] = field(default_factory=dict)  # "a"/"b" -> the dataset's names
    completed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


SYNCHRONOUS_PAIRS = 1000  # pairs the synchronous rate is measured on (SyncGAN, Sec. 3.4)


@dataclass
class RunInputs:
    """What every run of an invocation shares: the loaded data, its frozen features and, when a
    method generates samples, the recognition classifiers (per input kind); with stage times."""

    raw: CrossModalData
    features: FeatureSet
    recognizers: dict[str, dict[Modality, Recognizer]]
    timings: dict[str, float]

    def data_for(self, method: Any) -> CrossModalData:
        """Raw images for ``input_kind = "images"`` methods, frozen features for the rest."""
        return self.raw if method.input_kind == "images" else self.features.data


def resolve_methods(names: Sequence[str]) -> tuple[str, ...]:
    """Validate method names ("all" expands to every registered method)."""
    if list(names) == ["all"]:
        return tuple(METHODS.names())
    for name in names:
        METHODS.get(name)
    if not names:
        raise XmbenchError("no method given; valid: " + ", ".join(METHODS.names()))
    return tuple(dict.fromkeys(names))


def run_benchmark(config: RunConfig, log: Callable[[str], None] = print) -> RunReport:
    """Load the dataset, build frozen features once, then fit, embed and score every
    method x paired fraction x seed."""
    dataset = DATASETS.get(config.dataset)
    pairing = dataset.check_pairing(config.pairing)
    methods = resolve_methods(config.methods)
    fractions = tuple(dict.fromkeys(check_fraction(f) for f in config.paired_fractions))
    profile = Profile.parse(config.profile)
    device = resolve_device(config.device)
    data_root = config.data_root or (Path(os.environ[DATA_ROOT_ENV]) if os.environ.get(DATA_ROOT_ENV) else None)
    store = ResultsStore(config.out)
    keys = [
        RunKey(dataset.name, pairing, method, seed, profile.value, config.split_seed, config.keep_self, fraction)
        for method in methods
        for fraction in fractions
        for seed in config.seeds
    ]
    report = RunReport(scores=pd.DataFrame())
    todo = [key for key in keys if config.force or not store.is_complete(key)]
    report.skipped = [key.run_id for key in keys if key not in todo]
    for run_id in report.skipped:
        log(f"skip {run_id} (finished earlier; --force re-runs it)")
    if todo:
        inputs = _prepare(dataset, pairing, config, data_root, device, todo, log)
        for key in progress(todo, "runs"):
            outcome = _run_one(key, inputs, config, device, store)
            if outcome is None:
                report.completed.append(key.run_id)
                log(f"done {key.run_id}")
            else:
                report.failed[key.run_id] = outcome
                log(f"FAILED {key.run_id}: {outcome}")
    finished = [key.run_id for key in keys if store.is_complete(key)]
    if finished:
        table = store.load_scores()
        report.scores = table[table["run_id"].isin(finished)].reset_index(drop=True)
        manifest = store.read_manifest(store.root / "runs" / finished[0]) or {}
        report.modalities = manifest.get("dataset", {}).get("modalities", {})
    return report


def _prepare(
    dataset: type, pairing: str, config: RunConfig, data_root: Path | None, device: torch.device,
    todo: list[RunKey], log: Callable[[str], None],
) -> RunInputs:
    timings: dict[str, float] = {}
    started = time.perf_counter()
    data = dataset.load(pairing, LoadOptions(data_root, config.allow_download, config.split_seed))
    timings["load_s"] = time.perf_counter() - started
    started = time.perf_counter()
    cache = FeatureCache(config.cache_dir or default_cache_dir())
    features = build_features(data, config.extractor, config.split_seed, device, cache)
    timings["features_s"] = time.perf_counter() - started
    log(
        f"features of {data.name}/{pairing}: {'cache hit' if features.from_cache else 'extracted'} "
        f"in {timings['features_s']:.1f}s; extractor test accuracy "
        + (", ".join(f"{k}={v:.3f}" for k, v in _accuracy_by_modality(features)) or "n/a (given features)")
    )
    inputs = RunInputs(data, features, {}, timings)
    kinds = {METHODS.get(key.method).input_kind for key in todo if needs_recognizers([METHODS.get(key.method)])}
    started = time.perf_counter()
    if "features" in kinds:
        inputs.recognizers["features"] = fit_recognizers(
            features.data.train, features.data.test, features.data.class_names,
            derive_seed(config.split_seed, data.name, pairing, "recognizer"),
        )
    if "images" in kinds:
        try:
            inputs.recognizers["images"] = image_recognizers(features.extractors, data.test, data.class_names, device)
        except XmbenchError as error:  # the image methods' runs fail with this reason; the others go on
            log(f"no image recognizers: {error}")
    timings["recognizers_s"] = time.perf_counter() - started
    for kind, recognizers in inputs.recognizers.items():
        log(f"recognition classifiers of {kind}, test accuracy (the ceiling): " + ", ".join(
            f"{spec.name}={_overall(r):.3f}" for spec, r in zip(data.modalities, recognizers.values(), strict=True)
        ))
    return inputs


def _overall(recognizer: Recognizer) -> float:
    ceiling = recognizer.ceiling
    return float(ceiling.loc[ceiling["class"] == ALL_CLASSES, "value"].iloc[0])


def _run_one(key: RunKey, inputs: RunInputs, config: RunConfig, device: torch.device, store: ResultsStore) -> str | None:
    """Fit, embed, score and store one run; returns None on success or the failure reason."""
    features = inputs.features
    method_seed = derive_seed(key.seed, key.dataset, key.pairing, key.method)
    method = METHODS.get(key.method).from_profile(key.profile, seed=method_seed, device=str(device))
    data = inputs.data_for(method)
    timings = dict(inputs.timings)
    manifest = _manifest(key, config, features, device, method)
    try:
        recognizers = inputs.recognizers.get(method.input_kind)
        if method.input_kind == "images" and recognizers is None:
            raise XmbenchError(f"{key.method} needs raw images of both modalities; {key.dataset} has no image extractor for both")
        synchronous = (SYNCHRONOUS_PAIRS, derive_seed(method_seed, "synchronous-rate"))
        if method.can_generate_pairs:
            manifest["synchronous_rate"] = {"pairs": synchronous[0], "seed": synchronous[1]}
        # the subset's seed leaves out the method: every method of a seed trains on the same pairs
        subset_seed = derive_seed(key.seed, key.split_seed, key.dataset, key.pairing, "paired-subset", key.paired_fraction)
        split = withhold_pairing(data.train, key.paired_fraction, subset_seed)
        manifest["training_data"] = {
            "paired_fraction": key.paired_fraction,
            "n_paired": len(split.paired),
            "n_unpaired": 0 if split.unpaired is None else len(split.unpaired.a),
            "unpaired_used": bool(split.unpaired is not None and method.uses_unpaired),
            "paired_subset_sha256": split.fingerprint,
        }
        started = time.perf_counter()
        method.fit(split.paired, split.unpaired)
        timings["fit_s"] = time.perf_counter() - started
        started = time.perf_counter()
        scored, embeddings = score_method(
            method, data.test, data.class_names, recognizers, keep_self=key.keep_self, synchronous_pairs=synchronous
        )
        timings["evaluate_s"] = time.perf_counter() - started
    except XmbenchError as error:
        manifest |= {"status": "failed", "reason": str(error), "timings": timings}
        store.write_run(key, None, _training_table(method), manifest)
        return str(error)
    except Exception as error:  # a bug in one method must not lose the other runs' results
        manifest |= {"status": "failed", "reason": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()}
        store.write_run(key, None, _training_table(method), manifest)
        return f"{type(error).__name__}: {error}"
    rows = [scored[["task", "class", "metric", "value"]]]
    extras = [("features", name, "extractor_test_accuracy", acc) for name, acc in _accuracy_by_modality(features)]
    extras += [("model", ALL_CLASSES, name, value) for name, value in method.extra_results().items()]
    if extras:
        rows.append(pd.DataFrame(extras, columns=["task", "class", "metric", "value"]))
    scores = pd.concat(rows, ignore_index=True)
    for column, value in zip(
        ("run_id", "dataset", "pairing", "method", "seed", "profile", "paired_fraction"),
        (key.run_id, key.dataset, key.pairing, key.method, key.seed, key.profile, key.paired_fraction),
        strict=True,
    ):
        scores[column] = value
    manifest |= {"status": "ok", "timings": timings}
    store.write_embeddings(key, embeddings, data.test.y_a, data.test.y_b)  # before the manifest marks it finished
    store.write_run(key, scores, _training_table(method), manifest)
    return None


def _accuracy_by_modality(features: FeatureSet) -> list[tuple[str, float]]:
    """Extractor test accuracies in modality order (A, then B); given features have none."""
    names = [spec.name for spec in features.data.modalities]
    return [(name, features.extractor_accuracy[name]) for name in names if name in features.extractor_accuracy]


def _training_table(method: Any) -> pd.DataFrame:
    """Per-epoch training records in long form: epoch, metric, value."""
    log = method.training_log()
    if not log:
        return pd.DataFrame()
    wide = pd.DataFrame(log)
    long = wide.melt(id_vars="epoch", var_name="metric", value_name="value")
    return long.dropna(subset=["value"]).reset_index(drop=True)  # metrics logged in some epochs only (phases)


def _manifest(key: RunKey, config: RunConfig, features: FeatureSet, device: torch.device, method: Any) -> dict:
    data = features.data
    return {
        "manifest_version": MANIFEST_VERSION,
        "run_id": key.run_id,
        "key": asdict(key),
        "method_params": method.get_params(),
        "dataset": {
            "name": data.name,
            "pairing": data.pairing,
            "modalities": {"a": data.modalities[0].name, "b": data.modalities[1].name},
            "classes": list(data.class_names),
            "n_train": len(data.train),
            "n_test": len(data.test),
            "provenance": data.provenance,
        },
        "features": {
            "cache_key": features.cache_key,
            "from_cache": features.from_cache,
            "extractor": asdict(config.extractor),
            "extractor_channels": {spec.name: spec.extractor_channels for spec in data.modalities if spec.extractor_channels},
            "extractor_test_accuracy": features.extractor_accuracy,
            "dims": {"a": int(data.train.a.shape[1]), "b": int(data.train.b.shape[1])},
        },
        "device": describe_device(device),
        "versions": {
            "xmbench": xmbench.__version__,
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
            "pandas": pd.__version__,
        },
        "git_commit": _git_commit(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None

