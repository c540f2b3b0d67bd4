"""Name-keyed registries: a duplicate name fails at import, an unknown name says "did you mean".

Installed packages add entries through entry points (group ``xmbench.methods`` or
``xmbench.datasets``; each names a class, or a module whose import registers its classes). A plugin
that fails to load is one warning line and an entry in ``broken``; it never breaks the others.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Callable, Iterator
from importlib import metadata
from typing import Generic, TypeVar

from xmbench.errors import XmbenchError, first_line
from xmbench.preflight import safe_name

T = TypeVar("T")
BUILT_IN = "xmbench"


class PluginWarning(UserWarning):
    """An installed plugin could not be loaded."""


class Registry(Generic[T]):
    """Maps names to registered classes (datasets, methods) and where each came from."""

    def __init__(self, kind: str, group: str | None = None, base: type | None = None) -> None:
        self.kind = kind
        self.group = group  # the entry-point group plugins register under
        self.base = base  # what an entry must subclass, when known
        self._entries: dict[str, T] = {}
        self._origins: dict[str, str] = {}
        self._aliases: dict[str, tuple[str, str]] = {}  # alias -> (registered name, why)
        self.broken: dict[str, str] = {}  # "entry point (package)" -> why it did not load

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(entry: T) -> T:
            self.add(name, entry, origin=entry.__module__.partition(".")[0])
            return entry

        return decorator

    def add(self, name: str, entry: T, origin: str = BUILT_IN) -> None:
        """Register ``entry`` as ``name``; the same class twice is a no-op, another class a ValueError."""
        safe_name(name, f"{self.kind} name")  # run folders are named after it
        if self.base is not None and not (isinstance(entry, type) and issubclass(entry, self.base)):
            raise ValueError(f"{self.kind} {name!r}: {entry!r} is not a subclass of {self.base.__name__}")
        if name in self._entries:
            if self._entries[name] is entry:
                return
            raise ValueError(f"{self.kind} {name!r} is registered twice (first by {self._origins[name]})")
        self._entries[name] = entry
        self._origins[name] = origin

    def add_alias(self, alias: str, name: str, why: str) -> None:
        """``alias`` resolves to the registered ``name`` (one model, one name in every table);
        ``why`` says what the alias was, for ``xmbench list`` and the run's log line."""
        if alias in self._entries or alias in self._aliases:
            raise ValueError(f"{self.kind} alias {alias!r} is already a name")
        self._aliases[alias] = (name, why)

    def canonical(self, name: str) -> str:
        """The registered name ``name`` stands for: itself, or the target of an alias."""
        return self._aliases[name][0] if name in self._aliases else name

    def aliases(self) -> dict[str, tuple[str, str]]:
        """alias -> (registered name, why)."""
        return dict(self._aliases)

    def origin(self, name: str) -> str:
        """The package an entry comes from: ``xmbench`` for the built-in ones."""
        self.get(name)
        return self._origins[self.canonical(name)]

    def load_plugins(self) -> None:
        """Register the entries installed packages declare under ``group``."""
        if self.group is None:
            return
        for point in metadata.entry_points(group=self.group):
            package = point.dist.name if point.dist is not None else point.value.partition(".")[0]
            try:
                loaded = point.load()
                if isinstance(loaded, type):
                    self.add(getattr(loaded, "name", point.name), loaded, origin=package)
                top = point.module.partition(".")[0]
                for name, entry in self._entries.items():  # classes the import registered itself
                    if entry.__module__.partition(".")[0] == top:
                        self._origins[name] = package
            except Exception as error:  # noqa: BLE001 (any failure of foreign code is reported, not raised)
                where = f"{point.name} ({package})"
                self.broken[where] = f"{type(error).__name__}: {first_line(error)}"
                warnings.warn(f"{self.kind} plugin {where} was not loaded: {self.broken[where]}", PluginWarning,
                              stacklevel=2)

    def get(self, name: str) -> T:
        try:
            return self._entries[self.canonical(name)]
        except KeyError:
            close = difflib.get_close_matches(name, [*self._entries, *self._aliases], n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise XmbenchError(
                f"unknown {self.kind} {name!r}{hint} (valid: {', '.join(self.names())})"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries or name in self._aliases

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
