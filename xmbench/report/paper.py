"""Numbers the source papers report on settings xmbench runs, for "paper vs xmbench" tables.

"VAE-associator paper" is "Cross-modal Variational Auto-encoder with Distributed Latent Spaces
and Associators" (../shared/papers/001). The papers measure on raw images with their own
recognition networks; xmbench generates frozen CNN features and classifies those, so agreement
is expected in ranking and rough size, not to the decimal.

"Thesis" is the grapheme-colour synesthesia CM-GANs thesis (../shared/papers/000, Sec. 4.2):
per-class mAP of letter queries, bi-modal (letter -> colour = task A->B) and all-modal
(letter -> letters + colours = A->A+B). It reports only the classes below in its text; the
other classes are bar heights in Fig. 11 and 13 (Fig. 13's caption says "unique" but shows the
non-unique case). Its setting is kept in ``PAPER_SETTINGS`` and shown as notes. xmbench runs are
compared only like with like (``comparable_runs``): the ``paper`` profile, or converged runs of
``quick`` (marked as such), each on its own row; never ``smoke``.
"""

from __future__ import annotations

import re

import pandas as pd

from xmbench.eval.correlation import METRIC as CORRELATION
from xmbench.eval.correlation import TASK, TOP_K
from xmbench.eval.recognition import CEILING, RECOGNITION
from xmbench.report.stats import mean_ci
from xmbench.results.schema import ALL_CLASSES, headline, label_method, with_legacy_columns

VAE_ASSOC = "VAE-associator paper"
THESIS = "Thesis"
DCCA = "Deep CCA paper"
RASIWASIA = "Rasiwasia et al. 2010"
PAPER_SETTINGS = {
    VAE_ASSOC: "raw images scored by the paper's own recognition networks (xmbench: frozen features, "
               "logistic-regression classifiers)",
    DCCA: "Andrew, Arora, Bilmes, Livescu, Deep Canonical Correlation Analysis, ICML 2013 "
          "(proceedings.mlr.press/v28/andrew13): split MNIST, raw 392-pixel halves, official split, total "
          "correlation of the 50 most correlated dimensions on the test set, CCA fitted on train (xmbench: the raw "
          "halves are `--features raw`, `pixels` is PCA to 196 components per half; cca needs `--set "
          "cca.n_components=50` to have 50; correlations cross-fitted on test halves, see eval.correlation). The values "
          "are read from the paper's results table; the search tools returned only its abstract and a "
          "secondary mention of DCCA's value (about 39 over 50 components, VahidooX/DeepCCA issue 2); its "
          "kernel CCA values are not recorded here",
    RASIWASIA: "Rasiwasia, Costa Pereira, Coviello, Doyle, Lanckriet, Levy, Vasconcelos, A New Approach to "
               "Cross-Modal Multimedia Retrieval, ACM MM 2010: the Wikipedia features xmbench ships (128-d SIFT "
               "bag of words, 10-d LDA), official 2,173 / 693 split, mAP with the query's class as relevance, "
               "CCA ranked by normalised correlation (xmbench: cosine in the CCA space, the number of "
               "components chosen on validation)",
    THESIS: "CM-GANs trained 500 epochs (= xmbench profile `paper`); 16,000 letter queries; each query "
            "stays in its own all-modal gallery (xmbench `--keep-self`, not recorded in the scores "
            "table, so runs without it are compared too)",
}
_T1 = f"{THESIS}, Sec. 4.2.1 (Fig. 11, unique pairs)"
_T2 = f"{THESIS}, Sec. 4.2.2 (Fig. 13, non-unique pairs)"
_A = f"{THESIS}, Sec. 4.2.1 text on letter A"
KEYS = ["dataset", "pairing", "features", "method", "task", "class", "metric"]
PAPER_VALUES = pd.DataFrame(
    [
        # mnist-fashion: A = MNIST, B = Fashion-MNIST
        ("mnist-fashion", "by-class", "vae-assoc", "B->A", ALL_CLASSES, RECOGNITION, 0.8202, f"{VAE_ASSOC}, Table 1 (F-MNIST -> MNIST)"),
        ("mnist-fashion", "by-class", "vae-assoc", "A->B", ALL_CLASSES, RECOGNITION, 0.9426, f"{VAE_ASSOC}, Table 1 (MNIST -> F-MNIST)"),
        ("mnist-fashion", "by-class", "vae-assoc", "A->A", ALL_CLASSES, RECOGNITION, 0.9612, f"{VAE_ASSOC}, Table 2 (MNIST VAE)"),
        ("mnist-fashion", "by-class", "vae-assoc", "B->B", ALL_CLASSES, RECOGNITION, 0.8054, f"{VAE_ASSOC}, Table 2 (F-MNIST VAE)"),
        ("mnist-fashion", "by-class", "classifier", "A", ALL_CLASSES, CEILING, 0.9797, f"{VAE_ASSOC}, Table 2 (MNIST recognition net)"),
        ("mnist-fashion", "by-class", "classifier", "B", ALL_CLASSES, CEILING, 0.8922, f"{VAE_ASSOC}, Table 2 (F-MNIST recognition net)"),
        # letters-colors: A = letters, B = colours; classes "letter/colour" as colors.class_names
        ("letters-colors", "unique", "cmgans", "A->B", "A/red", "mAP", 0.112, _A),
        ("letters-colors", "unique", "cmgans", "A->B", "O/brown", "mAP", 0.885, _T1),
        ("letters-colors", "unique", "cmgans", "A->A+B", "O/brown", "mAP", 0.660, _T1),
        ("letters-colors", "unique", "cmgans", "A->B", "P/blue", "mAP", 0.993, _T1),
        ("letters-colors", "unique", "cmgans", "A->A+B", "P/blue", "mAP", 0.941, _T1),
        ("letters-colors", "non-unique", "cmgans", "A->B", "A/red", "mAP", 0.333, _A),
        ("letters-colors", "non-unique", "cmgans", "A->B", "O/blue", "mAP", 0.355, _T2),
        ("letters-colors", "non-unique", "cmgans", "A->A+B", "O/blue", "mAP", 0.412, _T2),
        ("letters-colors", "non-unique", "cmgans", "A->B", "P/blue", "mAP", 0.234, _T2),
        ("letters-colors", "non-unique", "cmgans", "A->A+B", "P/blue", "mAP", 0.645, _T2),
    ],
    columns=[*(key for key in KEYS if key != "features"), "paper", "source"],
).assign(features="supervised")  # the thesis and the VAE paper classify with supervised CNN features
# Table 1 of the VAE-associator paper for every compared model and scenario: (dataset, xmbench task,
# the paper's column); GSC is Google Speech Commands, which spoken digits (FSDD) stand in for here
_TABLE1_COLUMNS = [("mnist-fashion", "B->A", "F-MNIST -> MNIST"), ("mnist-fashion", "A->B", "MNIST -> F-MNIST"),
                   ("mnist-speech", "A->B", "MNIST -> GSC"), ("mnist-speech", "B->A", "GSC -> MNIST"),
                   ("fashion-speech", "A->B", "F-MNIST -> GSC"), ("fashion-speech", "B->A", "GSC -> F-MNIST"),
                   ("gtsrb-speech", "A->B", "GTSRB -> GSC"), ("gtsrb-speech", "B->A", "GSC -> GTSRB")]
_TABLE1 = {
    "vae-joint": [47.36, 41.86, 10.34, 28.61, 12.83, 22.18, 35.93, 19.44],
    "vae-cg": [82.41, 83.84, 32.46, 66.62, 29.87, 63.79, 28.43, 55.00],
    "jmvae": [83.49, 88.14, 28.15, 62.31, 47.58, 51.23, 41.02, 65.18],
    "cva": [76.51, 85.88, 24.61, 65.04, 18.70, 59.73, 31.02, 77.78],
    "mvae": [62.65, 77.62, 23.04, 46.70, 13.52, 33.24, 28.06, 69.17],
    "vae-assoc": [None, None, 59.47, 88.66, 43.95, 77.84, 58.89, 77.87],  # mnist-fashion: rows above
}
_CASCADE = "mnist-fashion-speech[speech,mnist]"  # A = speech, B = mnist
PAPER_VALUES = pd.concat([PAPER_VALUES, pd.DataFrame(
    [(dataset, "by-class", method, task, ALL_CLASSES, RECOGNITION, value / 100, f"{VAE_ASSOC}, Table 1 ({column})")
     for method, values in _TABLE1.items()
     for (dataset, task, column), value in zip(_TABLE1_COLUMNS, values, strict=True) if value is not None]
    + [(_CASCADE, "by-class", "vae-assoc", "A->B", ALL_CLASSES, RECOGNITION, 0.8866,
        f"{VAE_ASSOC}, Table 4 (direct GSC -> MNIST)"),
       (_CASCADE, "by-class", "vae-assoc[via=fashion]", "A->B", ALL_CLASSES, RECOGNITION, 0.7699,
        f"{VAE_ASSOC}, Table 4 (cascade GSC -> F-MNIST -> MNIST)")],
    columns=[*(key for key in KEYS if key != "features"), "paper", "source"],
).assign(features="supervised")], ignore_index=True)
_TCC = (f"{TASK}, k={TOP_K}", ALL_CLASSES, CORRELATION)
PAPER_VALUES = pd.concat([PAPER_VALUES, pd.DataFrame(
    [
        # mnist-halves: A = left half, B = right half; linear CCA fitted on the 50 top directions
        ("mnist-halves", "instance", "pixels", "cca", *_TCC, 28.0, f"{DCCA}, MNIST results table (linear CCA, test)"),
        ("mnist-halves", "instance", "raw", "cca", *_TCC, 28.0, f"{DCCA}, MNIST results table (linear CCA, test)"),
        ("mnist-halves", "instance", "raw", "dcca", *_TCC, 39.7, f"{DCCA}, MNIST results table (DCCA, test)"),
        # wikipedia: A = image (SIFT), B = text (LDA)
        ("wikipedia", "documents", "given", "cca", "A->B", ALL_CLASSES, "mAP", 0.249, f"{RASIWASIA}, CCA (image query)"),
        ("wikipedia", "documents", "given", "cca", "B->A", ALL_CLASSES, "mAP", 0.196, f"{RASIWASIA}, CCA (text query)"),
    ],
    columns=[*KEYS, "paper", "source"],
)], ignore_index=True)


def paper_method(label: str) -> str:
    """The method whose paper value a run's label meets: its settings dropped (``label_method``), but a
    cascade keeps its route (``vae-assoc[via=fashion]``): the paper reports it as its own experiment."""
    via = re.search(r"via=([^,\]]+)", label)
    return f"{label_method(label)}[via={via.group(1)}]" if via else label_method(label)


def comparable_runs(scores: pd.DataFrame) -> pd.DataFrame:
    """The rows a paper's number may be compared with, like with like: runs of the ``paper`` profile
    (the published schedules), and converged runs of other profiles except ``smoke``, their profile
    relabelled "<profile> (converged runs)". Closed-form methods have nothing to converge."""
    verdicts = scores[(scores["task"] == "training") & (scores["metric"] == "converged")]
    unconverged = set(verdicts.loc[verdicts["value"] != 1, "run_id"])
    paper = scores["profile"] == "paper"
    keep = paper | ((scores["profile"] != "smoke") & ~scores["run_id"].isin(unconverged))
    kept = scores[keep]
    return kept.assign(profile=kept["profile"].where(paper[keep], kept["profile"] + " (converged runs)"))


def paper_comparison(scores: pd.DataFrame) -> pd.DataFrame:
    """Every paper value whose setting is in ``scores``, next to xmbench's mean over seeds, its 95%
    CI half-width (NaN for one seed) and n seeds; one row per xmbench profile, like with like
    (``comparable_runs``: never smoke, never an unconverged run). Fully paired runs only;
    classifier ceilings are shared by all methods of a dataset, so they are averaged per seed
    over the methods' runs first. Headline rows only; replicates (``vary = data``) when there are
    any, else runs with fixed data: the two are never pooled."""
    scores = with_legacy_columns(scores)
    rows = comparable_runs(headline(scores[scores["paired_fraction"] == 1.0]))
    if (rows["vary"] == "data").any():
        rows = rows[rows["vary"] == "data"]
    ours = rows.assign(method=rows["method"].where(rows["metric"] != CEILING, "classifier"))
    per_seed = ours.groupby([*KEYS, "profile", "seed"], as_index=False)["value"].mean()
    summary = per_seed.groupby([*KEYS, "profile"])["value"].agg(lambda v: mean_ci(v))
    summary = pd.DataFrame(summary.tolist(), index=summary.index, columns=["xmbench", "ci", "n"]).reset_index()
    # a run with settings meets the paper value of its method under its own label (mnist-halves: only
    # cca[n_components=50,model_selection=off] has the published k = 50, which the task names)
    summary = summary.assign(label=summary["method"], method=summary["method"].map(paper_method))
    table = PAPER_VALUES.merge(summary, on=KEYS).assign(method=lambda t: t["label"])
    index = ["dataset", "pairing", "features", "profile", "method", "task", "class", "metric"]
    return table.set_index(index)[["paper", "xmbench", "ci", "n", "source"]]
