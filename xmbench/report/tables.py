"""Tables built only from the long results table."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from xmbench.data import DATASETS
from xmbench.eval.correlation import METRIC as CORRELATION
from xmbench.eval.recognition import CEILING, IMAGE_CEILING, RECOGNITION
from xmbench.eval.retrieval import Task, TranslationTask
from xmbench.eval.synchrony import SYNCHRONOUS_RATE
from xmbench.features.extract import EXTRACTOR_METRIC
from xmbench.features.probe import PROBE_METRIC
from xmbench.options import FeatureSource, Profile
from xmbench.report import claims, cost, paper, ranking, stats
from xmbench.results.schema import ALL_CLASSES, dataset_name, headline, with_legacy_columns

GROUP = ["dataset", "pairing", "profile"]
METHOD = ["paired_fraction", "method"]


def filter_scores(
    scores: pd.DataFrame,
    datasets: Sequence[str] = (),
    pairings: Sequence[str] = (),
    methods: Sequence[str] = (),
    profiles: Sequence[str] = (),
    varies: Sequence[str] = (),
) -> pd.DataFrame:
    mask = pd.Series(True, index=scores.index)
    for column, wanted in (("dataset", datasets), ("pairing", pairings), ("method", methods), ("profile", profiles),
                           ("vary", varies)):
        if wanted:
            names = scores[column].str.partition("@")[0] if column == "dataset" else scores[column]
            mask &= scores[column].isin(wanted) | names.isin(wanted)  # a user dataset by name or name@fingerprint
    return scores[mask]


def overall_map(scores: pd.DataFrame) -> pd.DataFrame:
    """(dataset, pairing, profile, paired fraction, method) x task headline mAP, mean over seeds, with
    the average over the four standard tasks, then the translation-based tasks."""
    rows = headline(scores)
    rows = rows[(rows["metric"] == "mAP") & (rows["class"] == ALL_CLASSES)]
    table = rows.pivot_table(index=[*GROUP, *METHOD], columns="task", values="value", aggfunc="mean")
    standard = [task for task in RETRIEVAL_TASKS if task in table]
    table["average"] = table[standard].mean(axis=1)
    return table[[*standard, "average", *[task for task in TRANSLATION_TASKS if task in table]]]


def per_class_map(scores: pd.DataFrame) -> pd.DataFrame:
    """(dataset, pairing, profile, task, paired fraction, method) x class headline mAP, mean over seeds."""
    rows = headline(scores)
    rows = rows[(rows["metric"] == "mAP") & (rows["class"] != ALL_CLASSES)]
    return rows.pivot_table(
        index=[*GROUP, "task", *METHOD], columns="class", values="value", aggfunc="mean", sort=False
    )


def recognition_accuracy(scores: pd.DataFrame) -> pd.DataFrame:
    """(dataset, pairing, profile, paired fraction, method) x generation direction: the accuracy of
    the target modality's classifier on generated samples, mean over seeds. A->B is cross-modal,
    A->A an intra-modal reconstruction."""
    rows = scores[(scores["metric"] == RECOGNITION) & (scores["class"] == ALL_CLASSES)]
    return rows.pivot_table(index=[*GROUP, *METHOD], columns="task", values="value", aggfunc="mean")


def per_class_recognition(scores: pd.DataFrame) -> pd.DataFrame:
    """(dataset, pairing, profile, direction, paired fraction, method) x class recognition accuracy."""
    rows = scores[(scores["metric"] == RECOGNITION) & (scores["class"] != ALL_CLASSES)]
    return rows.pivot_table(
        index=[*GROUP, "task", *METHOD], columns="class", values="value", aggfunc="mean", sort=False
    )


def synchronous_rate(scores: pd.DataFrame) -> pd.DataFrame:
    """(dataset, pairing, profile, paired fraction, method) x task: how often pairs generated from
    the same noise are classified alike, mean over seeds."""
    rows = scores[(scores["metric"] == SYNCHRONOUS_RATE) & (scores["class"] == ALL_CLASSES)]
    return rows.pivot_table(index=[*GROUP, *METHOD], columns="task", values="value", aggfunc="mean")


def recognition_ceiling(scores: pd.DataFrame) -> pd.DataFrame:
    """Each modality's classifier on its own real test features: what generated samples can reach."""
    rows = scores[scores["metric"].isin([CEILING, IMAGE_CEILING]) & (scores["class"] == ALL_CLASSES)]
    return rows.pivot_table(index=[*GROUP, "metric"], columns="task", values="value", aggfunc="mean")


def extractor_accuracy(scores: pd.DataFrame) -> pd.DataFrame:
    """(dataset, pairing, profile, feature source, metric) x modality: the supervised extractor's own
    test accuracy, or a linear probe's for features trained without labels."""
    rows = scores[scores["metric"].isin([EXTRACTOR_METRIC, PROBE_METRIC])]
    return rows.pivot_table(index=[*GROUP, "features", "metric"], columns="class", values="value", aggfunc="mean")


def canonical_correlation(scores: pd.DataFrame) -> pd.DataFrame:
    """(dataset, pairing, profile, paired fraction, method) x task ("A<->B, k=..."): the total
    canonical correlation of the test embeddings (``eval.correlation``), mean over seeds."""
    rows = headline(scores)
    rows = rows[rows["metric"] == CORRELATION]
    return rows.pivot_table(index=[*GROUP, *METHOD], columns="task", values="value", aggfunc="mean")


def training_facts(scores: pd.DataFrame) -> pd.DataFrame:
    """(dataset, pairing, profile, paired fraction, method) x training fact (updates, selected update,
    best validation mAP, converged: the fraction of runs), mean over seeds."""
    rows = scores[scores["task"] == "training"]
    return rows.pivot_table(index=[*GROUP, *METHOD], columns="metric", values="value", aggfunc="mean")


def model_facts(scores: pd.DataFrame) -> pd.DataFrame:
    rows = scores[scores["task"] == "model"]
    return rows.pivot_table(index=[*GROUP, *METHOD], columns="metric", values="value", aggfunc="mean")


# --- report tables: mean ± 95% CI over seeds, best marked, paired tests (see stats.py) -------------

SETTING = ["dataset", "profile", "paired_fraction", "vary", "features"]
METHOD_ONLY_NOTE = ("--vary method: every seed used the same data (split, partners, extractor); the intervals, sd "
                    "and tests show only the methods' own noise (init, batch order), not the data's.")
RETRIEVAL_TASKS = tuple(task.value for task in Task)
TRANSLATION_TASKS = tuple(task.value for task in TranslationTask)
DIRECTIONS = ("A->B", "B->A", "A->A", "B->B")
PAIRING_ORDER = ("unique", "non-unique")  # the thesis's Case 1 before Case 2; others alphabetically
OWN_TABLES = {"mAP", RECOGNITION, CEILING, EXTRACTOR_METRIC, PROBE_METRIC}
FACT_TASKS = {"model", "features", "training"}  # rows describing a model, extractor or training, not scores
TRAINING = "training"
UNCONVERGED_MARK = "‡"
LOWER_IS_BETTER: set[str] = set()  # every metric so far is higher-is-better
CEILING_ROW = "ceiling (classifier, real test features)"


@dataclass
class ReportTable:
    """One table of the report.

    ``display``: formatted cells ("0.912 ± 0.004", with " † (Δ -0.021 ± 0.009)" appended when another
    method of the column is significantly better after Holm's correction over the table's pairs,
    "(n=4)" when a cell's seed count differs from the table's usual one); ``best``: bool frame of
    display's shape, True on every method no other method beats significantly (``stats``'
    tied_best) -- each output format renders it (``marked``: bold in markdown, \\textbf in LaTeX);
    ``numeric``: the same rows, columns (display column..., stat) with stats mean, sd, ci, n, best,
    worse, p_holm (adjusted over the table), p_vs_best (raw), n_common, diff, diff_low, diff_high
    (the difference to the column's best and its 95% CI), tied_best;
    ``notes``: the CI, the test, the marking convention and anything left untested;
    ``spread``: for compared tables, display's shape with the standard deviation over seeds and n
    of each cell ("0.004 (n=3)"), shown under the table in the HTML page."""

    name: str
    title: str
    display: pd.DataFrame
    best: pd.DataFrame
    numeric: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    spread: pd.DataFrame | None = None
    row_marks: dict[str, str] = field(default_factory=dict)  # method -> "§ ..." (claims.py), a CSV column

    def marked(self, before: str = "**", after: str = "**") -> pd.DataFrame:
        return self.display.where(~self.best, before + self.display.astype(str) + after)


def build_tables(scores: pd.DataFrame, per_class_all_fractions: bool = False) -> list[ReportTable]:
    """The report: overall mAP, per-class mAP (pairings side by side; one table per task), recognition
    accuracy with its ceiling, one table per other metric (e.g. synchronous rate), and paper vs
    xmbench. One table per (dataset, profile, paired fraction): means never mix profiles or
    fractions. Per-class tables only for the largest paired fraction of each dataset and profile
    unless ``per_class_all_fractions`` (a fraction sweep would multiply them)."""
    scores = with_legacy_columns(scores)
    spaces = scores[scores["space"] != ""] if "space" in scores else scores.iloc[:0]
    scores = headline(scores)
    is_all = scores["class"] == ALL_CLASSES
    is_map = scores["metric"] == "mAP"
    mAP = scores[is_map & is_all & scores["task"].isin(RETRIEVAL_TASKS)]
    unconverged = _unconverged_runs(scores)
    out = []
    for setting, rows in _settings(mAP):
        out.append(_mark_claims(_mark_unconverged(_overall(rows, setting), rows, unconverged), "retrieval"))
        if cost.has_costs(rows):
            out.append(_cost(rows, setting))  # the overall table beside it carries the ‡ marks
    out += [_mark_claims(_spaces(rows, setting), "retrieval")
            for setting, rows in _settings(spaces[spaces["class"] == ALL_CLASSES])]
    translated = scores[is_map & is_all & scores["task"].isin(TRANSLATION_TASKS)]
    out += [_mark_claims(_mark_unconverged(_translation(rows, setting), rows, unconverged), "translation")
            for setting, rows in _settings(translated)]
    out += [_training(rows, setting) for setting, rows in _settings(scores[scores["task"] == TRAINING])]
    per_class = scores[is_map & ~is_all & scores["task"].isin(RETRIEVAL_TASKS)]
    if not per_class_all_fractions:
        largest = per_class.groupby(["dataset", "profile"])["paired_fraction"].transform("max")
        per_class = per_class[per_class["paired_fraction"] == largest]
    for setting, rows in _settings(per_class):
        out += [_mark_claims(_per_class(part, setting, task), "retrieval")
                for task, part in _in_order(rows, "task", RETRIEVAL_TASKS)]
    ceilings = scores[(scores["metric"] == CEILING) & is_all]
    recognition = scores[(scores["metric"] == RECOGNITION) & is_all]
    out += [_mark_claims(_recognition(rows, setting, ceilings), "translation") for setting, rows in _settings(recognition)]
    other = scores[is_all & ~scores["metric"].isin(OWN_TABLES) & ~scores["task"].isin(FACT_TASKS)]
    for setting, rows in _settings(other):
        for metric, part in _in_order(rows, "metric", ()):
            title = f"{metric.replace('_', ' ').capitalize()} (method x task)"
            table = _table(part, ["task"], _slug(metric, setting), _title(title, setting, part),
                           higher_is_better=metric not in LOWER_IS_BETTER)
            out.append(_mark_claims(table, "synchrony") if metric == SYNCHRONOUS_RATE else table)
    out += [_mark_claims(ranking_table(r), "retrieval") for r in ranking.rankings(scores)]
    comparison = paper.paper_comparison(scores)
    if not comparison.empty:
        out.append(_paper_table(comparison))
    return _with_caveats(out, scores["dataset"].unique())


def _with_caveats(tables: list[ReportTable], datasets) -> list[ReportTable]:  # noqa: ANN001
    """Every table built on a dataset with a caveat (``Dataset.caveat``) says it in a note."""
    names = {label: dataset_name(label) for label in datasets}  # "mnist-fashion-speech[speech,mnist]": its dataset
    caveats = {label: DATASETS.get(name).caveat for label, name in names.items()
               if name in DATASETS and DATASETS.get(name).caveat}
    for table in tables:
        text = " ".join([table.title, *map(str, table.display.index), *map(str, table.display.columns)])
        table.notes.extend(f"{name}: {caveat}." for name, caveat in caveats.items() if name in text)
    return tables


def ranking_table(result: ranking.Ranking) -> ReportTable:
    """Methods by average rank across blocks, each block's mean average mAP with the method's rank in
    it; † and bold from Nemenyi's post-hoc test when the omnibus test rejects (see ``ranking``)."""
    methods = list(result.average_rank.index)
    worse = result.worse()
    display = pd.DataFrame(index=pd.Index(methods, name="method"))
    display["average rank"] = [f"{result.average_rank[m]:.2f}" + (" †" if worse[m] else "") for m in methods]
    for block in result.scores.index:
        display[ranking.block_name(block)] = [f"{result.scores.loc[block, m]:.3f} ({result.ranks.loc[block, m]:g})"
                                              for m in methods]
    best = pd.DataFrame(False, index=display.index, columns=display.columns)
    best["average rank"] = ~worse.reindex(methods).to_numpy() & (result.posthoc is not None)
    best.loc[result.average_rank == result.average_rank.min(), "average rank"] = True  # ties share the top
    numeric = pd.concat([result.scores.T.add_prefix("mAP "), result.ranks.T.add_prefix("rank ")], axis=1)
    numeric.columns = [" ".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in numeric.columns]
    numeric.insert(0, "average_rank", result.average_rank)
    numeric["worse"] = worse
    if result.posthoc is not None:
        numeric = numeric.join(result.posthoc.add_prefix("nemenyi_p vs "))
    numeric = numeric.loc[methods]
    k, n = len(methods), len(result.scores)
    verdict = "rejects" if result.p < stats.ALPHA else "does not reject"
    notes = [f"blocks: (dataset, pairing, feature source) at paired fraction 1, {n} blocks from {result.datasets} "
             f"dataset(s); a block's score is the mAP averaged over the four retrieval tasks per run, then over its "
             f"replicates; rank 1 = best, ties share the mean rank; {k} methods.",
             f"{result.test}: statistic {result.statistic:.3f}, p = {result.p:.3g} ({verdict} 'all methods rank "
             f"alike' at alpha {stats.ALPHA:g}). Nemenyi critical difference at alpha {stats.ALPHA:g}: "
             f"{result.cd:.2f} ranks (q = {ranking.nemenyi_q(k):.3f})."]
    if result.posthoc is not None:
        notes.append("†: ranked significantly below another method (Nemenyi's all-pairs test, scikit-posthocs); "
                     "bold: every method no other method ranks significantly above.")
    else:
        notes.append("no post-hoc test: the omnibus test did not reject (or two methods); bold: the best average rank.")
    if result.datasets < n:
        notes.append("blocks of one dataset share its data and are not independent: read the test as indicative.")
    notes += [f"left out: {why}." for why in result.left_out]
    title = f"Ranking across datasets (average rank; block: mean mAP (rank)) -- profile {result.profile}"
    title += ", method seeds only" if result.vary == "method" else ""
    caveat = Profile.parse(result.profile).caveat if result.profile in {p.value for p in Profile} else ""
    title += f" ({caveat})" if caveat else ""
    name = f"ranking_across_datasets_{result.profile}" + ("_vary-method" if result.vary == "method" else "")
    return ReportTable(name, title, display, best, numeric, notes)


def _overall(rows: pd.DataFrame, setting: tuple) -> ReportTable:
    per_seed = _per_seed(rows, ["method", "pairing", "task"])
    # the average is taken per seed first, over seeds that have every task of this setting
    tasks = per_seed["task"].nunique()
    average = per_seed.groupby(["method", "pairing", "seed"], as_index=False)["value"].agg(["mean", "count"])
    average = average[average["count"] == tasks].rename(columns={"mean": "value"}).assign(task="average")
    values = pd.concat([per_seed, average.drop(columns="count")], ignore_index=True)
    title = _title("Overall mAP (method x task; average over the tasks per seed)", setting, rows)
    table = _table(values, ["task"], _slug("overall_map", setting), title, order=(*RETRIEVAL_TASKS, "average"))
    table.notes += _shared_seed_note(rows) + _vary_note(rows)
    return table


def _mark_claims(table: ReportTable, claim: str) -> ReportTable:
    """§ after every cell of a method whose paper makes no claim for this table's score, a note
    naming the tables that carry its claims, and the mark in the CSV (``claims``)."""
    methods = [m for m in table.display.index if m != CEILING_ROW]
    marked = claims.unclaimed(methods, claim)
    if not marked:
        return table
    for method in marked:
        table.display.loc[method] = table.display.loc[method].map(lambda cell: f"{cell} {claims.MARK}")
        table.row_marks[method] = f"{claims.MARK} no paper claim for {claim}"
    table.notes.append(claims.note(marked, claim))
    return table


def _vary_note(rows: pd.DataFrame) -> list[str]:
    return [METHOD_ONLY_NOTE] if "vary" in rows and (rows["vary"] == "method").any() else []


def _spaces(rows: pd.DataFrame, setting: tuple) -> ReportTable:
    """Methods with one latent space per modality: every task's mAP in each space (compared within a
    column only: the headline of the overall table takes, per task and run, the space chosen on the
    validation split)."""
    rows = rows.assign(space_task=rows["space"] + ": " + rows["task"])
    order = tuple(f"{space}: {task}" for space in ("A", "B") for task in RETRIEVAL_TASKS)
    title = _title("mAP in each latent space (methods with one latent space per modality; space: task)", setting, rows)
    table = _table(rows, ["space_task"], _slug("map_by_space", setting), title, order=order)
    table.notes.insert(0, "A: the latent space of modality A, B: of modality B. The overall table's headline takes, "
                       "for each task, the space with the higher validation mAP (chosen per run, never on the test "
                       "split; the run's manifest names it under retrieval_spaces).")
    return table


def _translation(rows: pd.DataFrame, setting: tuple) -> ReportTable:
    """Translation-based retrieval: queries translated into the other modality's features, ranked
    against its real test features (methods that translate)."""
    title = _title("Translation-based retrieval mAP (method x task; A=>B: A translated, ranked among real B)",
                   setting, rows)
    table = _table(rows, ["task"], _slug("translation_map", setting), title, order=TRANSLATION_TASKS)
    table.notes.insert(0, "A=>B: each test item of A translated by the method into B's frozen features, ranked "
                       "against the real B test features by cosine similarity (same AP code as every task).")
    return table


def _unconverged_runs(scores: pd.DataFrame) -> set[str]:
    """Run ids whose training ran out of budget while validation mAP was still improving."""
    rows = scores[(scores["task"] == TRAINING) & (scores["metric"] == "converged")]
    return set(rows.loc[rows["value"] == 0, "run_id"])


def _mark_unconverged(table: ReportTable, rows: pd.DataFrame, unconverged: set[str]) -> ReportTable:
    """Append ‡ to every cell of a method (and pairing) that has a run that did not converge."""
    marked = rows[rows["run_id"].isin(unconverged)]
    if marked.empty:
        return table
    counts = rows.groupby(["method", "pairing"])["run_id"].nunique()
    flagged = marked.groupby(["method", "pairing"])["run_id"].nunique()
    several = isinstance(table.display.columns, pd.MultiIndex)
    for (method, pairing), k in flagged.items():
        columns = [c for c in table.display.columns if not several or c[0] == pairing]
        table.display.loc[method, columns] = table.display.loc[method, columns].map(lambda cell: f"{cell} {UNCONVERGED_MARK}")
    table.notes.append(f"{UNCONVERGED_MARK}: some of the method's runs did not converge (the budget ran out while "
                       "validation mAP was still improving, or model selection kept the untrained initial state): " + ", ".join(
                           f"{m}{'' if not several else f' ({p})'} {k} of {counts[(m, p)]}" for (m, p), k in flagged.items())
                       + "; the number describes the budget as much as the method.")
    return table


def _training(rows: pd.DataFrame, setting: tuple) -> ReportTable:
    """Per method (and pairing): updates done, the update kept, the best validation mAP (mean ± CI
    over runs) and how many runs converged. A fact table: nothing is ranked or tested."""
    stats_of = {"updates": "updates", "epochs": "epochs", "selected_update": "selected update",
                "best_validation_map": "best validation mAP"}
    cells, numbers = {}, {}
    for (method, pairing), part in rows.groupby(["method", "pairing"], sort=True):
        row = {}
        for metric, label in stats_of.items():
            mean, ci, n = stats.mean_ci(part.loc[part["metric"] == metric, "value"])
            # counts are whole; epochs are not (0.43 of a pass is not 0), nor is an mAP
            digits = 3 if metric == "best_validation_map" else 2 if metric == "epochs" and abs(mean) < 10 else 0
            row[label] = stats.format_cell(mean, ci, n, digits=digits, usual=n)
            numbers[(method, pairing, metric)] = mean
        verdicts = part.loc[part["metric"] == "converged", "value"]
        row["converged"] = f"{int(verdicts.sum())} of {len(verdicts)}" if len(verdicts) else "–"
        untrained = int((part.loc[part["metric"] == "trained", "value"] == 0).sum())
        row["not trained"] = f"{untrained} of {len(verdicts)}" if len(verdicts) else "–"
        cells[(method, pairing) if rows["pairing"].nunique() > 1 else method] = row
    display = pd.DataFrame.from_dict(cells, orient="index")
    display.index.name = "method"
    numeric = pd.Series(numbers, name="mean").rename_axis(["method", "pairing", "metric"]).unstack("metric")
    title = _title("Training (method: updates, the update kept, best validation mAP, converged runs)", setting, rows)
    notes = ["updates: optimiser updates of the whole run (all phases; an update is one step of every network the "
             "phase trains, CM-GANs: one iteration of Algorithm 1); selected update: the state scored (model "
             "selection keeps the best validation state; without it, the last); converged: runs whose validation "
             "curve had flattened (no improvement of more than min_delta = 0.002 mAP over the last `patience` "
             "evaluations) with a kept state other than the initial one; not trained: runs whose model selection kept "
             "the initial, untrained state (never converged).",
             "mean ± 95% CI half-width over runs."]
    return ReportTable(_slug("training", setting), title, display,
                       pd.DataFrame(False, index=display.index, columns=display.columns), numeric, notes)


def _cost(rows: pd.DataFrame, setting: tuple) -> ReportTable:
    """Per method (and pairing): the average mAP beside what fitting cost (``report.cost``); bold: the
    Pareto front. A fact table: nothing is tested."""
    points = cost.cost_points(rows)
    points = points.sort_values(["method", "pairing"], key=lambda c: c.map(_pairing_rank) if c.name == "pairing" else c,
                                ignore_index=True)
    several = points["pairing"].nunique() > 1
    index = [(m, p) if several else m for m, p in zip(points["method"], points["pairing"])]
    usual = int(points["n"].mode().max())
    display = pd.DataFrame({
        "average mAP": [stats.format_cell(m, c, n, usual=usual) for m, c, n in zip(points["map"], points["map_ci"], points["n"])],
        "fit s": [stats.format_cell(m, c, n, digits=_time_digits(m), usual=usual) if np.isfinite(m) else "–"
                  for m, c, n in zip(points["fit_s"], points["fit_s_ci"], points["n"])],
        "updates": [f"{u:,.0f}" if np.isfinite(u) else "closed form" for u in points["updates"]],
        "trainable parameters": [_count(v) for v in points["trainable_parameters"]],
        "device": points["devices"].replace("", "–").tolist(),
    }, index=pd.MultiIndex.from_tuples(index, names=["method", "pairing"]) if several else pd.Index(index, name="method"))
    best = pd.DataFrame(False, index=display.index, columns=display.columns)
    best[["average mAP", "fit s"]] = np.repeat(points["front"].to_numpy()[:, None], 2, axis=1)
    numeric = points.set_index(["method", "pairing"])
    notes = ["average mAP: mean over the four retrieval tasks per seed, then mean ± 95% CI half-width over seeds "
             "(the overall table's 'average' column); fit s: wall-clock seconds of `fit` (validation during training "
             "included, feature extraction and test scoring not), mean ± 95% CI over seeds; updates and trainable "
             "parameters: means over runs (parameters: every network the method trains, a GAN's discriminators "
             "included; closed-form methods: the size of the arrays they fit).",
             "bold: the Pareto front, methods no other method of the table beats on both mean average mAP and mean "
             "fit time; read off the means, not a test."]
    if (points["devices"].str.contains(",") | (points["devices"].nunique() > 1)).any():
        notes.append("runs on different devices: their fit times are not comparable.")
    hosts = {h for value in points["hosts"] for h in value.split(", ") if h}
    if len(hosts) > 1:
        notes.append(f"runs from {len(hosts)} machines ({', '.join(sorted(hosts))}): fit times are comparable only "
                     "between runs of one machine.")
    missing = points.loc[points["trainable_parameters"].isna(), "method"]
    if len(missing):
        which = "every method" if len(missing) == len(points) else ", ".join(missing)
        notes.append(f"trainable parameters –: runs stored before xmbench recorded them ({which}).")
    title = _title("Accuracy and cost (method: average mAP, fit time, updates, trainable parameters, device)",
                   setting, rows)
    return ReportTable(_slug("cost", setting), title, display, best, numeric, notes)


def _time_digits(seconds: float) -> int:
    return 2 if seconds < 10 else 1 if seconds < 100 else 0


def _count(value: float) -> str:
    """A parameter count, short: 812, 45.1k, 1.23M."""
    if not np.isfinite(value):
        return "–"
    for size, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:.3g}{unit}"
    return f"{value:.0f}"


def _per_class(rows: pd.DataFrame, setting: tuple, task: str) -> ReportTable:
    rows, notes = _class_keys(rows)
    title = _title(f"Per-class mAP, task {task} (method x class)", setting, rows)
    table = _table(rows, ["class"], _slug(f"per_class_map_{_task_slug(task)}", setting), title,
                   order=tuple(rows["class"].unique()), pairing_inner=True)
    table.notes += notes
    return table


def _recognition(rows: pd.DataFrame, setting: tuple, ceilings: pd.DataFrame) -> ReportTable:
    title = _title("Recognition accuracy of generated samples (method x source->target)", setting, rows)
    table = _table(rows, ["task"], _slug("recognition_accuracy", setting), title, order=DIRECTIONS)
    mask = (ceilings[SETTING] == pd.Series(setting, index=SETTING)).all(axis=1)
    if not mask.any():
        return table
    ceiling = _per_seed(ceilings[mask], ["pairing", "task"])  # each run trains the same classifiers
    cells, numbers = {}, {}
    for column in table.display.columns:
        pairing, direction = column if isinstance(column, tuple) else (rows["pairing"].iloc[0], column)
        target = ceiling[(ceiling["pairing"] == pairing) & (ceiling["task"] == direction.split("->")[-1])]
        mean, ci, n = stats.mean_ci(target["value"])
        cells[column] = stats.format_cell(mean, ci, n, usual=_usual_n(table.numeric))
        numbers.update({(*_as_tuple(column), stat): v for stat, v in (("mean", mean), ("ci", ci), ("n", n))})
    table.display.loc[CEILING_ROW] = pd.Series(cells)
    table.best.loc[CEILING_ROW] = False
    ceiling_numbers = pd.DataFrame([numbers], index=[CEILING_ROW], columns=table.numeric.columns)
    table.numeric = pd.concat([table.numeric, ceiling_numbers])
    table.notes.append(f"'{CEILING_ROW}': the target modality's classifier on its real test features "
                       "(what generated samples can reach); not ranked or tested.")
    return table


def _table(values: pd.DataFrame, inner: list[str], name: str, title: str, order: tuple = (),
           pairing_inner: bool = False, higher_is_better: bool = True) -> ReportTable:
    """Methods x columns (``inner`` keys, with the pairing as an outer level -- or inner with
    ``pairing_inner`` -- when there are several); each column compared on its own."""
    several = values["pairing"].nunique() > 1
    keys = ([*inner, "pairing"] if pairing_inner else ["pairing", *inner]) if several else inner
    per_seed = _per_seed(values, ["method", *keys])
    comparison = stats.compare_columns({
        key: part.pivot(index="seed", columns="method", values="value")
        for key, part in per_seed.groupby(keys if len(keys) > 1 else keys[0], sort=False)}, higher_is_better)
    compared = comparison.frames
    rank = {"pairing": _pairing_rank, "task": _rank(order), "class": _rank(order), "space_task": _rank(order)}
    columns = sorted(compared, key=lambda k: tuple(rank[level](v) for level, v in zip(keys, _as_tuple(k))))
    numeric = pd.concat({k: compared[k].drop(columns="reason") for k in columns}, axis=1, names=[*keys, "stat"])
    numeric = numeric.sort_index()
    usual = _usual_n(numeric)
    display, best, spread = {}, {}, {}
    for k in columns:
        c = compared[k].reindex(numeric.index)  # a method without this column gets an empty cell
        display[k] = [stats.format_cell(m, ci, n, usual=usual) + (f" † {stats.format_effect(d, lo, hi)}" if worse else "")
                      for m, ci, n, worse, d, lo, hi in zip(c["mean"], c["ci"], c["n"], c["worse"].eq(True),
                                                            c["diff"], c["diff_low"], c["diff_high"])]
        best[k] = c["tied_best"].eq(True).tolist()
        spread[k] = [stats.format_spread(sd, n) for sd, n in zip(c["sd"], c["n"])]
    index = pd.Index(numeric.index, name="method")
    columns_index = pd.MultiIndex.from_tuples(columns, names=keys) if len(keys) > 1 else pd.Index(columns, name=keys[0])
    display = pd.DataFrame(display, index=index).set_axis(columns_index, axis=1)
    best = pd.DataFrame(best, index=index).set_axis(columns_index, axis=1)
    spread = pd.DataFrame(spread, index=index).set_axis(columns_index, axis=1)
    notes = _notes(comparison, usual, higher_is_better) + (_shared_seed_note(values) if "run_id" in values else [])
    notes += _vary_note(values)
    return ReportTable(name, title, display, best, numeric, notes, spread)


def _notes(comparison: stats.Comparison, usual: int, higher_is_better: bool) -> list[str]:
    compared = comparison.frames
    frames = pd.concat(compared.values())
    direction = "highest" if higher_is_better else "lowest"
    if frames["n"].max() < 2:
        return [f"one seed (n=1): no confidence intervals and no tests; bold: {direction} value of the column."]
    methods = frames.index.nunique()
    notes = [f"mean ± 95% CI half-width over n={usual} seeds (t-distribution; other n shown in the cell); "
             "the CSV adds the standard deviation over seeds (sd), n, the p-values and the differences to the best; "
             "the HTML page shows sd and n under the table.",
             f"†: significantly worse than another method of the column, hence than its best ({stats.TEST_NAME}; "
             f"{stats.CORRECTION_NAME}: {comparison.family} comparisons of {methods} methods in {len(compared)} "
             "column(s); P(any false †) <= 0.05 whatever the true means); (Δ ...): the mean paired difference to the "
             "column's best mean and its 95% CI (per comparison, not simultaneous). Bold: every method no other method "
             f"beats significantly, the {direction} mean among them (several bold cells: no single winner)."]
    ties = [k for k, c in compared.items() if c["tied_best"].eq(True).sum() > 1]
    if ties:
        notes.append("columns whose best method is not significantly better than the next: "
                     + ", ".join(" / ".join(map(str, _as_tuple(k))) for k in ties) + ".")
    untested = frames[~frames["best"] & frames["mean"].notna() & frames["p_vs_best"].isna()]
    if len(untested):
        notes.append("not tested against the best (fewer than 2 seeds in common): "
                     + ", ".join(sorted(set(untested.index))) + ".")
    if (frames["reason"] == stats.IDENTICAL).any():
        notes.append("p = 0 where a method's difference to the best is identical in every seed "
                     "(no seed variance, e.g. two deterministic methods).")
    return notes


def _paper_table(table: pd.DataFrame) -> ReportTable:
    display = pd.DataFrame({
        "paper": table["paper"].map("{:.4g}".format),
        "xmbench": [stats.format_cell(m, c, n) for m, c, n in zip(table["xmbench"], table["ci"], table["n"])],
        "xmbench - paper": (table["xmbench"] - table["paper"]).map("{:+.3f}".format),
        "source": table["source"],
    }, index=table.index)
    sources = {s.split(",")[0] for s in table["source"]}
    notes = ["xmbench: mean ± 95% CI half-width over seeds (t-distribution), fully paired runs, one row per profile; "
             "only runs of the paper profile (the published schedules) and converged runs of quick, never smoke."]
    notes += [f"{s}: {paper.PAPER_SETTINGS[s]}." for s in sorted(sources) if s in paper.PAPER_SETTINGS]
    return ReportTable("paper_vs_xmbench", "Paper vs xmbench", display,
                       pd.DataFrame(False, index=display.index, columns=display.columns), table, notes)


def _usual_n(numeric: pd.DataFrame) -> int:
    """The most common seed count of a table's cells (ties -> the larger)."""
    ns = pd.Series(numeric.xs("n", axis=1, level="stat").to_numpy(float).ravel())
    ns = ns[ns > 0]
    return int(ns.mode().max()) if len(ns) else 0


def _per_seed(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One value per (keys, seed); runs sharing a seed (e.g. differing in split seed) are averaged."""
    return rows.groupby([*keys, "seed"], as_index=False, sort=False)["value"].mean()


def _shared_seed_note(rows: pd.DataFrame) -> list[str]:
    """Runs that differ only in what the scores table does not record (split seed, --keep-self)
    share a seed and are averaged: say so rather than mix them silently."""
    runs = rows.groupby(["method", "pairing", "seed"])["run_id"].nunique()
    shared = runs[runs > 1]
    if shared.empty:
        return []
    methods = ", ".join(sorted(shared.index.get_level_values("method").unique()))
    return [f"several runs share a seed and are averaged per seed ({methods}): runs differing in split seed "
            "or --keep-self; filter the results folder to compare them."]


def _class_keys(rows: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """With several pairings, classes are matched on the part before "/" ("O/brown" and "O/blue"
    are letter O in both); a note names the classes whose full names differ."""
    if rows["pairing"].nunique() < 2:
        return rows, []
    names = rows[["pairing", "class"]].drop_duplicates()
    names["key"] = names["class"].str.split("/").str[0]
    if (names.groupby("pairing")["key"].nunique() != names.groupby("pairing")["class"].nunique()).any():
        return rows, []  # prefixes are not unique within a pairing: keep full names
    differ = names.groupby("key", sort=False)["class"].nunique() > 1
    notes = [f"{key}: " + ", ".join(f"{p} {c}" for p, c in names.loc[names["key"] == key, ["pairing", "class"]].values)
             for key in differ[differ].index]
    keyed = rows.assign(**{"class": rows["class"].map(dict(zip(names["class"], names["key"])))})
    return keyed, ["classes matched across pairings by the part before '/'; " + "; ".join(notes)] if notes else []


def _settings(rows: pd.DataFrame):
    groups = with_legacy_columns(rows).groupby(SETTING, sort=False)
    return sorted(groups, key=lambda item: (item[0][0], item[0][1], -item[0][2], item[0][3], item[0][4]))


def _in_order(rows: pd.DataFrame, column: str, order: tuple):
    return sorted(rows.groupby(column, sort=False), key=lambda item: _rank(order)(item[0]))


def _rank(order: tuple):
    return lambda value: (order.index(value), "") if value in order else (len(order), str(value))


def _pairing_rank(value: str) -> tuple:
    return _rank(PAIRING_ORDER)(value)


def _as_tuple(key) -> tuple:
    return key if isinstance(key, tuple) else (key,)


def _title(what: str, setting: tuple, rows: pd.DataFrame) -> str:
    dataset, profile, fraction, vary, features = setting
    pairings = rows["pairing"].unique()
    text = f"{what} -- {dataset}, {features} features, profile {profile}"
    text += f", pairing {pairings[0]}" if len(pairings) == 1 else ""
    text += f", paired fraction {fraction:g}" if fraction != 1.0 else ""
    text += ", method seeds only" if vary == "method" else ""
    caveat = Profile.parse(profile).caveat if profile in {p.value for p in Profile} else ""
    return text + (f" ({caveat})" if caveat else "")


def _task_slug(task: str) -> str:
    return task.replace("<->", "with").replace("->", "to").replace("+", "")


def _slug(kind: str, setting: tuple) -> str:
    dataset, profile, fraction, vary, features = setting
    text = f"{kind}_{dataset}_{profile}" + (f"_pf{fraction:g}" if fraction != 1.0 else "")
    text += "" if FeatureSource.parse(features).implicit else f"_{features}"
    text += "_vary-method" if vary == "method" else ""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text)
