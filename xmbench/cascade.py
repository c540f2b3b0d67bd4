"""Cascaded association (the VAE-associator paper's Table 4): one model per link of a route through a
third modality, trained on that link's own pairs, translations composed, and scored where the route
ends beside the same method trained directly on the two ends.

A cascade run's key is the method's direct key with ``modalities`` the whole route
("speech,fashion,mnist"); each link is fit exactly as a direct run of its pair would be (same data
seed, method seed, validation split and model selection), so link i's model is the model
``--modalities route[i],route[i+1]`` trains. The test split is the route's ends, whose rows are the
same tuples as every link's; it is scored by what applies to a translator: recognition accuracy (the
target's recognizer judging the composed translation) and translation retrieval. A cascade has no
common embedding, so no embedding retrieval rows. Its training rows (task ``training``) come from every
link's phases, named by link in the manifest and ``training.csv``: ``converged`` is 1 only when every
link converged; ``updates``, ``selected_update`` and ``best_validation_map`` are the last link's.
"""

from __future__ import annotations

import dataclasses
import time
import traceback
from typing import Any

import numpy as np
import pandas as pd
import torch

from xmbench.errors import XmbenchError
from xmbench.eval.protocol import translation_scores
from xmbench.eval.recognition import recognition_accuracy
from xmbench.methods.gan.health import gan_health
from xmbench.methods.training import not_trained_warnings, training_facts
from xmbench.options import Modality
from xmbench.results.schema import ALL_CLASSES, RunKey
from xmbench.runner import RunInputs, RunOutcome, run_manifest, training_table, accuracy_by_modality, build_method, \
    fit_method, keyed_scores


class ComposedTranslator:
    """The links' translations in turn: A -> B through each link forwards, B -> A backwards. Only what
    scoring a translator reads (``recognition_accuracy``, ``translation_scores``)."""

    can_translate = True
    can_reconstruct = False
    input_kind = "features"

    def __init__(self, links: list[Any]) -> None:
        self.links = links

    def translate(self, source: Modality | str, X: np.ndarray) -> np.ndarray:
        source = Modality.parse(source)
        for link in self.links if source is Modality.A else reversed(self.links):
            X = link.translate(source, X)
        return X


def link_keys(key: RunKey) -> list[RunKey]:
    """The direct key of each link of ``key``'s route, in order."""
    route = key.route
    return [dataclasses.replace(key, modalities=f"{route[i]},{route[i + 1]}") for i in range(len(route) - 1)]


def run_cascade(key: RunKey, inputs: RunInputs, device: torch.device, execution: dict[str, Any] | None) -> RunOutcome:
    """Fit each link on its pair (``inputs.links``), compose, score on the route's ends (``inputs``)."""
    cls = inputs.methods.get(key.method)
    keys = link_keys(key)
    if len(inputs.links) != len(keys):
        raise XmbenchError(f"cascade {key.modalities}: {len(inputs.links)} link inputs for {len(keys)} links")
    methods = [build_method(link, str(device), cls) for link in keys]
    timings = dict(inputs.timings)
    manifest = run_manifest(key, inputs, device, methods[0]) | {"execution": execution or {}}
    trained: list[tuple[str, Any]] = []  # (link name, fitted method): their training curves, even on failure
    try:
        if not methods[0].can_translate or methods[0].input_kind != "features":
            raise XmbenchError(f"{key.method} cannot take part in a cascade: it does not translate features")
        links, summaries = [], []
        for link_key, method, link_inputs in zip(keys, methods, inputs.links, strict=True):
            trained.append((link_key.modalities, method))
            fitted = fit_method(method, link_key, link_inputs, device)
            links.append({"modalities": list(link_key.route), **fitted.manifest, "timings": fitted.timings,
                          "model": method.extra_results(), "health": link_health(link_key, method, fitted.summaries)})
            summaries += [dataclasses.replace(s, phase=f"{link_key.modalities}:{s.phase}") for s in fitted.summaries]
            for name, value in fitted.timings.items():
                timings[name] = timings.get(name, 0.0) + value
        manifest["cascade"] = {"route": list(key.route), "links": links}
        manifest["trainable_parameters"] = sum(link["trainable_parameters"] for link in links)
        manifest["training"] = {"model_selection": key.model_selection, "phases": [s.as_dict() for s in summaries]}
        started = time.perf_counter()
        translator = ComposedTranslator([method for _, method in trained])
        test, names = inputs.features.data.test, inputs.features.data.class_names
        scored = pd.concat([recognition_accuracy(translator, test, inputs.recognizers["features"], names),
                            translation_scores(translator, test, names).drop(columns="space")], ignore_index=True)
        timings["evaluate_s"] = time.perf_counter() - started
    except XmbenchError as error:
        manifest |= {"status": "failed", "reason": str(error), "timings": timings}
        return RunOutcome(key, manifest, _link_tables(trained))
    except Exception as error:  # a bug in one method must not lose the other runs' results
        manifest |= {"status": "failed", "reason": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()}
        return RunOutcome(key, manifest, _link_tables(trained))
    warnings = [line for link in links for line in link["health"]["warnings"]]
    if warnings:
        manifest["health"] = {"not_trained": any(link["health"].get("not_trained") for link in links),
                              "warnings": warnings}
    extras = [("features", name, inputs.features.accuracy_metric, acc) for name, acc in accuracy_by_modality(inputs.features)]
    extras += [("training", ALL_CLASSES, name, value) for name, value in training_facts(summaries).items()]
    rows = [scored[["task", "class", "metric", "value"]], pd.DataFrame(extras, columns=["task", "class", "metric", "value"])]
    scores = keyed_scores(key, pd.concat(rows, ignore_index=True).assign(space=""))
    manifest |= {"status": "ok", "timings": timings}
    return RunOutcome(key, manifest, _link_tables(trained), scores)


def link_health(key: RunKey, method: Any, summaries: list) -> dict[str, Any]:
    """A link's health as a direct run's (inert discriminators, untrained phases), warnings naming the link."""
    health = gan_health(f"{key.method} ({key.modalities} link)", method.training_log(), method.extra_results())
    untrained = not_trained_warnings(f"{key.method} ({key.modalities} link)", summaries)
    if untrained:
        health |= {"not_trained": True, "warnings": [*untrained, *health["warnings"]]}
    return health


def _link_tables(trained: list[tuple[str, Any]]) -> pd.DataFrame:
    """The links' training curves in one table, each phase named by its link ("speech,fashion:train")."""
    tables = []
    for name, method in trained:
        table = training_table(method)
        if table.empty:
            continue
        phase = table["phase"].astype(str) if "phase" in table else pd.Series("", index=table.index)
        tables.append(table.assign(phase=f"{name}:" + phase))
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
