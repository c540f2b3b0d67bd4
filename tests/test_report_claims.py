"""Each method judged on what its paper claims: the § mark, its note and its CSV column."""

from __future__ import annotations

import pandas as pd

from xmbench.methods import METHODS
from xmbench.report import claims, export, tables
from xmbench.report.ranking import rankings

TASKS = ("A->B", "B->A", "A->A+B", "B->A+B")


def _rows(method, dataset, seed, value, tasks=TASKS, metric="mAP"):
    return [dict(run_id=f"{dataset}-{method}-{seed}", dataset=dataset, pairing="p", method=method, seed=seed,
                 vary="data", profile="quick", paired_fraction=1.0, features="supervised", task=task, space="",
                 **{"class": "all"}, metric=metric, value=value + 0.01 * seed) for task in tasks]


def test_every_built_in_method_declares_what_its_paper_claims():
    for name in METHODS.names():
        declared = METHODS.get(name).paper_claims
        assert declared is not None and set(declared) <= {"retrieval", "translation", "synchrony", "correlation"}, name
    assert claims.claims_of("syncgan") == ("synchrony", "translation")
    assert claims.claims_of("cca[n_components=50]") == ("retrieval",)
    assert claims.claims_of("dcca") == ("correlation",)
    assert claims.claims_of("a-plugin-nobody-registered") is None


def test_retrieval_tables_mark_syncgan_and_point_to_its_claims():
    scores = pd.DataFrame([r for d in ("d1", "d2", "d3") for s in range(3)
                           for r in _rows("cca", d, s, 0.9) + _rows("syncgan", d, s, 0.2)
                           + _rows("syncgan", d, s, 0.5, tasks=("A=>B", "B=>A"))
                           + _rows("cca", d, s, 0.4, tasks=("A=>B",))])
    built = {t.name: t for t in tables.build_tables(scores)}
    overall = built["overall_map_d1_quick"]
    assert overall.display.loc["syncgan"].str.endswith("§").all() and not overall.display.loc["cca"].str.contains("§").any()
    (note,) = [n for n in overall.notes if n.startswith("§")]
    assert "retrieval in a common space" in note and "synchronous-rate table" in note and "translation" in note
    csv = export.to_csv(overall)
    assert "paper_claim" in csv.splitlines()[0] and "§ no paper claim for retrieval" in csv
    assert "§" in export.to_latex(overall) and "§" in export.to_markdown(overall)
    translation = built["translation_map_d1_quick"]  # cca's paper claims no translation
    assert translation.display.loc["cca"].str.endswith("§").all()
    assert not translation.display.loc["syncgan"].str.contains("§").any()
    ranking = tables.ranking_table(rankings(scores)[0])
    assert "§" not in ranking.display.loc["syncgan", "average rank"]  # marked by build_tables, not by the builder
    assert built["ranking_across_datasets_quick"].display.loc["syncgan"].str.endswith("§").all()
