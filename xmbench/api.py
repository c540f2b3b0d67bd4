"""Python entry points; the CLI is a thin layer over these."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from xmbench.data import LoadOptions, resolve_dataset
from xmbench.data.base import SplitPlan
from xmbench.data.fraction import check_fraction, check_validation_fraction
from xmbench.devices import resolve_device
from xmbench.errors import XmbenchError, first_line
from xmbench.eval.protocol import needs_recognizers
from xmbench.eval.recognition import Recognizer, fit_recognizers, image_recognizers
from xmbench.eval.retrieval import zero_rows
from xmbench.executors import ExecutionConfig, make_executor
from xmbench.features.cache import FeatureCache, default_cache_dir
from xmbench.features.cnn import ExtractorConfig
from xmbench.features.extract import build_features
from xmbench.methods import METHODS
from xmbench.options import FeatureSource, Modality, Profile, Vary
from xmbench.preflight import distinct, writable_folder
from xmbench.progress import progress
from xmbench.results.schema import ALL_CLASSES, RunKey
from xmbench.results.store import ResultsStore
from xmbench.runner import RunInputs, accuracy_by_modality, build_method
from xmbench.seeding import derive_seed
from xmbench.settings import Settings, as_key, check_settings

DATA_ROOT_ENV = "XMBENCH_DATA_ROOT"


@dataclass(frozen=True)
class RunConfig:
    """One invocation: a dataset and pairing, several methods and seeds, one profile and device."""

    dataset: str | type = "digits-colors"  # a registered name, a user data file (``.npz``, ...) or a Dataset class
    methods: tuple[str | type, ...] = ("cca", "kcca")  # registered names or CrossModalMethod classes
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
    vary: str = "data"  # what a seed re-draws: "data" (split, partners, extractor, method) or "method" only
    keep_self: bool = False
    validation_fraction: float | None = None  # None: the profile's (0.1; paper: 0, every pair trains)
    model_selection: str = "auto"  # "on", "off", or "auto": on unless profile paper (published schedules)
    features: str | None = None  # the feature source (``FeatureSource``); None: the dataset's default
    settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # method -> param -> value (``--set``)
    extractor: ExtractorConfig = field(default_factory=ExtractorConfig)
    execution: ExecutionConfig = field(default_factory=ExecutionConfig)


@dataclass
class RunReport:
    """What an invocation did: finished runs' scores, and which runs were skipped or failed."""

    scores: pd.DataFrame
    modalities: dict[str, str] = field(default_factory=dict)  # "a"/"b" -> the dataset's names
    completed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def resolve_methods(names: Sequence[str | type]) -> tuple[str, ...]:
    """Validate method names ("all" expands to every registered method); a method class given
    directly (a notebook's) is registered under its ``name`` first."""
    if list(names) == ["all"]:
        return tuple(METHODS.names())
    if not names:
        raise XmbenchError("no method given; valid: " + ", ".join(METHODS.names()))
    resolved = []
    for entry in names:
        if isinstance(entry, type):
            METHODS.add(entry.name, entry, origin=entry.__module__.partition(".")[0])
            entry = entry.name
        METHODS.get(entry)
        resolved.append(METHODS.canonical(entry))
    return tuple(dict.fromkeys(resolved))


def alias_notes(names: Sequence[str | type]) -> list[str]:
    """One line per alias among ``names``: what it runs, and why."""
    aliases = METHODS.aliases()
    return [f"{name} is an alias of {aliases[name][0]}: {aliases[name][1]}"
            for name in dict.fromkeys(n for n in names if isinstance(n, str) and n in aliases)]


def resolve_settings(settings: Mapping[str, Mapping[str, Any]], methods: Sequence[str]) -> Settings:
    """``--set`` values checked against the constructors; each must name a method of the run."""
    checked = {METHODS.canonical(method): params for method, params in check_settings(settings).items()}
    stray = sorted(set(checked) - set(methods))
    if stray:
        raise XmbenchError(f"--set names {', '.join(stray)}, which is not among the run's methods "
                           f"({', '.join(methods)})")
    return checked


SELECTION_CHOICES = ("auto", "on", "off")


def resolve_model_selection(choice: str, profile: Profile, validation_fraction: float) -> bool:
    """``auto``: ``Profile.selects_models``; ``on`` needs a validation split."""
    if choice not in SELECTION_CHOICES:
        raise XmbenchError(f"invalid model selection {choice!r}; valid: {', '.join(SELECTION_CHOICES)}")
    if choice == "on" and validation_fraction == 0:
        raise XmbenchError("model selection needs a validation split: --validation-fraction must be above 0")
    if choice == "auto":
        return profile.selects_models(validation_fraction)
    return choice == "on"


def run_benchmark(config: RunConfig, log: Callable[[str], None] = print) -> RunReport:
    """Load the dataset, build frozen features once, then fit, embed and score every
    method x paired fraction x seed."""
    dataset = resolve_dataset(config.dataset)
    pairing = dataset.check_pairing(config.pairing)
    source = dataset.check_features(config.features)
    methods = resolve_methods(config.methods)
    for note in alias_notes(config.methods):
        log(note)
    settings = resolve_settings(config.settings, methods)
    seeds = distinct(config.seeds, "seed", "--seeds")
    fractions = distinct([check_fraction(f) for f in config.paired_fractions], "paired fraction", "--paired-fraction")
    profile = Profile.parse(config.profile)
    validation_fraction = (profile.default_validation_fraction if config.validation_fraction is None
                           else check_validation_fraction(config.validation_fraction))
    selection = resolve_model_selection(config.model_selection, profile, validation_fraction)
    vary = Vary.parse(config.vary)
    device = resolve_device(config.device)
    executor = make_executor(config.execution, config.device)
    data_root = config.data_root or (Path(os.environ[DATA_ROOT_ENV]) if os.environ.get(DATA_ROOT_ENV) else None)
    writable_folder(config.out, "results folder (--out)")  # before anything is loaded or trained
    writable_folder(config.cache_dir or default_cache_dir(), "feature cache (--cache-dir)")
    store = ResultsStore(config.out)
    keys = [
        RunKey(dataset.name, pairing, method, seed, profile.value, config.split_seed, config.keep_self, fraction,
               validation_fraction, selection, vary.value, source.value, as_key(settings.get(method, {})),
               getattr(dataset, "fingerprint", ""))
        for method in methods
        for fraction in fractions
        for seed in seeds
    ]
    for line in dataset.data_warnings:
        log(f"warning: {line}")
    problems = dataset.split_problems(pairing, [SplitPlan(k.data_seed, k.paired_fraction, k.validation_fraction)
                                                for k in keys])
    if problems:  # before anything loads or trains
        raise XmbenchError(f"{dataset.name}: {len(problems)} problem(s) with the splits\n"
                           + "\n".join(f"  - {line}" for line in problems))
    report = RunReport(scores=pd.DataFrame())
    todo = [key for key in keys if config.force or not store.is_complete(key)]
    skipped = [key for key in keys if key not in todo]
    report.skipped = [key.run_id for key in skipped]
    for key in skipped:
        log(f"skip {key.run_id} (finished earlier; --force re-runs it)")
        try:
            changes = changed_params(store.read_manifest(store.run_dir(key)) or {}, build_method(key, str(device)))
        except Exception as error:  # noqa: BLE001 (a plugin that no longer builds: its finished run stays)
            changes = [f"cannot build it now ({type(error).__name__}: {first_line(error)})"]
        if changes:
            log(f"WARNING {key.run_id}: stored with other {key.method} parameters than this version's "
                f"({'; '.join(changes)}); --force re-runs it with the current ones")
    replicates: dict[int, list[RunKey]] = {}  # data seed -> its runs: one dataset load and feature set each
    for key in todo:
        replicates.setdefault(key.data_seed, []).append(key)

    def outcomes():
        for data_seed, group in replicates.items():
            inputs = _prepare(dataset, pairing, source, config, data_root, device, group, data_seed, log)
            yield from executor.map(group, inputs, device)

    if todo:
        with executor.session():
            for outcome in progress(outcomes(), "runs", total=len(todo)):
                outcome.manifest["config"] = run_record(config, outcome.key)
                written = outcome.write_to(store)  # at once: an interrupted invocation keeps every finished run
                run_id = outcome.key.run_id
                if outcome.failure is None:
                    report.completed.append(run_id)
                    log(f"done {run_id}")
                    for warning in outcome.manifest.get("health", {}).get("warnings", []):
                        log(f"WARNING {run_id}: {warning}")
                else:
                    report.failed[run_id] = outcome.failure
                    log(f"FAILED {run_id}: {outcome.failure}"
                        + ("" if written else "; its earlier finished result is kept"))
    finished = [key.run_id for key in keys if store.is_complete(key)]
    if finished:
        table = store.load_scores()
        report.scores = table[table["run_id"].isin(finished)].reset_index(drop=True)
        manifest = store.read_manifest(store.root / "runs" / finished[0]) or {}
        report.modalities = manifest.get("dataset", {}).get("modalities", {})
    return report


def changed_params(manifest: Mapping[str, Any], method: Any) -> list[str]:
    """How ``method``'s parameters differ from those a stored run recorded ("scaling: not recorded
    -> 'modality'"): a default changed by an upgrade keeps the run id, so a skipped run may hold
    numbers of other settings. The device is left out: it is chosen per invocation."""
    stored = manifest.get("method_params", {})
    current = json.loads(json.dumps(method.get_params(), default=str))  # as a manifest stores them
    return [f"{name}: {repr(stored[name]) if name in stored else 'not recorded'} -> {value!r}"
            for name, value in current.items() if name != "device" and stored.get(name, object()) != value]


def run_record(config: RunConfig, key: RunKey) -> dict[str, Any]:
    """The options that reproduce one run (``xmbench run --config`` reads them back from its manifest):
    this run's method, seed and fraction, resolved where a default depended on the dataset. Machine
    paths (results, cache, data root) and the executor stay out; a dataset given as a class is named."""
    record: dict[str, Any] = {
        "dataset": config.dataset if isinstance(config.dataset, str) else key.dataset,
        "pairing": key.pairing, "methods": [key.method], "seeds": [key.seed],
        "paired_fraction": [key.paired_fraction], "profile": key.profile, "features": key.features,
        "device": config.device, "split_seed": key.split_seed, "vary": key.vary, "keep_self": key.keep_self,
        "validation_fraction": key.validation_fraction, "model_selection": "on" if key.model_selection else "off",
    }
    if config.execution.cpus_per_run is not None:  # the thread count changes a trained method's numbers
        record["cpus_per_run"] = config.execution.cpus_per_run
    if key.settings:
        record["set"] = {key.method: {name: list(v) if isinstance(v, tuple) else v for name, v in key.settings}}
    return record


def _prepare(
    dataset: type, pairing: str, source: FeatureSource, config: RunConfig, data_root: Path | None, device: torch.device,
    todo: list[RunKey], data_seed: int, log: Callable[[str], None],
) -> RunInputs:
    """The inputs of one replicate: everything random in them comes from ``data_seed``."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    data = dataset.load(pairing, LoadOptions(data_root, config.allow_download, data_seed))
    timings["load_s"] = time.perf_counter() - started
    started = time.perf_counter()
    cache = FeatureCache(config.cache_dir or default_cache_dir())
    features = build_features(data, config.extractor, data_seed, device, cache, source)
    timings["features_s"] = time.perf_counter() - started
    log(
        f"{source.value} features of {data.name}/{pairing}, data seed {data_seed}: "
        f"{'cache hit' if features.from_cache else 'extracted'} in {timings['features_s']:.1f}s; "
        f"{features.accuracy_metric.replace('_', ' ')} "
        + (", ".join(f"{k}={v:.3f}" for k, v in accuracy_by_modality(features)) or "n/a (given features)")
    )
    _warn_zero_rows(features.data, log)
    inputs = RunInputs(data, features, config.extractor, {}, timings,
                       None if data_root is None else str(Path(data_root).expanduser().resolve()),
                       {key.method: METHODS.get(key.method) for key in todo})
    kinds = {METHODS.get(key.method).input_kind for key in todo if needs_recognizers([METHODS.get(key.method)])}
    started = time.perf_counter()
    if "features" in kinds:
        inputs.recognizers["features"] = fit_recognizers(
            features.data.train, features.data.test, features.data.class_names,
            derive_seed(data_seed, data.name, pairing, "recognizer"),
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


def _warn_zero_rows(data, log: Callable[[str], None]) -> None:
    """One line per modality whose features have all-zero rows: translation into it is not scored."""
    for modality, spec in zip(Modality, data.modalities, strict=True):
        counts = {name: zero_rows(split.x(modality)) for name, split in (("train", data.train), ("test", data.test))}
        if any(counts.values()):
            log(f"WARNING: {counts['train']} train and {counts['test']} test {spec.name} features are all-zero "
                f"(cosine similarity undefined): translation retrieval into {spec.name} is not scored")


def _overall(recognizer: Recognizer) -> float:
    ceiling = recognizer.ceiling
    return float(ceiling.loc[ceiling["class"] == ALL_CLASSES, "value"].iloc[0])
