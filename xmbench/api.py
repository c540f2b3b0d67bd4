"""Python entry points; the CLI is a thin layer over these."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from xmbench.data import CrossModalData, LoadOptions, resolve_dataset
from xmbench.data.base import SplitPlan
from xmbench.data.fraction import check_fraction, check_validation_fraction
from xmbench.data.multimodal import modality_names, parse_route
from xmbench.devices import resolve_device
from xmbench.errors import XmbenchError, first_line
from xmbench.eval.protocol import needs_recognizers
from xmbench.eval.recognition import Recognizer, fit_recognizers, image_recognizers
from xmbench.eval.retrieval import zero_rows
from xmbench.estimate import estimate, longest_first
from xmbench.executors import ExecutionConfig, make_executor
from xmbench.features.cache import FeatureCache, default_cache_dir
from xmbench.features.cnn import ExtractorConfig
from xmbench.features.extract import EXTRACTOR_METRIC, FeatureSet, build_features, build_modal_features
from xmbench.features.probe import PROBE_METRIC
from xmbench.methods import METHODS
from xmbench.tracking import open_tracker
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
    # datasets of three or more modalities: the pair to train on ("speech,mnist"; default its first two),
    # or a cascade's route ("speech,fashion,mnist": run beside the direct route of its two ends)
    modalities: str | Sequence[str] | None = None
    cascade: str | Sequence[str] | None = None
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
    tracker: str | None = None  # also log each run to an experiment tracker ("mlflow"; ``xmbench.tracking``)


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
        version = METHODS.get(entry).version
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise XmbenchError(f"method {entry!r} declares version {version!r}; a version is a whole number >= 1")
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
    routes = resolve_routes(dataset, config.modalities, config.cascade, methods, log)
    writable_folder(config.out, "results folder (--out)")  # before anything is loaded or trained
    writable_folder(config.cache_dir or default_cache_dir(), "feature cache (--cache-dir)")
    store = ResultsStore(config.out)
    tracker = open_tracker(config.tracker, config.out)  # an unreachable tracker is one line before any run
    keys = [
        RunKey(dataset.name, pairing, method, seed, profile.value, config.split_seed, config.keep_self, fraction,
               validation_fraction, selection, vary.value, source.value, as_key(settings.get(method, {})),
               getattr(dataset, "fingerprint", ""), route, METHODS.get(method).version)
        for method in methods
        for route in routes
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

    def replicate(data_seed: int) -> Replicate:
        return Replicate(dataset, pairing, source, config, data_root, device, data_seed, log)

    def inputs(replicates: dict[int, list[RunKey]], first: Replicate):
        """(runs, their inputs) per replicate and route, built when the executor asks for them."""
        for data_seed, group in replicates.items():
            data = first if data_seed == first.data_seed else replicate(data_seed)
            for route in dict.fromkeys(key.modalities for key in group):  # one RunInputs per pair or cascade
                runs = [key for key in group if key.modalities == route]
                yield runs, data.inputs(runs)

    if todo:
        with executor.session(len(todo), device):
            if executor.running_jobs > 1:
                if executor.name == "local":
                    log(f"{len(todo)} runs, {executor.running_jobs} at a time in worker processes of "
                        f"{executor.threads_per_run} thread(s) each (--jobs 1 runs them one by one in this process)")
                todo = longest_first(todo)  # no long run left to start alone at the end; changes no number
            replicates: dict[int, list[RunKey]] = {}  # data seed -> its runs: one dataset load and feature set each
            for key in todo:
                replicates.setdefault(key.data_seed, []).append(key)
            first = replicate(todo[0].data_seed)
            first.data()  # a bad data file is its one error line, not a line after the estimate
            log(estimate(todo, executor.running_jobs).line())  # before the features and any run
            outcomes = executor.map_replicates(inputs(replicates, first), device)
            for outcome in progress(outcomes, "runs", total=len(todo)):
                outcome.manifest["config"] = run_record(config, outcome.key, executor.threads_per_run)
                written = outcome.write_to(store)  # at once: an interrupted invocation keeps every finished run
                run_id = outcome.key.run_id
                if tracker is not None:  # after the store: a tracker's failure is a warning, never a lost run
                    tracker.log_run(outcome.key, outcome.manifest, store.run_dir(outcome.key) if written else None)
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
        manifest = store.read_run_manifest(finished[0]) or {}
        report.modalities = manifest.get("dataset", {}).get("modalities", {})
    return report


def resolve_routes(dataset: type, modalities: str | Sequence[str] | None, cascade: str | Sequence[str] | None,
                   methods: Sequence[str], log: Callable[[str], None]) -> list[str]:
    """The ``RunKey.modalities`` of an invocation's runs: [""] for a two-modality dataset; for one of three
    or more, the pair ``--modalities`` names (default: its first two), or a cascade's route and the
    direct route of its ends. Every method of a cascade must translate features."""
    if modalities is not None and cascade is not None:
        raise XmbenchError("--modalities and --cascade exclude each other: a cascade also runs the direct route "
                           "between its two ends")
    if cascade is not None:
        route = parse_route(cascade, dataset, "--cascade")
        unable = [m for m in methods if not METHODS.get(m).can_translate or METHODS.get(m).input_kind != "features"]
        if unable:
            able = [m for m in METHODS.names() if METHODS.get(m).can_translate and METHODS.get(m).input_kind == "features"]
            raise XmbenchError(f"--cascade composes translations of features: {', '.join(unable)} cannot translate "
                               f"features; methods that can: {', '.join(able)}")
        return [",".join(route), f"{route[0]},{route[-1]}"]
    if modalities is not None:
        return [",".join(parse_route(modalities, dataset, "--modalities", 2))]
    names = modality_names(dataset)
    if names:
        log(f"modalities {names[0]},{names[1]} of {dataset.name}'s {', '.join(names)} (--modalities picks another pair)")
        return [f"{names[0]},{names[1]}"]
    return [""]


def changed_params(manifest: Mapping[str, Any], method: Any) -> list[str]:
    """How ``method``'s parameters differ from those a stored run recorded ("scaling: not recorded
    -> 'modality'"): a default changed by an upgrade keeps the run id, so a skipped run may hold
    numbers of other settings. The device is left out: it is chosen per invocation."""
    stored = manifest.get("method_params", {})
    current = json.loads(json.dumps(method.get_params(), default=str))  # as a manifest stores them
    return [f"{name}: {repr(stored[name]) if name in stored else 'not recorded'} -> {value!r}"
            for name, value in current.items() if name != "device" and stored.get(name, object()) != value]


def run_record(config: RunConfig, key: RunKey, threads: int | None = None) -> dict[str, Any]:
    """The options that reproduce one run (``xmbench run --config`` reads them back from its manifest):
    this run's method, seed and fraction, resolved where a default depended on the dataset. Machine
    paths (results, cache, data root) and the executor stay out, but not its thread pinning
    (``threads``); a dataset given as a class is named."""
    record: dict[str, Any] = {
        "dataset": config.dataset if isinstance(config.dataset, str) else key.dataset,
        "pairing": key.pairing, "methods": [key.method], "seeds": [key.seed],
        "paired_fraction": [key.paired_fraction], "profile": key.profile, "features": key.features,
        "device": config.device, "split_seed": key.split_seed, "vary": key.vary, "keep_self": key.keep_self,
        "validation_fraction": key.validation_fraction, "model_selection": "on" if key.model_selection else "off",
    }
    if key.route:  # a dataset of three or more modalities: the pair, or the cascade's route
        record["cascade" if len(key.route) > 2 else "modalities"] = key.modalities
    if threads is not None:  # the thread count changes a trained method's numbers
        record["cpus_per_run"] = threads
    if key.settings:
        record["set"] = {key.method: {name: list(v) if isinstance(v, tuple) else v for name, v in key.settings}}
    return record


class Replicate:
    """The data of one replicate, loaded and featurised once (lazily, when a run needs them), and the
    ``RunInputs`` of each pair or cascade its runs train on: everything random in them comes from
    ``data_seed``. A dataset of three or more modalities is loaded whole, one extractor per modality,
    and each pair is a view of it (``ModalFeatures.pair``)."""

    def __init__(self, dataset: type, pairing: str, source: FeatureSource, config: RunConfig, data_root: Path | None,
                 device: torch.device, data_seed: int, log: Callable[[str], None]) -> None:
        self.dataset, self.pairing, self.source, self.config = dataset, pairing, source, config
        self.data_root, self.device, self.data_seed, self.log = data_root, device, data_seed, log
        self.timings: dict[str, float] = {}
        self._data: Any = None
        self._loaded: tuple[Any, Any] | None = None

    def data(self) -> Any:
        """The raw data (a CrossModalData, or a MultiModalData), loaded once: where a bad data file fails."""
        if self._data is None:
            started = time.perf_counter()
            options = LoadOptions(self.data_root, self.config.allow_download, self.data_seed)
            load = self.dataset.load_all if modality_names(self.dataset) else self.dataset.load
            self._data = load(self.pairing, options)
            self.timings["load_s"] = time.perf_counter() - started
        return self._data

    def _load(self) -> tuple[Any, Any]:
        """(raw data, features): a CrossModalData and FeatureSet, or a MultiModalData and ModalFeatures."""
        if self._loaded is not None:
            return self._loaded
        config, data_seed = self.config, self.data_seed
        data = self.data()
        multi = modality_names(self.dataset)
        started = time.perf_counter()
        cache = FeatureCache(config.cache_dir or default_cache_dir())
        build = build_modal_features if multi else build_features
        features = build(data, config.extractor, data_seed, self.device, cache, self.source)
        self.timings["features_s"] = time.perf_counter() - started
        accuracy = (features.accuracy if multi else dict(accuracy_by_modality(features)))
        metric = PROBE_METRIC if self.source is not FeatureSource.SUPERVISED else EXTRACTOR_METRIC
        self.log(
            f"{self.source.value} features of {data.name}/{self.pairing}, data seed {data_seed}: "
            f"{'cache hit' if features.from_cache else 'extracted'} in {self.timings['features_s']:.1f}s; "
            f"{metric.replace('_', ' ')} " + (", ".join(f"{k}={v:.3f}" for k, v in accuracy.items()) or "n/a (given features)")
        )
        self._loaded = data, features
        return self._loaded

    def _pair(self, route: str) -> tuple[CrossModalData, FeatureSet]:
        data, features = self._load()
        if not route:
            return data, features
        first, second = route.split(",")
        return data.pair(first, second), features.pair(first, second, self.device)

    def inputs(self, todo: list[RunKey], route: str | None = None, recognizers: bool = True) -> RunInputs:
        """The inputs of ``todo``'s runs (all of one route: ``RunKey.modalities``); a cascade's carries
        one ``RunInputs`` per link, and its own are the route's two ends."""
        route = todo[0].modalities if route is None else route
        names = route.split(",") if route else []
        if len(names) > 2:
            links = tuple(self.inputs(todo, f"{names[i]},{names[i + 1]}", recognizers=False)
                          for i in range(len(names) - 1))
            return dataclasses.replace(self.inputs(todo, f"{names[0]},{names[-1]}"), links=links)
        data, features = self._pair(route)
        _warn_zero_rows(features.data, self.log)
        timings = dict(self.timings)
        inputs = RunInputs(data, features, self.config.extractor, {}, timings,
                           None if self.data_root is None else str(Path(self.data_root).expanduser().resolve()),
                           {key.method: METHODS.get(key.method) for key in todo})
        if not recognizers:
            return inputs
        kinds = {METHODS.get(key.method).input_kind for key in todo if needs_recognizers([METHODS.get(key.method)])}
        started = time.perf_counter()
        if "features" in kinds:
            inputs.recognizers["features"] = fit_recognizers(
                features.data.train, features.data.test, features.data.class_names,
                derive_seed(self.data_seed, data.name, self.pairing, "recognizer"),
            )
        if "images" in kinds:
            try:
                inputs.recognizers["images"] = image_recognizers(features.extractors, data.test, data.class_names,
                                                                 self.device)
            except XmbenchError as error:  # the image methods' runs fail with this reason; the others go on
                self.log(f"no image recognizers: {error}")
        timings["recognizers_s"] = time.perf_counter() - started
        for kind, fitted in inputs.recognizers.items():
            self.log(f"recognition classifiers of {kind}{f' ({route})' if route else ''}, test accuracy (the ceiling): "
                     + ", ".join(f"{spec.name}={_overall(r):.3f}"
                                 for spec, r in zip(data.modalities, fitted.values(), strict=True)))
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
