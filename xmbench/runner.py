"""One run: fit a method on the shared inputs, embed and score the test split, describe it.

``run_one`` returns a ``RunOutcome`` and touches no file, so any executor (this process, a Ray
worker on another machine) can compute it; only the process that owns the results store writes it.
"""

from __future__ import annotations

import inspect
import platform
import subprocess
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sklearn
import torch

import xmbench
from xmbench.data import CrossModalData, PairedSplit
from xmbench.data.fraction import fingerprint, training_pairs
from xmbench.devices import describe_device
from xmbench.errors import XmbenchError, first_line
from xmbench.eval.protocol import score_method, validation_scorer
from xmbench.eval.recognition import Recognizer
from xmbench.features.cnn import ExtractorConfig
from xmbench.features.extract import FeatureSet, image_featurizer
from xmbench.methods import METHODS
from xmbench.methods.base import Validation
from xmbench.methods.gan.health import gan_health
from xmbench.methods.training import not_trained_warnings, training_facts
from xmbench.options import Modality
from xmbench.results.schema import ALL_CLASSES, MANIFEST_VERSION, RunKey
from xmbench.results.store import ResultsStore
from xmbench.seeding import derive_seed

SYNCHRONOUS_PAIRS = 1000  # pairs the synchronous rate is measured on (SyncGAN, Sec. 3.4)


@dataclass
class RunInputs:
    """What every run of an invocation shares: the loaded data, its frozen features (and the
    extractor settings that made them) and, when a method generates samples, the recognition
    classifiers (per input kind); with stage times."""

    raw: CrossModalData
    features: FeatureSet
    extractor: ExtractorConfig
    recognizers: dict[str, dict[Modality, Recognizer]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    data_root: str | None = None  # resolved; in the manifest only (a copy elsewhere is the same data)
    # the method classes of the invocation by name: a worker that lacks a notebook's or plugin's
    # registration still gets the class (Ray pickles it with the inputs)
    methods: dict[str, type] = field(default_factory=dict)
    # a cascade's links, in route order: each the inputs of one pair (speech,fashion; fashion,mnist);
    # this object's own data are then the route's two ends, where the cascade is scored
    links: tuple[RunInputs, ...] = ()

    def data_for(self, method: Any) -> CrossModalData:
        """Raw images for ``input_kind = "images"`` methods, frozen features for the rest."""
        return self.raw if method.input_kind == "images" else self.features.data


def build_method(key: RunKey, device: str, cls: type | None = None) -> Any:
    """The unfitted method of one run, as its key says: profile, ``--set`` values, method seed and
    model selection (for methods that take it). ``cls``: the class when it is not registered here."""
    cls = cls or METHODS.get(key.method)
    selection = {"model_selection": key.model_selection} if "model_selection" in inspect.signature(cls).parameters else {}
    return cls.from_profile(key.profile, **dict(key.settings), seed=key.method_seed, device=device, **selection)


@dataclass
class RunOutcome:
    """Everything a finished (or failed) run leaves in the results store."""

    key: RunKey
    manifest: dict[str, Any]
    training: pd.DataFrame = field(default_factory=pd.DataFrame)
    scores: pd.DataFrame | None = None
    embeddings: dict[str, np.ndarray] | None = None
    test_labels: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def failure(self) -> str | None:
        """None for a finished run, else the reason it failed."""
        return None if self.manifest.get("status") == "ok" else str(self.manifest.get("reason"))

    @classmethod
    def failed(cls, key: RunKey, reason: str, **details: Any) -> RunOutcome:
        """A run that died outside the method (its worker crashed, the scheduler gave up)."""
        manifest = {"manifest_version": MANIFEST_VERSION, "run_id": key.run_id, "key": asdict(key)}
        return cls(key, manifest | details | {"status": "failed", "reason": reason})

    def write_to(self, store: ResultsStore) -> bool:
        """Store the run; False when it failed and an earlier finished result was kept instead."""
        stored = None if self.embeddings is None or self.test_labels is None else (self.embeddings, *self.test_labels)
        return store.write_run(self.key, self.scores, self.training, self.manifest, stored)


def run_one(key: RunKey, inputs: RunInputs, device: torch.device, execution: dict[str, Any] | None = None) -> RunOutcome:
    """Fit, embed and score one run; a method's failure becomes a failed outcome, never an exception:
    wherever a method breaks (a plugin's constructor, ``get_params``, ``fit``, its facts), that run
    fails alone and the others go on. ``execution`` (which executor, node, threads) goes into the
    manifest as it is."""
    try:
        return _run_one(key, inputs, device, execution)
    except Exception as error:  # noqa: BLE001 (outside fit: the method's construction or its facts)
        return RunOutcome.failed(key, f"{type(error).__name__}: {first_line(error)}", traceback=traceback.format_exc())


def _run_one(key: RunKey, inputs: RunInputs, device: torch.device, execution: dict[str, Any] | None) -> RunOutcome:
    """``run_one``'s work; exceptions of ``fit`` and the scoring become a failed outcome here (with the
    training curve so far), any other escapes to ``run_one``.

    The method trains on the training pairs minus a validation split carved from them (from the
    pairs that keep their pairing under ``--paired-fraction``); model selection scores it on that
    split only. The test split is embedded and scored once, after ``fit`` has returned. A key whose
    route passes through a third modality is a cascade (``xmbench.cascade``)."""
    if len(key.route) > 2:
        from xmbench.cascade import run_cascade  # the cascade builds on this module

        return run_cascade(key, inputs, device, execution)
    method = build_method(key, str(device), inputs.methods.get(key.method))
    data = inputs.data_for(method)
    timings = dict(inputs.timings)
    manifest = run_manifest(key, inputs, device, method) | {"execution": execution or {}}
    try:
        recognizers = inputs.recognizers.get(method.input_kind)
        if method.input_kind == "images" and recognizers is None:
            if key.features not in ("supervised", "given"):  # given: the data has no images to judge
                raise XmbenchError(f"{key.method} judges its images with the supervised extractors: it needs "
                                   f"--features supervised, not {key.features}")
            raise XmbenchError(f"{key.method} needs raw images of both modalities; {key.dataset} has no image extractor for both")
        synchronous = (SYNCHRONOUS_PAIRS, derive_seed(key.method_seed, "synchronous-rate"))
        if method.can_generate_pairs:
            manifest["synchronous_rate"] = {"pairs": synchronous[0], "seed": synchronous[1]}
        fitted = fit_method(method, key, inputs, device)
        manifest |= fitted.manifest
        timings |= fitted.timings
        summaries = fitted.summaries
        started = time.perf_counter()
        scored, embeddings, spaces = score_method(
            method, data.test, data.class_names, recognizers, keep_self=key.keep_self, synchronous_pairs=synchronous,
            validation=fitted.validation, featurize=fitted.featurize,
        )
        if spaces:  # one latent space per modality: the space of each task's headline row, and why
            manifest["retrieval_spaces"] = {"rule": "validation mAP" if fitted.validation is not None else "Task.space",
                                            "chosen": spaces}
        timings["evaluate_s"] = time.perf_counter() - started
    except XmbenchError as error:
        manifest |= {"status": "failed", "reason": str(error), "timings": timings}
        return RunOutcome(key, manifest, training_table(method))
    except Exception as error:  # a bug in one method must not lose the other runs' results
        manifest |= {"status": "failed", "reason": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()}
        return RunOutcome(key, manifest, training_table(method))
    rows = [scored[["task", "space", "class", "metric", "value"]]]
    features = inputs.features
    extras = [("features", name, features.accuracy_metric, acc) for name, acc in accuracy_by_modality(features)]
    model_facts = method.extra_results()
    extras += [("model", ALL_CLASSES, name, value) for name, value in model_facts.items()]
    health = gan_health(key.method, method.training_log(), model_facts)
    untrained = not_trained_warnings(key.method, summaries)
    if untrained:
        health |= {"not_trained": True, "warnings": [*untrained, *health["warnings"]]}
    if health["inert_discriminators"] or health["recovery_explained_variance"] or untrained:
        manifest["health"] = health  # read by the run output and the report: an inert GAN says so
    extras += [("training", ALL_CLASSES, name, value) for name, value in training_facts(summaries).items()]
    if extras:
        rows.append(pd.DataFrame(extras, columns=["task", "class", "metric", "value"]).assign(space=""))
    scores = keyed_scores(key, pd.concat(rows, ignore_index=True))
    manifest |= {"status": "ok", "timings": timings}
    return RunOutcome(key, manifest, training_table(method), scores, embeddings, (data.test.y_a, data.test.y_b))


def keyed_scores(key: RunKey, scores: pd.DataFrame) -> pd.DataFrame:
    """A run's score rows with the columns that say which run they are; two rows under one key fail
    the run, since the store would keep one of them silently."""
    for column, value in zip(
        ("run_id", "dataset", "pairing", "method", "seed", "vary", "profile", "paired_fraction", "features"),
        (key.run_id, key.dataset_label, key.pairing, key.method_label, key.seed, key.vary, key.profile, key.paired_fraction,
         key.features),
        strict=True,
    ):
        scores[column] = value
    repeated = scores.duplicated(["task", "space", "class", "metric"])
    if repeated.any():
        task, space, name, metric = scores.loc[repeated, ["task", "space", "class", "metric"]].iloc[0]
        raise XmbenchError(f"{key.method}: two scores share the key ({task}, {space or '-'}, {name}, {metric})")
    return scores


@dataclass
class FittedMethod:
    """What fitting a method on a replicate's training pairs leaves for its scoring and its manifest."""

    validation: PairedSplit | None
    featurize: Any
    summaries: list
    manifest: dict[str, Any]  # training_data and training entries
    timings: dict[str, float]


def fit_method(method: Any, key: RunKey, inputs: RunInputs, device: torch.device) -> FittedMethod:
    """Fit ``method`` on the training pairs of ``inputs`` as ``key`` says (paired fraction, validation
    split, model selection): the training step of every run, direct or a cascade's link."""
    data = inputs.data_for(method)
    # the subset and the validation split are data: drawn from the data seed, never the method's,
    # so every method of a replicate trains and selects on the same pairs
    split, held = training_pairs(data.train, key.data_seed, key.dataset, key.pairing, key.paired_fraction,
                                 key.validation_fraction)
    training_data = {
        "paired_fraction": key.paired_fraction,
        "n_paired": len(held.train),
        "n_unpaired": 0 if split.unpaired is None else len(split.unpaired.a),
        "unpaired_used": bool(split.unpaired is not None and method.uses_unpaired),
        "paired_subset_sha256": split.fingerprint,
        "validation": {
            "fraction": key.validation_fraction,
            "n_pairs": 0 if held.validation is None else len(held.validation),
            "pairs_sha256": fingerprint(split.paired_index[held.index]),  # rows of the training split
        },
    }
    # methods on raw images translate into images: the frozen extractors map them to features
    featurize = image_featurizer(inputs.features.extractors, device) if method.input_kind == "images" else None
    validation = None if held.validation is None else Validation(held.validation, validation_scorer(
        held.validation, data.class_names, keep_self=key.keep_self, featurize=featurize))
    started = time.perf_counter()
    method.fit(held.train, split.unpaired, validation)
    timings = {"fit_s": time.perf_counter() - started}
    summaries = method.training_summary()
    timings["validation_s"] = sum(summary.validation_s for summary in summaries)
    training = {"model_selection": key.model_selection, "phases": [summary.as_dict() for summary in summaries]}
    facts = {"training_data": training_data, "training": training,
             "trainable_parameters": method.trainable_parameters()}  # the report's cost columns
    return FittedMethod(held.validation, featurize, summaries, facts, timings)


def accuracy_by_modality(features: FeatureSet) -> list[tuple[str, float]]:
    """Extractor test accuracies in modality order (A, then B); given features have none."""
    names = [spec.name for spec in features.data.modalities]
    return [(name, features.extractor_accuracy[name]) for name in names if name in features.extractor_accuracy]


def training_table(method: Any) -> pd.DataFrame:
    """The training curve in long form: phase, update, epoch, metric, value (losses per interval and
    validation scores)."""
    log = method.training_log()
    if not log:
        return pd.DataFrame()
    wide = pd.DataFrame(log)
    ids = [column for column in ("phase", "update", "epoch") if column in wide]
    long = wide.melt(id_vars=ids, var_name="metric", value_name="value")
    return long.dropna(subset=["value"]).reset_index(drop=True)  # metrics logged in some records only


def run_manifest(key: RunKey, inputs: RunInputs, device: torch.device, method: Any) -> dict:
    features = inputs.features
    data = features.data
    return {
        "manifest_version": MANIFEST_VERSION,
        "run_id": key.run_id,
        "key": asdict(key),
        "seeds": {"replicate": key.seed, "vary": key.vary, "data": key.data_seed, "method": key.method_seed},
        "method_params": method.get_params(),
        "settings": dict(key.settings),  # --set values (in method_params too): why the run id says _set
        "dataset": {
            "name": data.name,
            "pairing": data.pairing,
            "modalities": {"a": data.modalities[0].name, "b": data.modalities[1].name},
            "classes": list(data.class_names),
            "n_train": len(data.train),
            "n_test": len(data.test),
            "provenance": data.provenance,
            "sha256": inputs.raw.sha256,  # the loaded data's bytes (the feature cache key covers them)
            "data_root": inputs.data_root,
        },
        "features": {
            "source": features.source.value,
            "cache_key": features.cache_key,
            "sha256": features.sha256,
            "from_cache": features.from_cache,
            "extractor": asdict(inputs.extractor),
            "extractor_channels": {spec.name: spec.extractor_channels for spec in data.modalities if spec.extractor_channels},
            features.accuracy_metric: features.extractor_accuracy,
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
