"""Writing files so that a reader never sees half of one: the one atomic writer every results,
cache and report file goes through, the hash that lets a reader tell a damaged file, and the
clean-up of temporary files an interrupted writer left behind."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

TMP_SUFFIX = ".tmp"
_OWNED = re.compile(r"\.xmb(\d+)\.")  # the writer's pid in a temporary file's name
ORPHAN_AGE_S = 3600.0  # temporary files without a pid (older versions) count as left over after this


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_umask()  # what open() would give: mkstemp's files are owner-only (0600)


def atomic_write_bytes(path: Path, write: Any) -> None:
    """Write through a temporary file in the same folder, then rename: readers never see half a
    file. The file gets the user's umask, as a plain ``open`` would."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.xmb{os.getpid()}.", suffix=TMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_leftovers(folder: Path, pattern: str = f".*{TMP_SUFFIX}") -> int:
    """Delete the temporary files (``pattern`` under ``folder``) whose writer is no longer running:
    those of a live process are another writer's work in progress. Returns how many went."""
    removed = 0
    for path in Path(folder).glob(pattern):
        owner = _OWNED.search(path.name)
        stale = not _alive(int(owner.group(1))) if owner else time.time() - path.stat().st_mtime > ORPHAN_AGE_S
        if stale:
            try:
                path.unlink() if path.is_file() else shutil.rmtree(path)
                removed += 1
            except OSError:
                pass  # another process cleaned it first
    return removed

