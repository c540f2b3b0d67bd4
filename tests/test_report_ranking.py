"""The ranking across datasets: Demšar's critical values, the Friedman statistic by its formula,
which blocks and methods count, and the report's table, CSV, figure and page."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from xmbench.report import export, ranking, tables
from xmbench.report.plots_ranking import ranking_figures

TASKS = ("A->B", "B->A", "A->A+B", "B->A+B")
# planted order: a > b > c > d by 0.1 mAP, plus noise much smaller than the gaps
PLANTED = {"a": 0.9, "b": 0.8, "c": 0.7, "d": 0.6}


def _scores(blocks, methods=PLANTED, seeds=(0, 1, 2), unconverged=(), rng=None) -> pd.DataFrame:
    rng = rng or np.random.default_rng(0)
    rows = []
    for dataset, pairing in blocks:
        for method, level in methods.items():
            for seed in seeds:
                run = f"{dataset}-{pairing}-{method}-{seed}"
                rows += [dict(run_id=run, dataset=dataset, pairing=pairing, method=method, seed=seed, vary="data",
                              profile="quick", paired_fraction=1.0, features="supervised", task=task, space="",
                              **{"class": "all"}, metric="mAP", value=level + rng.normal(0, 0.01))
                         for task in TASKS]
                if method != "d":  # "d" has no training (a closed-form method)
                    converged = 0.0 if (dataset, method) in unconverged else 1.0
                    rows.append(dict(rows[-1], task="training", metric="converged", value=converged))
    return pd.DataFrame(rows)


BLOCKS = [(f"set{i}", "p") for i in range(6)]


def test_nemenyi_critical_values_match_demsar_table_5():
    for k, q in {2: 1.960, 3: 2.343, 4: 2.569, 5: 2.728, 6: 2.850, 7: 2.949, 8: 3.031, 9: 3.102, 10: 3.164}.items():
        assert ranking.nemenyi_q(k) == pytest.approx(q, abs=1e-3)
    # Demšar's example: 4 classifiers, 14 data sets -> CD = 2.569 * sqrt(4 * 5 / (6 * 14)) = 1.25
    assert ranking.critical_difference(4, 14) == pytest.approx(1.25, abs=0.005)


def test_friedman_statistic_and_average_ranks_by_hand():
    (result,) = ranking.rankings(_scores(BLOCKS))
    k, n = 4, len(BLOCKS)
    assert result.average_rank.to_dict() == {"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0}
    ranks = np.array([1.0, 2.0, 3.0, 4.0])
    chi2 = 12 * n / (k * (k + 1)) * ((ranks ** 2).sum() - k * (k + 1) ** 2 / 4)  # Demšar's formula
    assert result.statistic == pytest.approx(chi2) and result.p == pytest.approx(sps.chi2.sf(chi2, k - 1))
    assert result.posthoc is not None
    # a vs d: rank difference 3 > CD -> significant; a vs b: 1 < CD -> not
    assert result.cd == pytest.approx(ranking.critical_difference(4, 6))
    assert result.posthoc.loc["a", "d"] < 0.05 < result.posthoc.loc["a", "b"]
    assert result.worse().to_dict() == {"a": False, "b": False, "c": True, "d": True}


def test_blocks_with_unconverged_runs_and_methods_missing_a_block_are_left_out_and_named():
    scores = _scores(BLOCKS, unconverged={("set2", "b")})
    scores = scores[~((scores["dataset"] == "set4") & (scores["method"] == "c"))]  # c missing in one block
    extra = _scores([("set0", "p")], methods={"e": 0.5})  # e only in one block
    (result,) = ranking.rankings(pd.concat([scores, extra]))
    assert list(result.average_rank.index) == ["a", "b", "d"]
    assert "set2" not in result.scores.index.get_level_values("dataset")
    text = " ".join(result.left_out)
    assert "method c: no result in block set4/p/supervised" in text and "method e" in text
    assert "block set2/p/supervised: runs that did not converge or were not trained (b)" in text
    table = tables.ranking_table(result)
    assert any("left out: block set2" in note for note in table.notes)


def test_without_a_post_hoc_test_every_method_tied_at_the_top_rank_is_bold():
    rng = np.random.default_rng(1)
    scores = _scores(BLOCKS[:2], methods={"a": 0.9, "b": 0.9, "c": 0.5}, rng=rng)
    scores.loc[(scores["dataset"] == "set1") & (scores["method"] == "a"), "value"] -= 0.05  # a: ranks 1, 2
    scores.loc[(scores["dataset"] == "set0") & (scores["method"] == "b"), "value"] -= 0.05  # b: ranks 2, 1
    (result,) = ranking.rankings(scores)
    assert result.posthoc is None and result.average_rank[["a", "b"]].tolist() == [1.5, 1.5]
    table = tables.ranking_table(result)
    assert table.best["average rank"].to_dict() == {"a": True, "b": True, "c": False}


def test_no_ranking_from_one_block_and_profiles_are_not_mixed():
    assert ranking.rankings(_scores(BLOCKS[:1])) == []
    scores = pd.concat([_scores(BLOCKS[:3]), _scores(BLOCKS[:3]).assign(profile="paper")])
    assert [r.profile for r in ranking.rankings(scores)] == ["paper", "quick"]


def test_the_report_prints_the_ranking_and_draws_the_diagram(tmp_path):
    scores = _scores(BLOCKS[:3])
    built = [t for t in tables.build_tables(scores) if t.name.startswith("ranking_across_datasets")]
    (table,) = built
    text = export.to_markdown(table)
    assert "Friedman test" in text and "Nemenyi critical difference" in text and "| a |" in text.replace("**", "")
    csv = export.to_csv(table)
    assert csv.splitlines()[0].startswith("method,average_rank")
    (figure,) = ranking_figures(scores, tmp_path)
    assert figure.png.exists() and ET.parse(figure.svg).getroot().tag.endswith("svg")
    assert "critical difference" in figure.caption


def _store(root):
    """A results folder with runs of three datasets (what `xmbench report` reads)."""
    from dataclasses import asdict

    from xmbench.results.schema import RunKey
    from xmbench.results.store import ResultsStore

    store = ResultsStore(root)
    scores = _scores(BLOCKS[:3])
    for (dataset, method, seed), rows in scores.groupby(["dataset", "method", "seed"]):
        key = RunKey(dataset, "p", method, int(seed), "quick")
        manifest = {"run_id": key.run_id, "status": "ok", "key": asdict(key),
                    "dataset": {"classes": ["c0"], "modalities": {"a": "image", "b": "text"}}}
        store.write_run(key, rows.assign(run_id=key.run_id), None, manifest, None)
    return store


def test_xmbench_report_over_three_datasets_prints_the_ranking_and_writes_the_diagram(tmp_path):
    from click.testing import CliRunner

    from xmbench.cli import cli

    _store(tmp_path / "results")
    result = CliRunner().invoke(cli, ["report", "--out", str(tmp_path / "results"), "--to", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    assert "### Ranking across datasets" in result.output and "Friedman test: statistic" in result.output
    figures = tmp_path / "report" / "figures"
    assert (figures / "critical_difference_quick.png").exists() and (figures / "critical_difference_quick.svg").exists()
    assert (tmp_path / "report" / "tables" / "ranking_across_datasets_quick.csv").exists()
    page = (tmp_path / "report" / "index.html").read_text(encoding="utf-8")
    assert "Critical-difference diagram across datasets" in page and "Ranking across datasets" in page
