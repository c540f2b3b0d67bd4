"""Run configurations as files: ``xmbench run --config FILE.yaml``.

A config holds ``run`` options by name (``paired-fraction`` or ``paired_fraction``; lists for the
comma-list options) and ``set``, method settings as ``{method: {param: value}}`` or a list of
``METHOD.PARAM=VALUE``. Options on the command line override the file's; ``--set`` values are merged
into its ``set``, the command line winning per parameter. Each run's manifest keeps the resolved
config of that run alone (``config``), and ``--config`` also reads a manifest, so
``xmbench run --config results/runs/ID/manifest.json`` re-runs it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from xmbench import strict_yaml
from xmbench.errors import XmbenchError, first_line

SET = "set"


def read_config(path: Path, options: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """(parameter -> value as the command line would give it, the ``set`` entries) of a config file or
    a run's manifest; ``options`` maps the names a file may use (option names, dashes as
    underscores) to the command's parameter names."""
    try:
        loaded = strict_yaml.load(Path(path).read_text())  # JSON is YAML: manifests read the same way
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as error:
        raise XmbenchError(f"config {path}: not readable ({first_line(error)})") from None
    if isinstance(loaded, dict) and "manifest_version" in loaded:
        if not isinstance(loaded.get("config"), dict):
            raise XmbenchError(f"config {path}: a manifest without a `config` (written before configs were kept)")
        loaded = loaded["config"]
    if not isinstance(loaded, dict):
        raise XmbenchError(f"config {path}: expected a mapping of run options, got {type(loaded).__name__}")
    values: dict[str, Any] = {}
    for key, value in loaded.items():
        name = str(key).replace("-", "_")
        if name == SET:
            continue
        if name not in options:
            close = difflib.get_close_matches(name.replace("_", "-"), [v.replace("_", "-") for v in options], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise XmbenchError(f"config {path}: unknown option {key!r}{hint}")
        values[options[name]] = _as_option(value)
    return values, set_entries(loaded.get(SET) or {}, path)


def set_entries(settings: Mapping[str, Any] | list[str], where: object) -> list[str]:
    """A config's ``set`` as ``METHOD.PARAM=VALUE`` entries."""
    if isinstance(settings, list):
        return [str(entry) for entry in settings]
    if not isinstance(settings, Mapping):
        raise XmbenchError(f"config {where}: `set` must map methods to {{param: value}} or list METHOD.PARAM=VALUE")
    entries = []
    for method, params in settings.items():
        if not isinstance(params, Mapping):
            raise XmbenchError(f"config {where}: set.{method} must map parameters to values")
        entries += [f"{method}.{param}={_as_option(value)}" for param, value in params.items()]
    return entries


def merge_sets(from_file: list[str], from_command_line: Iterable[str]) -> list[str]:
    """The file's settings, then the command line's: the command line's entry for a METHOD.PARAM the
    file sets too wins. One METHOD.PARAM twice within one source is refused (which would it be?)."""
    merged: dict[str, str] = {}
    for source, entries in (("the config's set", from_file), ("--set", list(from_command_line))):
        targets = [entry.partition("=")[0].strip() for entry in entries]
        repeated = sorted({t for t in targets if targets.count(t) > 1})
        if repeated:
            raise XmbenchError(f"{source} gives {', '.join(repeated)} twice; give each parameter once")
        merged.update(zip(targets, entries, strict=True))
    return list(merged.values())


def _as_option(value: Any) -> Any:
    """YAML values as the command line spells them: lists as comma lists, numbers as text, flags as bools."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (list, tuple)):  # a trailing comma keeps [1] a list: "--seeds 1" is a count
        return ",".join(str(_as_option(v)) for v in value) + ("," if len(value) == 1 else "")
    if isinstance(value, float):
        return repr(value)  # round-trips exactly
    return str(value)
