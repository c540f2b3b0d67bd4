"""--paired-fraction: a class-stratified paired subset, the same for every method of a seed."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from click.testing import CliRunner

from xmbench import api
from xmbench.cli import cli
from xmbench.data.base import PairedSplit
from xmbench.data.fraction import withhold_pairing
from xmbench.errors import XmbenchError
from xmbench.results.schema import RunKey


def labelled_pairs(n_per_class: int = 40, n_classes: int = 5) -> PairedSplit:
    y = np.repeat(np.arange(n_classes), n_per_class)
    rows = np.arange(len(y), dtype=np.float32)[:, None]
    return PairedSplit(np.hstack([rows, rows]), -rows, y, y)  # row id readable from the features


def test_subset_is_stratified_and_the_rest_loses_pairing_and_labels():
    train = labelled_pairs()
    split = withhold_pairing(train, 0.25, seed=4)
    assert len(split.paired) == 50 and np.bincount(split.paired.y_a).tolist() == [10] * 5
    assert np.array_equal(split.paired.a[:, 0], split.paired_index)  # pairs stay intact
    assert np.array_equal(-split.paired.b[:, 0], split.paired_index)
    rest = np.setdiff1d(np.arange(len(train)), split.paired_index)
    ids_a, ids_b = split.unpaired.a[:, 0], -split.unpaired.b[:, 0]
    assert sorted(ids_a) == sorted(ids_b) == rest.tolist()  # every remaining row, once per modality
    assert not np.array_equal(ids_a, ids_b)  # independently shuffled: row i of a and b are unrelated
    assert not hasattr(split.unpaired, "y_a")


def test_subset_depends_on_the_seed_only():
    train = labelled_pairs()
    first, again, other = (withhold_pairing(train, 0.1, seed=s) for s in (1, 1, 2))
    assert first.fingerprint == again.fingerprint and np.array_equal(first.paired_index, again.paired_index)
    assert first.fingerprint != other.fingerprint


def test_full_fraction_keeps_everything():
    train = labelled_pairs()
    split = withhold_pairing(train, 1.0, seed=0)
    assert split.paired is train and split.unpaired is None


@pytest.mark.parametrize("fraction", [0, -0.5, 1.5])
def test_fraction_outside_the_unit_interval_is_refused(fraction):
    with pytest.raises(XmbenchError, match=r"paired fraction must lie in \(0, 1\]"):
        withhold_pairing(labelled_pairs(), fraction, seed=0)


def test_too_few_pairs_for_every_class_is_a_clear_error():
    with pytest.raises(XmbenchError, match="paired fraction 0.01 of 200 training pairs"):
        withhold_pairing(labelled_pairs(), 0.01, seed=0)


def test_run_ids_tell_apart_every_setting_that_changes_the_numbers():
    key = RunKey("digits-colors", "unique", "cca", 0, "smoke")
    # pinned: an id that changes by accident would make finished runs look unfinished (and vice versa);
    # it changed on purpose when runs started holding out a validation split, and again when seeds
    # became replicates of the data (``vary``; results before either differ)
    assert key.run_id == "digits-colors_unique_cca_s0_smoke_f72ee7f8aa"
    assert "_pf0.1_" in replace(key, paired_fraction=0.1).run_id
    variants = [key, replace(key, paired_fraction=0.1), replace(key, validation_fraction=0.2),
                replace(key, validation_fraction=0.0), replace(key, model_selection=False), replace(key, split_seed=1),
                replace(key, vary="method")]
    assert len({k.run_id for k in variants}) == len(variants)


def test_every_method_of_a_seed_trains_on_the_same_pairs(tmp_path, feature_cache):
    config = api.RunConfig(
        methods=("cca", "kcca"), seeds=(0, 1), paired_fractions=(0.2,),
        out=tmp_path / "r", cache_dir=feature_cache, device="cpu",
    )
    report = api.run_benchmark(config, log=lambda line: None)
    assert len(report.completed) == 4 and not report.failed
    manifests = [json.loads(p.read_text()) for p in (tmp_path / "r" / "runs").glob("*/manifest.json")]
    by_seed = {}
    for manifest in manifests:
        data = manifest["training_data"]
        n_validation = data["validation"]["n_pairs"]
        assert data["paired_fraction"] == 0.2 and n_validation > 0
        assert data["n_paired"] + n_validation + data["n_unpaired"] == manifest["dataset"]["n_train"]
        assert data["unpaired_used"] is False  # CCA and KCCA learn from pairs only
        by_seed.setdefault(manifest["key"]["seed"], set()).add(data["paired_subset_sha256"])
    assert all(len(prints) == 1 for prints in by_seed.values())
    assert by_seed[0] != by_seed[1]
    assert set(report.scores["paired_fraction"]) == {0.2}


def test_cli_sweeps_fractions_and_rejects_bad_ones(tmp_path, feature_cache):
    args = ["run", "--methods", "cca", "--out", str(tmp_path / "r"), "--cache-dir", str(feature_cache)]
    result = CliRunner().invoke(cli, [*args, "--paired-fraction", "1,0.5"])
    assert result.exit_code == 0, result.output
    assert "paired_fraction" in result.output and "0.5" in result.output
    bad = CliRunner().invoke(cli, [*args, "--paired-fraction", "half"])
    assert bad.exit_code != 0 and "not a comma list of numbers" in bad.output
    zero = CliRunner().invoke(cli, [*args, "--paired-fraction", "0"])
    assert isinstance(zero.exception, XmbenchError) and "paired fraction must lie in (0, 1]" in str(zero.exception)
