"""Entry-point plugins: discovered at start-up, listed with their package, a broken one reported in
one line without breaking the others; classes passed to the Python API directly."""

from __future__ import annotations

import sys
import textwrap

import pytest
from click.testing import CliRunner

from xmbench import api
from xmbench.cli import cli
from xmbench.methods import METHODS
from xmbench.methods.base import CrossModalMethod
from xmbench.methods.linear.cca import CCA
from xmbench.registry import PluginWarning, Registry


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """Two fake installed distributions on sys.path: one good method plugin, one that fails to import."""
    (tmp_path / "good_plugin.py").write_text(textwrap.dedent('''
        from xmbench.methods.linear.cca import CCA

        class Shrunk(CCA):
            """CCA with strong shrinkage, as a plugin would add a variant of a method."""
            name = "shrunk-cca"

            def __init__(self, n_components=5, shrinkage=0.5, model_selection=False, seed=0, device="cpu"):
                super().__init__(n_components, shrinkage, model_selection, seed, device)
    '''))
    (tmp_path / "broken_plugin.py").write_text("raise ImportError('needs a package that is not installed')\n")
    for dist, point in (("good-plugin", "shrunk-cca = good_plugin:Shrunk"), ("broken-plugin", "bad = broken_plugin:Bad")):
        info = tmp_path / f"{dist.replace('-', '_')}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(f"[xmbench.methods]\n{point}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for module in ("good_plugin", "broken_plugin"):
        sys.modules.pop(module, None)


def test_plugins_register_with_their_package_and_a_broken_one_is_one_warning(installed):
    registry = Registry("method", group="xmbench.methods", base=CrossModalMethod)
    registry.add("cca", CCA)
    with pytest.warns(PluginWarning, match=r"method plugin bad \(broken-plugin\) was not loaded: ImportError: needs a"):
        registry.load_plugins()
    assert registry.names() == ["cca", "shrunk-cca"]
    assert registry.origin("shrunk-cca") == "good-plugin" and registry.origin("cca") == "xmbench"
    assert list(registry.broken) == ["bad (broken-plugin)"]


def test_a_plugin_may_not_take_a_built_in_name(installed):
    registry = Registry("method", group="xmbench.methods", base=CrossModalMethod)
    registry.add("shrunk-cca", CCA)
    with pytest.warns(PluginWarning) as caught:
        registry.load_plugins()
    assert any("shrunk-cca (good-plugin) was not loaded: ValueError: method 'shrunk-cca' is registered twice"
               in str(w.message) for w in caught)
    assert registry.get("shrunk-cca") is CCA


def test_list_shows_plugins_and_runs_them_beside_built_ins(installed, monkeypatch, tmp_path, feature_cache):
    monkeypatch.setattr(METHODS, "_entries", dict(METHODS._entries))
    monkeypatch.setattr(METHODS, "_origins", dict(METHODS._origins))
    monkeypatch.setattr(METHODS, "broken", {})
    with pytest.warns(PluginWarning):
        METHODS.load_plugins()
    listing = CliRunner().invoke(cli, ["list"])
    assert "shrunk-cca           [good-plugin] CCA with strong shrinkage" in listing.output
    assert "not loaded: method plugin bad (broken-plugin): ImportError" in listing.output
    result = CliRunner().invoke(cli, ["run", "--methods", "cca,shrunk-cca", "--out", str(tmp_path / "r"),
                                      "--cache-dir", str(feature_cache)])
    assert result.exit_code == 0, result.output
    assert {"cca", "shrunk-cca"} <= set(api.ResultsStore(tmp_path / "r").load_scores()["method"])


def test_the_api_takes_method_and_dataset_classes(tmp_path, monkeypatch, feature_cache):
    from xmbench.datasets import from_arrays
    from xmbench.testing import planted_pairs

    monkeypatch.setattr(METHODS, "_entries", dict(METHODS._entries))
    monkeypatch.setattr(METHODS, "_origins", dict(METHODS._origins))

    class NotebookCCA(CCA):
        """CCA defined in a notebook, passed to the API as a class without registering it."""
        name = "notebook-cca"

    train, _ = planted_pairs(200, 0, 6, 4, 3, 0.5, seed=0)
    dataset = from_arrays(train.a, train.b, train.y_a, name="notebook-data")
    config = api.RunConfig(dataset=dataset, methods=(NotebookCCA, "cca"), out=tmp_path, cache_dir=feature_cache)
    report = api.run_benchmark(config, log=lambda line: None)
    assert not report.failed and set(report.scores["method"]) == {"notebook-cca", "cca"}
    [label] = set(report.scores["dataset"])  # the name with the data's fingerprint: two contents never table as one
    assert label.startswith("notebook-data@") and len(label.partition("@")[2]) == 8
