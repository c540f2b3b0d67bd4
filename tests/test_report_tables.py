"""Report tables read only the long results table; checked on a small hand-made one."""

from __future__ import annotations

import pandas as pd
import pytest

from xmbench.report import export, tables
from xmbench.report.paper import PAPER_VALUES, paper_comparison


def row(method, task, metric, value, seed=0, fraction=1.0, cls="all"):
    return {
        "run_id": f"{method}-{seed}-{fraction}", "dataset": "mnist-fashion", "pairing": "by-class",
        "method": method, "seed": seed, "profile": "quick", "paired_fraction": fraction,
        "task": task, "class": cls, "metric": metric, "value": value,
    }


@pytest.fixture
def scores():
    return pd.DataFrame([
        row("vae-assoc", "A->B", "recognition_accuracy", 0.90, seed=0),
        row("vae-assoc", "A->B", "recognition_accuracy", 0.80, seed=1),
        row("vae-assoc", "A->B", "recognition_accuracy", 0.30, fraction=0.01),
        row("vae-assoc", "A->B", "recognition_accuracy", 0.50, cls="0/T-shirt"),
        row("vae-assoc", "A", "classifier_accuracy", 0.97),
        row("cmgans", "A", "classifier_accuracy", 0.97),
        row("cmgans", "B->A", "recognition_accuracy", 0.70),
        row("cca", "A->B", "mAP", 0.6),
    ])


def test_recognition_table_means_over_seeds_per_fraction(scores):
    table = tables.recognition_accuracy(scores).droplevel(tables.GROUP)
    assert table.loc[(1.0, "vae-assoc"), "A->B"] == pytest.approx(0.85)
    assert table.loc[(0.01, "vae-assoc"), "A->B"] == pytest.approx(0.30)
    assert table.loc[(1.0, "cmgans"), "B->A"] == pytest.approx(0.70)
    per_class = tables.per_class_recognition(scores)
    assert per_class["0/T-shirt"].item() == 0.5


def test_paper_comparison_uses_fully_paired_runs_and_shared_ceilings(scores):
    table = paper_comparison(scores).droplevel(["pairing", "features", "profile", "class"])
    assert table.loc[("mnist-fashion", "vae-assoc", "A->B", "recognition_accuracy"), "paper"] == 0.9426
    assert table.loc[("mnist-fashion", "vae-assoc", "A->B", "recognition_accuracy"), "xmbench"] == pytest.approx(0.85)
    assert table.loc[("mnist-fashion", "vae-assoc", "A->B", "recognition_accuracy"), "n"] == 2
    assert table.loc[("mnist-fashion", "classifier", "A", "classifier_accuracy"), "xmbench"] == pytest.approx(0.97)
    # settings xmbench has no numbers for are left out, not filled with NaN
    assert ("mnist-fashion", "vae-assoc", "B->A", "recognition_accuracy") not in table.index


def test_a_run_with_settings_meets_the_paper_value_of_its_method_under_its_label():
    task = "A<->B, k=50"
    halves = pd.DataFrame([
        row("cca", "A<->B, k=6", "total_canonical_correlation", 5.6),
        row("cca[n_components=50,model_selection=off]", task, "total_canonical_correlation", 26.4),
    ]).assign(dataset="mnist-halves", pairing="instance", features="pixels")
    table = paper_comparison(halves).droplevel(["dataset", "pairing", "features", "profile", "class", "metric"])
    assert table.index.tolist() == [("cca[n_components=50,model_selection=off]", task)]
    assert table.iloc[0]["paper"] == 28.0 and table.iloc[0]["xmbench"] == pytest.approx(26.4)


def test_a_cascade_meets_the_papers_cascade_value_and_the_direct_run_its_direct_value():
    pair = pd.DataFrame([
        row("vae-assoc", "A->B", "recognition_accuracy", 0.91),
        row("vae-assoc[via=fashion]", "A->B", "recognition_accuracy", 0.84),
    ]).assign(dataset="mnist-fashion-speech[speech,mnist]", features="supervised")
    table = paper_comparison(pair).droplevel(["dataset", "pairing", "features", "profile", "class", "metric"])
    assert table.loc[("vae-assoc", "A->B"), "paper"] == 0.8866 and table.loc[("vae-assoc", "A->B"), "xmbench"] == 0.91
    assert table.loc[("vae-assoc[via=fashion]", "A->B"), "paper"] == 0.7699
    assert table.loc[("vae-assoc[via=fashion]", "A->B"), "xmbench"] == pytest.approx(0.84)
    assert len(table) == 2


def test_thesis_classes_are_real_class_names():
    from xmbench.data import colors
    from xmbench.data.emnist import LETTERS
    thesis = PAPER_VALUES[PAPER_VALUES["dataset"] == "letters-colors"]
    for pairing, classes in thesis.groupby("pairing")["class"]:
        assert set(classes) <= set(colors.class_names(LETTERS, pairing))
    assert len(thesis) == 10


# --- build_tables on a small letters-colors-like table: two pairings, three seeds -------------------

CLASSES = {"unique": ("A/red", "O/brown"), "non-unique": ("A/red", "O/blue")}


def lc_row(method, pairing, seed, task, metric, value, cls="all", profile="smoke", fraction=1.0):
    return {
        "run_id": f"{method}-{pairing}-{seed}-{profile}-{fraction}", "dataset": "letters-colors",
        "pairing": pairing, "method": method, "seed": seed, "vary": "data", "profile": profile, "paired_fraction": fraction,
        "task": task, "class": cls, "metric": metric, "value": value,
    }


@pytest.fixture
def lc_scores():
    rows = []
    for pairing, classes in CLASSES.items():
        for seed in range(3):
            jitter = 0.01 * seed
            for task in tables.RETRIEVAL_TASKS:
                rows.append(lc_row("cmgans", pairing, seed, task, "mAP", 0.90 + jitter))
                rows.append(lc_row("cca", pairing, seed, task, "mAP", 0.60 + 2 * jitter))
                for cls in classes:
                    rows.append(lc_row("cmgans", pairing, seed, task, "mAP", 0.80 + jitter, cls))
                    rows.append(lc_row("cca", pairing, seed, task, "mAP", 0.50 + jitter, cls))
            for task in ("A->B", "B->A"):
                rows.append(lc_row("cmgans", pairing, seed, task, "recognition_accuracy", 0.7 + jitter))
            rows += [lc_row("cmgans", pairing, seed, m, "classifier_accuracy", v) for m, v in (("A", 0.92), ("B", 1.0))]
            rows.append(lc_row("cmgans", pairing, seed, "A<->B", "synchronous_rate", 0.5 + jitter))
        rows.append(lc_row("cca", pairing, 0, "A->B", "mAP", 0.3, profile="quick"))
    return pd.DataFrame(rows)


def by_name(built):
    return {table.name: table for table in built}


def test_overall_table_puts_pairings_side_by_side_and_marks_the_best(lc_scores):
    built = by_name(tables.build_tables(lc_scores))
    overall = built["overall_map_letters-colors_smoke"]
    assert overall.display.shape == (2, 10)  # methods x (2 pairings x (4 tasks + average))
    assert list(overall.display.columns.get_level_values("pairing").unique()) == ["unique", "non-unique"]
    column = ("unique", "average")
    assert overall.best.loc["cmgans", column] and not overall.best.loc["cca", column]
    assert overall.display.loc["cmgans", column] == "0.910 ± 0.025"  # mean 0.91, sd 0.01, t_{.975,2} 4.3027
    assert " † (Δ -" in overall.display.loc["cca", column]  # the verdict and its effect size
    assert overall.numeric.loc["cca", (*column, "n_common")] == 3
    diff = overall.numeric.loc["cca", (*column, "diff")]
    assert overall.numeric.loc["cca", (*column, "diff_low")] < diff < overall.numeric.loc["cca", (*column, "diff_high")] < 0
    assert f"(Δ {diff:+.3f}" in overall.display.loc["cca", column]
    assert any("paired t-tests of every pair" in note and "Holm" in note and "comparisons of 2 methods" in note
               for note in overall.notes)
    assert overall.numeric.loc["cmgans", (*column, "sd")] == pytest.approx(0.01)
    assert overall.spread.loc["cmgans", column] == "0.010 (n=3)"  # shown under the table in the HTML page
    assert overall.numeric.loc["cca", (*column, "p_holm")] >= overall.numeric.loc["cca", (*column, "p_vs_best")]
    # another profile is another table, never part of the same mean
    assert built["overall_map_letters-colors_quick"].display.loc["cca", ("non-unique", "A->B")] == "0.300"


def test_runs_sharing_a_seed_are_named_in_the_notes(lc_scores):
    other_split = lc_scores[lc_scores["method"] == "cca"].assign(run_id=lambda f: f["run_id"] + "-split1")
    built = by_name(tables.build_tables(pd.concat([lc_scores, other_split])))
    assert any("share a seed" in note and "cca" in note for note in built["overall_map_letters-colors_smoke"].notes)
    assert not any("share a seed" in note for note in by_name(tables.build_tables(lc_scores))[
        "overall_map_letters-colors_smoke"].notes)


def test_per_class_tables_match_classes_by_letter_across_pairings(lc_scores):
    built = by_name(tables.build_tables(lc_scores))
    per_class = [t for t in built.values() if t.name.startswith("per_class_map_")]
    assert len(per_class) == 4  # one per task, profile "quick" has no per-class rows
    table = built["per_class_map_AtoB_letters-colors_smoke"]
    assert list(table.display.columns) == [("A", "unique"), ("A", "non-unique"), ("O", "unique"), ("O", "non-unique")]
    assert any("O/brown" in note and "O/blue" in note for note in table.notes)


def test_recognition_table_has_the_ceiling_row_and_other_metrics_get_tables(lc_scores):
    built = by_name(tables.build_tables(lc_scores))
    recognition = built["recognition_accuracy_letters-colors_smoke"]
    # A->B is judged by modality B's classifier
    assert recognition.display.loc[tables.CEILING_ROW, ("unique", "A->B")] == "1.000 ± 0.000"
    assert recognition.display.loc[tables.CEILING_ROW, ("unique", "B->A")] == "0.920 ± 0.000"
    assert not recognition.best.loc[tables.CEILING_ROW].any()
    sync = built["synchronous_rate_letters-colors_smoke"]
    assert sync.display.loc["cmgans", ("unique", "A<->B")] == "0.510 ± 0.025 §"  # its paper claims no synchrony


def test_paper_table_compares_like_with_like(lc_scores):
    assert "paper_vs_xmbench" not in by_name(tables.build_tables(lc_scores))  # smoke is never a finding
    paper_runs = lc_scores.assign(profile="paper", run_id=lc_scores["run_id"] + "-paper")
    quick = lc_scores[lc_scores["profile"] == "smoke"].assign(profile="quick")
    quick = quick.assign(run_id=quick["run_id"] + "-quick")
    verdicts = pd.DataFrame([lc_row("cmgans", p, seed, "training", "converged", float(seed != 1))
                             for p in CLASSES for seed in range(3)])  # seed 1 ran out of budget
    verdicts = verdicts.assign(profile="quick", run_id=verdicts["run_id"] + "-quick")
    paper_table = by_name(tables.build_tables(pd.concat([lc_scores, paper_runs, quick, verdicts])))["paper_vs_xmbench"]
    index = paper_table.display.index
    assert ("letters-colors", "unique", "supervised", "paper", "cmgans", "A->B", "O/brown", "mAP") in index
    assert ("letters-colors", "non-unique", "supervised", "paper", "cmgans", "A->A+B", "O/blue", "mAP") in index
    row = paper_table.display.loc[("letters-colors", "unique", "supervised", "paper", "cmgans", "A->B", "A/red", "mAP")]
    assert row["paper"] == "0.112" and row["xmbench"] == "0.810 ± 0.025"
    # quick: only its converged runs (seeds 0 and 2), labelled as such; never the smoke runs
    converged = paper_table.display.loc[("letters-colors", "unique", "supervised", "quick (converged runs)", "cmgans", "A->B",
                                         "A/red", "mAP")]
    assert converged["xmbench"] == "0.810 ± 0.127"  # 0.80 and 0.82: t_{.975,1} 12.71 x 0.01
    assert not any(profile.startswith("smoke") for profile in index.get_level_values("profile"))
    assert any("--keep-self" in note and "500 epochs" in note for note in paper_table.notes)


def test_export_writes_csv_markdown_and_latex_with_the_best_marked(lc_scores, tmp_path):
    built = tables.build_tables(lc_scores)
    paths = export.write_tables(built, tmp_path)
    assert len(paths) == 3 * len(built)
    name = "overall_map_letters-colors_smoke"
    markdown = (tmp_path / f"{name}.md").read_text()
    assert "| **0.910 ± 0.025** |" in markdown and "- mean ± 95% CI" in markdown
    latex = (tmp_path / f"{name}.tex").read_text()
    assert r"\textbf{0.910 $\pm$ 0.025}" in latex and r"A$\to$B" in latex and "±" not in latex
    csv = pd.read_csv(tmp_path / f"{name}.csv", index_col=0)
    assert csv.loc["cmgans", "unique / average / mean"] == pytest.approx(0.91)
    assert bool(csv.loc["cmgans", "unique / average / best"])
    assert export.to_markdown(built[0]).startswith("### Overall mAP")
    page = export.to_html(by_name(built)[name])
    assert "<strong>0.910 ± 0.025</strong>" in page and "A-&gt;B" in page


def test_a_column_without_a_significant_winner_bolds_every_tied_method():
    rows = []
    for seed, (a, b) in enumerate([(0.90, 0.91), (0.93, 0.90), (0.91, 0.92)]):  # means .913 vs .910: noise
        rows += [lc_row("cmgans", "unique", seed, task, "mAP", a) for task in tables.RETRIEVAL_TASKS]
        rows += [lc_row("cca", "unique", seed, task, "mAP", b) for task in tables.RETRIEVAL_TASKS]
        rows += [lc_row("kcca", "unique", seed, task, "mAP", 0.5 + 0.01 * seed) for task in tables.RETRIEVAL_TASKS]
    overall = by_name(tables.build_tables(pd.DataFrame(rows)))["overall_map_letters-colors_smoke"]
    assert overall.best.loc[["cmgans", "cca"], "A->B"].all() and not overall.best.loc["kcca", "A->B"]
    assert " † (Δ " in overall.display.loc["kcca", "A->B"]  # far below: still significant after Holm
    assert any(note.startswith("columns whose best method is not significantly better") and "A->B" in note
               for note in overall.notes)


def test_spaces_and_translation_get_tables_of_their_own_and_never_enter_the_average():
    rows = []
    for seed in range(3):
        for task in tables.RETRIEVAL_TASKS:
            rows.append(lc_row("cca", "unique", seed, task, "mAP", 0.6 + 0.01 * seed) | {"space": ""})
            for space, value in (("", 0.8), ("A", 0.8), ("B", 0.4)):  # the headline took A's space
                rows.append(lc_row("vae-assoc", "unique", seed, task, "mAP", value + 0.01 * seed) | {"space": space})
        for task in tables.TRANSLATION_TASKS:
            rows.append(lc_row("vae-assoc", "unique", seed, task, "mAP", 0.7 + 0.01 * seed) | {"space": ""})
    built = by_name(tables.build_tables(pd.DataFrame(rows)))
    overall = built["overall_map_letters-colors_smoke"]
    assert list(overall.display.columns) == [*tables.RETRIEVAL_TASKS, "average"]
    assert overall.numeric.loc["vae-assoc", ("average", "mean")] == pytest.approx(0.81)  # headline rows only
    spaces = built["map_by_space_letters-colors_smoke"]
    assert list(spaces.display.index) == ["vae-assoc"] and len(spaces.display.columns) == 8
    assert spaces.numeric.loc["vae-assoc", ("B: A->B", "mean")] == pytest.approx(0.41)
    translation = built["translation_map_letters-colors_smoke"]
    assert list(translation.display.columns) == list(tables.TRANSLATION_TASKS)
    assert translation.numeric.loc["vae-assoc", ("A=>B", "mean")] == pytest.approx(0.71)
    flat = tables.overall_map(pd.DataFrame(rows))
    assert list(flat.columns) == [*tables.RETRIEVAL_TASKS, "average", *tables.TRANSLATION_TASKS]
    assert flat["average"].droplevel(tables.GROUP).loc[(1.0, "vae-assoc")] == pytest.approx(0.81)


def test_method_seed_runs_are_tabled_apart_and_say_they_show_init_noise_only(lc_scores):
    method_only = lc_scores.assign(vary="method", run_id=lc_scores["run_id"] + "-m")
    built = by_name(tables.build_tables(pd.concat([lc_scores.assign(vary="data"), method_only])))
    replicates = built["overall_map_letters-colors_smoke"]
    init_noise = built["overall_map_letters-colors_smoke_vary-method"]
    assert "method seeds only" in init_noise.title and "method seeds only" not in replicates.title
    assert tables.METHOD_ONLY_NOTE in init_noise.notes and tables.METHOD_ONLY_NOTE not in replicates.notes
    assert not any("share a seed" in note for note in replicates.notes)  # never averaged together
    both = pd.concat([lc_scores.assign(vary="data"), method_only])
    assert set(tables.filter_scores(both, varies=["method"])["run_id"]) == set(method_only["run_id"])
