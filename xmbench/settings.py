"""Method settings from outside the package: ``--set METHOD.PARAM=VALUE`` and a config's ``set``.

A setting is checked against the method's constructor (an unknown method or parameter says "did you
mean"), typed from the parameter's default, and checked against the parameter's declared range
(``param_ranges``, ``xmbench.methods.params``), all before anything loads. Typing: ``bool`` takes true/false/yes/no/on/off/1/0, ``int``
and ``float`` their literals, a tuple or list a comma list typed by its first element, a parameter
whose default is ``None`` a YAML scalar (number, bool, null or text). Settings override the profile's
values; ``seed``, ``device`` and ``model_selection`` have their own options and cannot be set.
"""

from __future__ import annotations

import difflib
import inspect
import math
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from xmbench.errors import XmbenchError
from xmbench.methods import METHODS
from xmbench.methods.params import range_problems

RESERVED = {"seed": "--seeds", "device": "--device", "model_selection": "--model-selection"}
Settings = dict[str, dict[str, Any]]  # method -> parameter -> value
_TRUE, _FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}


def parse_assignments(entries: Iterable[str]) -> Settings:
    """``["cmgans.lr=1e-3", ...]`` -> ``{"cmgans": {"lr": 0.001}}``, checked and typed."""
    raw: Settings = {}
    for entry in entries:
        target, equals, value = entry.partition("=")
        method, dot, param = target.strip().partition(".")
        if not (equals and dot and method and param.strip()):
            raise XmbenchError(f"--set {entry!r}: expected METHOD.PARAM=VALUE, e.g. cmgans.lr=0.001")
        if param.strip() in raw.get(method, {}):
            raise XmbenchError(f"--set {method}.{param.strip()} is given twice ({raw[method][param.strip()]!r} and "
                               f"{value.strip()!r}); give each parameter once")
        raw.setdefault(method, {})[param.strip()] = value.strip()
    return check_settings(raw)


def check_settings(settings: Mapping[str, Mapping[str, Any]]) -> Settings:
    """Validate ``{method: {param: value}}`` (values as text or already typed, e.g. from YAML)."""
    checked: Settings = {}
    for method, params in settings.items():
        if not isinstance(params, Mapping):
            raise XmbenchError(f"setting of {method!r} must map parameters to values, got {params!r}")
        cls = METHODS.get(method)
        defaults = parameters(cls)
        for param, value in params.items():
            if param in RESERVED:
                raise XmbenchError(f"{method}.{param} is chosen by {RESERVED[param]}, not --set")
            if param not in defaults:
                close = difflib.get_close_matches(param, defaults, n=3)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise XmbenchError(f"{method} has no parameter {param!r}{hint} "
                                   f"(see `xmbench list --method {method}`)")
            typed = coerce(f"{method}.{param}", defaults[param], value)
            outside = range_problems(cls.param_ranges, {param: typed})
            if outside:
                raise XmbenchError(f"{method}.{outside[0]} (see `xmbench list --method {method}`)")
            checked.setdefault(method, {})[param] = typed
    return checked


def parameters(cls: type) -> dict[str, Any]:
    """A method's constructor parameters and their defaults (the settable ones)."""
    signature = inspect.signature(cls.__init__)
    return {name: p.default for name, p in signature.parameters.items()
            if name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and name not in RESERVED}


def coerce(where: str, default: Any, value: Any) -> Any:
    """``value`` as the type of ``default``; one clear line when it is not one."""
    kind = type(default)
    try:
        if isinstance(default, bool):
            return _boolean(value)
        if isinstance(default, int):
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value) if not isinstance(value, str) else int(value.strip())
        if isinstance(default, float):
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
            if math.isnan(number):
                raise ValueError
            return number
        if isinstance(default, str):
            return str(value)
        if isinstance(default, (tuple, list)):
            items = value.split(",") if isinstance(value, str) else list(value)
            template = default[0] if default else None
            try:
                return kind(coerce(where, template, item) for item in items)
            except XmbenchError:  # say what the whole value should be, not one item
                raise ValueError from None
        if default is None:
            return yaml.safe_load(value) if isinstance(value, str) else value
    except (TypeError, ValueError, yaml.YAMLError):
        raise XmbenchError(f"{where}={value!r}: expected {_describe(default)}") from None
    raise XmbenchError(f"{where} (default {default!r}) cannot be set from outside Python")


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError


def _describe(default: Any) -> str:
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, (tuple, list)):
        return f"a comma list like {','.join(map(str, default))}"
    return f"{'a' if not isinstance(default, int) else 'an'} {type(default).__name__} like {default!r}"


def as_key(params: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """One method's settings as the sorted, hashable form a run key holds."""
    return tuple(sorted((name, tuple(v) if isinstance(v, list) else v) for name, v in params.items()))


def describe(name: str) -> str:
    """``xmbench list --method NAME``: the parameters, their defaults and each profile's values (blank:
    the default), then the docstring, where the documented choices are."""
    import pandas as pd

    from xmbench.options import Profile

    if name in METHODS.aliases():
        target, why = METHODS.aliases()[name]
        return f"{name} is an alias of {target}: {why}\n\n" + describe(target)
    cls = METHODS.get(name)
    defaults = parameters(cls)
    table = pd.DataFrame(
        {"default": {p: repr(v) for p, v in defaults.items()}}
        | {"valid": {p: str(cls.param_ranges[p]) if p in cls.param_ranges else "" for p in defaults}}
        | {profile.value: {p: repr(cls.profiles.get(profile, {})[p]) if p in cls.profiles.get(profile, {}) else ""
                           for p in defaults} for profile in Profile}
    )
    table.index.name = "parameter"
    doc = inspect.cleandoc(cls.__doc__ or "")
    return (f"{name} ({cls.__module__}.{cls.__qualname__}, from {METHODS.origin(name)})\n\n"
            f"{table.to_string()}\n\n"
            f"set one with --set {name}.PARAM=VALUE; seed, device and model_selection have their own options\n\n{doc}")
