"""Experiment trackers: every run an invocation finishes (or fails) also logged where a lab keeps its
runs. One tracker so far, MLflow (``pip install "xmbench[mlflow]"``; ``xmbench run --tracker mlflow``).

The results store stays the record: a run is written there first and logged after, so a tracker that
fails mid-sweep loses nothing (one warning line per run it could not log). Before any run, the
tracking URI is tried once, with MLflow's retries off, so an unreachable server is one line at the
start, not a stall after the first hour of training. Runs skipped as finished are not logged again.

Per run (an MLflow run named by the xmbench run id, in the experiment ``xmbench``): tags with the key
(dataset, pairing, method label, version, profile, seed, ...), params (the key and the method's
hyper-parameters), metrics (every score of class and space alike, the timings and the trainable
parameters; the training curve as ``training/<phase>/<metric>`` at each logging interval's update)
and artifacts (``manifest.json``, ``scores.csv``, ``training.csv``). Metric names use words where
MLflow forbids symbols: ``mAP/A to B``, ``mAP/A to A and B``, ``mAP/A translated to B``, and per
class ``mAP/A to B class 3``.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from xmbench.errors import XmbenchError, first_line
from xmbench.results.schema import ALL_CLASSES, RunKey

TRACKERS = ("mlflow",)
EXPERIMENT = "xmbench"
URI_ENV = "MLFLOW_TRACKING_URI"
ARTIFACTS = ("manifest.json", "scores.csv", "training.csv")
BATCH = 500  # metrics per log_batch (MLflow takes at most 1,000)
PARAM_LIMIT = 6000  # characters of a param value MLflow stores
_WORDS = (("<->", " with "), ("=>", " translated to "), ("->", " to "), ("+", " and "))


def open_tracker(name: str | None, out: Path):  # noqa: ANN201 (a tracker or None)
    """The tracker ``name`` (None: none) for an invocation writing to ``out``, checked reachable."""
    if name is None:
        return None
    if name not in TRACKERS:
        raise XmbenchError(f"unknown tracker {name!r}; valid: {', '.join(TRACKERS)}")
    return MlflowTracker.open(out)


def metric_name(metric: str, task: str, space: str = "", label: str = "") -> str:
    """A score's MLflow metric name, ``<metric>/<task>[ space <space>][ class <class>]``: arrows and
    "+" spelt as words, any other character MLflow forbids (and "/" inside a part, which a file
    store would turn into a folder beside a metric of the same name) as "_"."""
    parts = [_clean(metric), _clean(task)]
    suffix = (f" space {_clean(space)}" if space else "") + (f" class {_clean(label)}" if label else "")
    return "/".join(parts) + suffix


def _clean(text: str) -> str:
    for symbol, word in _WORDS:
        text = text.replace(symbol, word)
    return re.sub(r"[^A-Za-z0-9_\-. :]", "_", text)


class MlflowTracker:
    def __init__(self, client: Any, experiment_id: str, uri: str) -> None:
        self.client, self.experiment_id, self.uri = client, experiment_id, uri

    @classmethod
    def open(cls, out: Path) -> MlflowTracker:
        try:
            from mlflow.tracking import MlflowClient
        except ImportError:
            raise XmbenchError('--tracker mlflow needs MLflow: pip install "xmbench[mlflow]"') from None
        uri = os.environ.get(URI_ENV) or (Path(out).resolve() / "mlruns").as_uri()
        if "://" not in uri or uri.startswith("file:"):
            # a local folder, as the issue asks: MLflow 3 keeps file stores (in maintenance) behind this
            # switch; a database backend (sqlite:///..., the full mlflow package) needs nothing
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        try:
            with _no_retries(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # MLflow's own notices (e.g. about the file store) are not ours
                client = MlflowClient(tracking_uri=uri)
                experiment = client.get_experiment_by_name(EXPERIMENT)
                experiment_id = experiment.experiment_id if experiment else client.create_experiment(EXPERIMENT)
        except Exception as error:  # whatever the transport: one line, before anything runs
            raise XmbenchError(f"MLflow tracking URI {uri} is unreachable or not writable ({first_line(error)}); "
                               f"set {URI_ENV} or leave it unset for {Path(out) / 'mlruns'}") from None
        return cls(client, experiment_id, uri)

    def log_run(self, key: RunKey, manifest: dict[str, Any], folder: Path | None) -> None:
        """Log one run from its folder in the store (None: a failed run the store did not write, since
        it keeps an earlier finished one); a failure is one warning line, never an error."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._log(key, manifest, Path(folder) if folder is not None else None)
        except Exception as error:  # noqa: BLE001 (the run is safe in the store whatever the tracker does)
            warnings.warn(f"run {key.run_id} was not logged to MLflow at {self.uri} ({first_line(error)}); "
                          "its results are in the results folder", stacklevel=2)

    def _log(self, key: RunKey, manifest: dict[str, Any], folder: Path | None) -> None:
        ok = manifest.get("status") == "ok"
        tags = {"xmbench.run_id": key.run_id, "xmbench.dataset": key.dataset_label, "xmbench.pairing": key.pairing,
                "xmbench.method": key.method, "xmbench.method_label": key.method_label,
                "xmbench.version": str(key.method_version), "xmbench.profile": key.profile,
                "xmbench.seed": str(key.seed), "xmbench.features": key.features,
                "xmbench.git_commit": str(manifest.get("git_commit")), "xmbench.status": manifest.get("status", "")}
        if not ok:
            tags["xmbench.reason"] = str(manifest.get("reason", ""))[:PARAM_LIMIT]
        run_id = self.client.create_run(self.experiment_id, run_name=key.run_id, tags=tags).info.run_id
        try:
            self._fill(run_id, manifest, folder)
        except Exception:
            with contextlib.suppress(Exception):  # not left "running" in the tracker's UI
                self.client.set_terminated(run_id, status="FAILED")
            raise
        self.client.set_terminated(run_id, status="FINISHED" if ok else "FAILED")

    def _fill(self, run_id: str, manifest: dict[str, Any], folder: Path | None) -> None:
        """Params, metrics and artifacts of one MLflow run."""
        from mlflow.entities import Metric, Param

        now = int(time.time() * 1000)
        params = {f"key.{name}": value for name, value in manifest.get("key", {}).items()}
        params |= {f"method.{name}": value for name, value in manifest.get("method_params", {}).items()}
        params = [Param(name, str(value)[:PARAM_LIMIT]) for name, value in params.items()]
        metrics = [Metric(name, value, now, step) for name, value, step in self._metrics(manifest, folder)]
        for start in range(0, len(params), 100):  # MLflow's limits per batch: 100 params, 1,000 metrics
            self.client.log_batch(run_id, params=params[start:start + 100])
        for start in range(0, len(metrics), BATCH):
            self.client.log_batch(run_id, metrics=metrics[start:start + BATCH])
        for name in ARTIFACTS if folder is not None else ():
            if (folder / name).is_file():
                self.client.log_artifact(run_id, str(folder / name))

    @staticmethod
    def _metrics(manifest: dict[str, Any], folder: Path | None) -> Iterator[tuple[str, float, int]]:
        scores = folder / "scores.csv" if folder is not None else None
        if scores is not None and scores.is_file():
            table = pd.read_csv(scores, keep_default_na=False, dtype={"class": str}).rename(columns={"class": "label"})
            for row in table.itertuples(index=False):
                label = "" if row.label == ALL_CLASSES else row.label
                yield metric_name(row.metric, row.task, row.space, label), float(row.value), 0
        for name, value in manifest.get("timings", {}).items():
            yield metric_name("timings", name), float(value), 0  # timings/fit_s
        if manifest.get("trainable_parameters") is not None:
            yield "trainable_parameters", float(manifest["trainable_parameters"]), 0
        curve = folder / "training.csv" if folder is not None else None
        if curve is not None and curve.is_file():
            table = pd.read_csv(curve)
            phase = table["phase"] if "phase" in table else pd.Series("train", index=table.index)
            for (name, update), value in zip(zip(phase, table["update"]), table.itertuples(index=False), strict=True):
                yield f"training/{_clean(str(name))}/{_clean(value.metric)}", float(value.value), int(update)


@contextlib.contextmanager
def _no_retries() -> Iterator[None]:
    """MLflow retries an unreachable server for minutes by default: once, briefly, for the check."""
    saved = {name: os.environ.get(name) for name in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT")}
    os.environ.update({"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
