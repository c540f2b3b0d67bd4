"""Checks made before any data is loaded or anything trains, so a bad option or an output folder
that cannot be written costs seconds, not a finished run."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from xmbench.errors import XmbenchError

T = TypeVar("T")


def writable_folder(folder: Path, what: str) -> Path:
    """Create ``folder`` if needed, then create, write and remove a probe file in it; one clear
    error when any step fails (a file in the way, no permission, a read-only file system)."""
    folder = Path(folder).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".xmbench-probe-", suffix=".tmp")
        try:
            os.write(fd, b"probe")
        finally:
            os.close(fd)
            Path(probe).unlink(missing_ok=True)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise XmbenchError(f"{what} {str(folder)!r} is not a writable folder ({reason}); "
                           "choose another or fix its permissions") from None
    return folder


def distinct(values: Sequence[T], what: str, option: str) -> tuple[T, ...]:
    """``values`` as a tuple, refusing an empty list and repeats: a repeated seed or fraction would
    compute and write the same run twice, an empty list would run nothing and still exit 0."""
    if len(values) == 0:
        raise XmbenchError(f"{option} is empty: give at least one {what}")
    repeated = sorted({str(v) for v in values if list(values).count(v) > 1})
    if repeated:
        raise XmbenchError(f"{option} repeats {', '.join(repeated)}: give each {what} once")
    return tuple(values)


_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")


def safe_name(name: str, what: str) -> str:
    """``name`` when it can be part of a file name as it is (run folders are named after datasets and
    methods): letters, digits and ``. _ + -``, not starting with a dot, at most 64 characters;
    otherwise one clear error suggesting ``slug(name)``."""
    if _SAFE_NAME.fullmatch(name) and ".." not in name:
        return name
    hint = slug(name)
    raise XmbenchError(f"{what} {name!r} cannot name files (letters, digits and . _ + - only, not starting with "
                       f"a dot, at most 64 characters)" + (f"; e.g. {hint!r}" if hint else ""))


def slug(text: str) -> str:
    """``text`` made safe to name files: every run of other characters becomes ``-``; '' when nothing is left."""
    return re.sub(r"-{2,}", "-", re.sub(r"[^A-Za-z0-9._+-]+", "-", text)).replace("..", ".").strip("-._")[:64]
