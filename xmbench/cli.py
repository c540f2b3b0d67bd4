"""The ``xmbench`` command line: a thin click layer over ``xmbench.api``."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import click
import pandas as pd

from xmbench import api
from xmbench import check as regression
from xmbench import compare as comparison
from xmbench.config import merge_sets, read_config
from xmbench.data import DATASETS
from xmbench.devices import DeviceChoice
from xmbench.entry import one_line_warnings
from xmbench.errors import XmbenchError
from xmbench.executors import EXECUTORS, ExecutionConfig
from xmbench.methods import METHODS
from xmbench.options import FeatureSource, Profile, Vary
from xmbench.registry import BUILT_IN
from xmbench.report import claims, export, paper, tables
from xmbench.report.build import build_report
from xmbench.results.sets import is_export, load_results, write_export
from xmbench.settings import describe, parse_assignments
from xmbench.tracking import TRACKERS


def _comma_list(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _seeds(value: str) -> tuple[int, ...]:
    """``0,1,2`` lists seeds; a single ``N`` means seeds 0..N-1."""
    try:
        parts = [int(p) for p in _comma_list(value)]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma list of integers or a count") from None
    if len(parts) == 1 and "," not in value:
        if parts[0] < 1:
            raise click.BadParameter("a seed count must be at least 1")
        return tuple(range(parts[0]))
    return tuple(parts)


def _fractions(value: str) -> tuple[float, ...]:
    """``1`` or a comma list such as ``1,0.5,0.1`` (a sweep)."""
    try:
        return tuple(float(p) for p in _comma_list(value))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma list of numbers in (0, 1]") from None


def _show(frame: pd.DataFrame, title: str) -> None:
    if frame.empty:
        return
    click.echo(f"\n## {title}\n")
    click.echo(frame.round(4).to_string())


@click.group()
@click.version_option(package_name="xmbench")
def cli() -> None:
    """xmbench: compare cross-modal representation-learning methods on identical frozen features."""


def _load_config(ctx: click.Context, param: click.Parameter, path: Path | None) -> Path | None:
    """Eager: the file's values become the defaults of the other options, so the command line wins."""
    if path is not None:
        names = {opt.lstrip("-").replace("-", "_"): p.name for p in ctx.command.params for opt in p.opts
                 if opt.startswith("--") and p.name not in ("config", "settings")}
        values, entries = read_config(path, names)
        _check_config_values(ctx, path, values)
        ctx.default_map = {**(ctx.default_map or {}), **values}
        ctx.meta["config_set"] = entries
    return path


PARSERS = {"seeds": _seeds, "paired_fractions": _fractions}  # options typed inside ``run``


def _check_config_values(ctx: click.Context, path: Path, values: dict[str, object]) -> None:
    """A config's values typed as their options type them, so a bad one names the file, not an option
    the user never typed."""
    params = {p.name: p for p in ctx.command.params}
    for name, value in values.items():
        try:
            if value is not None:
                params[name].type_cast_value(ctx, value)
            if name in PARSERS and value is not None:
                PARSERS[name](str(value))
        except click.BadParameter as error:
            raise XmbenchError(f"config {path}: {params[name].opts[0].lstrip('-')}: {error.message}") from None


@cli.command()
@click.option("--config", type=click.Path(path_type=Path, dir_okay=False, exists=True), is_eager=True,
              callback=_load_config, expose_value=False,
              help="A YAML file of run options and `set` (or a run's manifest.json, to re-run it); "
              "options given here override it.")
@click.option("--dataset", default="digits-colors", show_default=True,
              help="A registered dataset (see `xmbench list`), or your own data: an .npz, a .parquet or a folder "
              "with a dataset.yaml card (README, Your own data).")
@click.option("--methods", default="cca,kcca", show_default=True, help="Comma list of methods, or `all`.")
@click.option("--pairing", default=None, help="Pairing of the two modalities; default: the dataset's first.")
@click.option("--modalities", default=None, metavar="A,B",
              help="Datasets of three or more modalities: the pair to train on (A, then B), e.g. speech,mnist; "
              "default: the dataset's first two.")
@click.option("--cascade", default=None, metavar="SOURCE,VIA,...,TARGET",
              help="Datasets of three or more modalities: fit each method on every link of the route, compose the "
              "translations, and score SOURCE<->TARGET beside the method fit directly on (SOURCE, TARGET).")
@click.option("--seeds", default="1", show_default=True, help="A count N (seeds 0..N-1) or a comma list such as 3, or 0,1,2.")
@click.option("--paired-fraction", "paired_fractions", default="1", show_default=True,
              help="Fraction of training pairs that keep their pairing, or a comma list (a sweep) such as 1,0.1,0.01.")
@click.option("--profile", type=click.Choice([p.value for p in Profile]), default="smoke", show_default=True)
@click.option("--features", type=click.Choice([f.value for f in FeatureSource]), default=None,
              help="Features of image modalities: supervised (CNN trained on the class labels), unsupervised "
              "(the same CNN trunk as an autoencoder, no labels), pixels (PCA of the raw inputs), raw (the inputs "
              "themselves, flattened, in [0, 1]); default: the "
              "dataset's (supervised, mnist-halves pixels); given: datasets that ship features.")
@click.option("--device", type=click.Choice([d.value for d in DeviceChoice]), default="auto", show_default=True)
@click.option("--data-root", type=click.Path(path_type=Path), default=None, help=f"Dataset folder (or ${api.DATA_ROOT_ENV}).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("results"), show_default=True)
@click.option("--cache-dir", type=click.Path(path_type=Path), default=None, help="Feature cache (or $XMBENCH_CACHE_DIR).")
@click.option("--force", is_flag=True, help="Re-run runs that already have results.")
@click.option("--download", is_flag=True, help="Allow torchvision to download missing datasets (needs internet).")
@click.option("--split-seed", type=int, default=0, show_default=True,
              help="Base seed of the data; with --vary method, the one data draw every seed shares.")
@click.option("--vary", type=click.Choice([v.value for v in Vary]), default="data", show_default=True,
              help="What each seed re-draws: data = the whole experiment (split where there is no official one, "
              "partners, validation split, extractor, recognizers, method); method = the method only (init noise).")
@click.option("--keep-self", is_flag=True, help="Keep each all-modal query in its own gallery (legacy tables).")
@click.option("--validation-fraction", type=float, default=None,
              help="Fraction of the training pairs held out for model selection (0 to 0.5; 0: none); default: "
              "0.1, and 0 for --profile paper (every training pair trains). Off the default, it is part of the "
              "method label.")
@click.option("--model-selection", type=click.Choice(api.SELECTION_CHOICES), default="auto", show_default=True,
              help="Keep the best validation state and stop early; auto: on for smoke and quick, off for paper.")
@click.option("--executor", type=click.Choice(EXECUTORS.names()), default="local", show_default=True,
              help="Where runs execute: this process, or one Ray task per run (pip install 'xmbench[ray]').")
@click.option("--address", default=None, help="With --executor ray: the cluster to join (e.g. auto, ray://head:10001); "
              "default: a local cluster.")
@click.option("--cpus-per-run", type=click.IntRange(min=1), default=None,
              help="Each run's CPU request and torch/BLAS thread count; default: ray 1, local 1 with --jobs above 1, "
              "else unpinned.")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Local executor: runs at once, each in its own process with --cpus-per-run threads (default 1); "
              "numbers equal those of --jobs 1 at that thread count. Default: one per core when several runs are "
              "queued on the CPU, else 1.")
@click.option("--ensemble", is_flag=True,
              help="Train the seeds of each method that supports it (the paired-tower family) as one ensemble: "
              "stacked weights, one vmapped step per update, in this process; for a GPU. Equal to separate runs up "
              "to float rounding (recorded in the manifest).")
@click.option("--gpus-per-run", type=float, default=None, help="With --executor ray: each run's GPU request; "
              "default 1 for --device cuda (and auto on a cluster with GPUs), else 0.")
@click.option("--tracker", type=click.Choice(TRACKERS), default=None,
              help="Also log each run to an experiment tracker: mlflow (pip install \"xmbench[mlflow]\"; "
              "$MLFLOW_TRACKING_URI, default <out>/mlruns).")
@click.option("--set", "settings", multiple=True, metavar="METHOD.PARAM=VALUE",
              help="A method hyper-parameter (repeatable), e.g. cmgans.lr=0.001; part of the run id. "
              "See `xmbench list --method NAME`.")
@click.pass_context
def run(ctx: click.Context, **options: object) -> None:
    """Fit every method on the dataset's frozen features; score retrieval and recognition."""
    entries = merge_sets(ctx.meta.get("config_set", []), options["settings"])
    config = api.RunConfig(
        dataset=options["dataset"],
        methods=_comma_list(options["methods"]),
        pairing=options["pairing"],
        modalities=options["modalities"],
        cascade=options["cascade"],
        seeds=_seeds(options["seeds"]),
        paired_fractions=_fractions(options["paired_fractions"]),
        profile=options["profile"],
        features=options["features"],
        device=options["device"],
        data_root=options["data_root"],
        out=options["out"],
        cache_dir=options["cache_dir"],
        force=options["force"],
        allow_download=options["download"],
        split_seed=options["split_seed"],
        vary=options["vary"],
        keep_self=options["keep_self"],
        validation_fraction=options["validation_fraction"],
        model_selection=options["model_selection"],
        settings=parse_assignments(entries),
        execution=ExecutionConfig(
            options["executor"], options["address"], options["cpus_per_run"], options["gpus_per_run"], options["jobs"],
            options["ensemble"],
        ),
        tracker=options["tracker"],
    )
    report = api.run_benchmark(config, log=lambda line: click.echo(line, err=True))
    if not report.scores.empty:
        names = report.modalities
        legend = f"; A = {names['a']}, B = {names['b']}" if names else ""
        source = report.scores["features"].iloc[0]
        dataset = report.scores["dataset"].iloc[0]
        overall = _one_setting(tables.overall_map(report.scores))
        _show(overall, f"mAP of {dataset}, {source} features (method x task, mean over seeds{legend})")
        marked = claims.unclaimed(overall.index.get_level_values("method").unique(), "retrieval") if len(overall) else {}
        if marked:
            click.echo(claims.note(marked, "retrieval"))
        _show(_one_setting(tables.canonical_correlation(report.scores)),
              "Total canonical correlation of the test embeddings (top k, cross-fitted; mean over seeds)")
        recognition = _one_setting(tables.recognition_accuracy(report.scores))
        _show(recognition, "Recognition accuracy of generated samples (method x source->target, mean over seeds)")
        _show(_one_setting(tables.synchronous_rate(report.scores)), "Synchronous rate of generated pairs (mean over seeds)")
        if not recognition.empty:
            _show(tables.recognition_ceiling(report.scores), "Classifier ceiling (real test data)")
            _show(paper.paper_comparison(report.scores), "Paper vs xmbench (paper profile, or converged runs)")
        training = _one_setting(tables.training_facts(report.scores))
        _show(training, "Training (updates, the update kept, best validation mAP, converged; mean over seeds)")
        _show(_one_setting(tables.model_facts(report.scores)),
              "Model facts (e.g. recovery explained variance, held-out synchronizer accuracy; mean over seeds)")
        _warn_about_budgets(config.profile, report.scores)
    if report.failed:
        raise XmbenchError(f"{len(report.failed)} run(s) failed (reasons in their manifest.json): "
                           + "; ".join(f"{k}: {v}" for k, v in report.failed.items()))


def _warn_about_budgets(profile: str, scores: pd.DataFrame) -> None:
    """One line when the numbers above describe a budget more than a method."""
    caveat = Profile.parse(profile).caveat
    if caveat:
        click.echo(f"\nnote: {caveat}; these numbers test the harness, they are not results", err=True)
    verdicts = scores[(scores["task"] == "training") & (scores["metric"] == "converged")]
    unconverged = sorted(verdicts.loc[verdicts["value"] == 0, "run_id"].unique())
    if unconverged and not caveat:
        click.echo(f"\nwarning: {len(unconverged)} run(s) did not converge (the budget ran out while validation "
                   f"mAP was still improving): {', '.join(unconverged)}", err=True)


def _one_setting(table: pd.DataFrame) -> pd.DataFrame:
    """A run covers one dataset/pairing/profile; the fraction level only matters in a sweep."""
    if table.empty:
        return table
    table = table.droplevel(list(tables.GROUP))
    if table.index.get_level_values("paired_fraction").nunique() == 1:
        table = table.droplevel("paired_fraction")
    return table


@cli.command()
@click.option("--out", "--results", "results", type=click.Path(path_type=Path), multiple=True, default=[Path("results")],
              show_default=True, help="A results folder or an export (.parquet); repeat to merge several (by run id).")
@click.option("--to", "target", type=click.Path(path_type=Path), default=None,
              help="Report folder; default <first results folder>/report, or <file>-report beside an export.")
@click.option("--dataset", default="", help="Comma list filter.")
@click.option("--pairing", default="", help="Comma list filter.")
@click.option("--methods", default="", help="Comma list filter.")
@click.option("--profile", default="", help="Comma list filter.")
@click.option("--vary", default="", help="Comma list filter: data (replicates), method (method seeds only).")
@click.option("--figures/--no-figures", default=True, show_default=True, help="Draw the plots (slower).")
def report(results: tuple[Path, ...], target: Path | None, dataset: str, pairing: str, methods: str, profile: str, vary: str,
           figures: bool) -> None:
    """Tables (markdown on stdout; CSV, markdown, LaTeX), figures (PNG, SVG) and one HTML page."""
    built = build_report(
        results, target, datasets=_comma_list(dataset), pairings=_comma_list(pairing),
        methods=_comma_list(methods), profiles=_comma_list(profile), varies=_comma_list(vary), figures=figures,
    )
    for table in built.tables:
        click.echo("\n" + export.to_markdown(table))
    click.echo(
        f"\n{len(built.tables)} tables (CSV, markdown, LaTeX) and {len(built.figures)} figures (PNG, SVG) "
        f"written; open {built.html}", err=True,
    )


@cli.command()
@click.option("--baseline", type=click.Path(path_type=Path), required=True, help="A baseline CSV under baselines/.")
@click.option("--tolerance", type=float, default=0.02, show_default=True, help="Largest mAP drop (absolute) that passes.")
@click.option("--update", is_flag=True, help="Deliberately replace the baseline with the current scores of every registered method.")
@click.option("--methods", default="all", show_default=True, help="With --update: the methods to record (the others' rows are kept).")
@click.option("--dataset", default=None, help="With --update on a new file: the setting to record.")
@click.option("--pairing", default=None)
@click.option("--profile", type=click.Choice([p.value for p in Profile]), default="smoke", show_default=True)
@click.option("--seeds", default="1", show_default=True, help="With --update on a new file: a count or a comma list.")
@click.option("--device", type=click.Choice([d.value for d in DeviceChoice]), default="auto", show_default=True)
@click.option("--data-root", type=click.Path(path_type=Path), default=None, help=f"Dataset folder (or ${api.DATA_ROOT_ENV}).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("results/check"), show_default=True,
              help="Where the check's runs go: its own folder, since it runs them on one thread.")
@click.option("--cache-dir", type=click.Path(path_type=Path), default=None)
@click.option("--force", is_flag=True, help="Re-run the baseline's runs even where results exist.")
def check(**options: object) -> None:
    """Run (or read) the baseline's runs and fail if any method's mAP fell by more than the tolerance."""
    path = options["baseline"]
    if not options["tolerance"] >= 0:  # before the baseline's runs run
        raise click.BadParameter(f"must be >= 0, got {options['tolerance']}", param_hint="'--tolerance'")
    methods = api.resolve_methods(_comma_list(options["methods"]))
    if options["update"] and not path.exists():
        baseline = None
        setting = regression.new_setting(
            options["dataset"], options["pairing"], options["profile"], _seeds(options["seeds"]), methods
        )
    else:
        baseline, setting = regression.read_baseline(path)
        if options["update"]:
            setting = dataclasses.replace(setting, methods=methods)
    report, current = regression.run_setting(
        setting, log=lambda line: click.echo(line, err=True),
        **{k: options[k] for k in ("device", "data_root", "out", "cache_dir", "force")},
    )
    if options["update"]:
        if report.failed or current is None:
            raise XmbenchError("not updating the baseline: " + (f"{len(report.failed)} run(s) failed" if report.failed else "no scores"))
        table = current if baseline is None else regression.merge_update(baseline, current)
        regression.write_baseline(path, table)
        click.echo(f"baseline {path} updated: {len(current)} of its {len(table)} rows ({', '.join(setting.methods)})")
        return
    result = regression.compare(baseline, current if current is not None else baseline.iloc[:0], options["tolerance"])
    title = f"{setting.dataset}/{setting.pairing}, {setting.profile}, seeds {' '.join(map(str, setting.seeds))}"
    plus = " (+ the row's measured spread: column allowed)" if "spread" in baseline and baseline["spread"].gt(0).any() else ""
    _show(result.improvements.set_index(regression.ROW), f"Improved by more than {result.tolerance} mAP{plus} ({title}); "
          "record them with --update")
    unregistered = sorted(set(METHODS.names()) - set(setting.methods))
    if unregistered:
        click.echo(f"\nnot in the baseline (add them with --update): {', '.join(unregistered)}")
    if result.passed and not report.failed:
        click.echo(f"\nmAP check passed: {len(baseline)} method x task scores within {result.tolerance}{plus} of {path}")
        return
    _show(result.regressions.set_index(regression.ROW), f"REGRESSED by more than {result.tolerance} mAP{plus} ({title})")
    _show(result.missing.set_index(regression.ROW), "Missing from the current scores (failed or removed methods)")
    raise XmbenchError(
        f"mAP check failed against {path}: {len(result.regressions)} regression(s), {len(result.missing)} missing"
        + (f", {len(report.failed)} failed run(s)" if report.failed else "")
    )


@cli.command(name="export")
@click.option("--out", "--results", "results", type=click.Path(path_type=Path), multiple=True, default=[Path("results")],
              show_default=True, help="A results folder (or an export); repeat to merge several (by run id).")
@click.option("--to", "target", type=click.Path(path_type=Path), required=True, help="The Parquet file to write.")
def export_results(results: tuple[Path, ...], target: Path) -> None:
    """Every finished run's scores with its facts (version, seeds, converged, timings, device, ...) as
    one Parquet file, for pandas, DuckDB or Spark; `report` and `compare` read it as a folder."""
    if not is_export(target):
        raise XmbenchError(f"{str(target)!r}: an export is a Parquet file; name it *.parquet")
    result_set = load_results(results)
    write_export(result_set.table, target)
    table = result_set.table
    click.echo(f"{table['run_id'].nunique()} runs, {len(table)} rows written to {target}", err=True)


@cli.command()
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@click.option("--tolerance", type=float, default=0.02, show_default=True,
              help="A row regresses when it is significantly worse and fell by more than this (mAP).")
@click.option("--to", "to", type=click.Path(path_type=Path), default=None, help="Also write the rows as CSV here.")
def compare(old: Path, new: Path, tolerance: float, to: Path | None) -> None:
    """Compare two result sets (results folders, export files, or either and a baseline file) method by method and
    task by task; exit 1 when a row got significantly worse by more than the tolerance."""
    if not tolerance >= 0:
        raise click.BadParameter(f"must be >= 0, got {tolerance}", param_hint="'--tolerance'")
    result = comparison.compare_sides(comparison.read_side(old), comparison.read_side(new), tolerance)
    click.echo(comparison.markdown(result))
    if to is not None:
        result.table.to_csv(to, index=False)
    if len(result.regressions):
        rows = "; ".join("/".join(str(v) for v in row) for row in result.regressions[["dataset", "method", "task"]]
                         .itertuples(index=False))
        click.echo(f"error: {len(result.regressions)} row(s) worse by more than {tolerance}: {rows}", err=True)
        raise SystemExit(1)


@cli.command(name="list")
@click.option("--method", default=None, help="One method's parameters, defaults per profile and documented choices.")
def list_(method: str | None) -> None:
    """Datasets (with pairings), methods (with the package each comes from) and profiles."""
    if method is not None:
        click.echo(describe(method))
        return
    click.echo("datasets:")
    for name in DATASETS.names():
        entry = DATASETS.get(name)
        source = entry.check_features(None).value
        modalities = getattr(entry, "modality_names", ())  # three or more: --modalities / --cascade pick them
        click.echo(f"  {name:20s} pairings: {', '.join(entry.pairings):20s} features: {source:10s} "
                   f"{_origin(DATASETS, name)}{entry.description}"
                   + (f" (modalities: {', '.join(modalities)}; --modalities, --cascade)" if modalities else "")
                   + (f" (note: {entry.caveat})" if entry.caveat else ""))
    click.echo("methods:")
    for name in METHODS.names():
        doc = (METHODS.get(name).__doc__ or "").strip().splitlines()[0]
        click.echo(f"  {name:20s} {_origin(METHODS, name)}{doc}")
    for alias, (name, why) in sorted(METHODS.aliases().items()):
        click.echo(f"  {alias:20s} alias of {name}: {why}")
    click.echo("profiles: " + ", ".join(p.value for p in Profile))
    click.echo("feature sources (--features): " + ", ".join(f.value for f in FeatureSource))
    for registry in (METHODS, DATASETS):
        for where, reason in registry.broken.items():
            click.echo(f"not loaded: {registry.kind} plugin {where}: {reason}")


def _origin(registry, name: str) -> str:  # noqa: ANN001
    origin = registry.origin(name)
    return "" if origin == BUILT_IN else f"[{origin}] "


def main() -> None:
    one_line_warnings()
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:  # click's form of Ctrl-C
        click.echo("interrupted; finished runs are kept", err=True)
        sys.exit(130)
    except click.UsageError as error:  # one line, not click's usage block
        command = f"xmbench {error.ctx.info_name} --help" if error.ctx is not None and error.ctx.parent else "xmbench --help"
        click.echo(f"error: {error.format_message()} (see {command})", err=True)
        sys.exit(error.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except XmbenchError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    from xmbench.entry import main as entry  # with the signal handling of the console command

    entry()
