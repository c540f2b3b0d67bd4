"""Reading dataset files under the data root, and torchvision downloads that fail politely offline."""

from __future__ import annotations

import gzip
import warnings
import zipfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

from xmbench.errors import DataUnavailableError, XmbenchError, first_line

T = TypeVar("T")
REDOWNLOAD = "replace it with a fresh copy, or pass --download when online"
NPZ_ERRORS = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error)



NPZ_MAGIC = b"PK\x03\x04"  # an npz is a zip archive


def read_npz(path: Path, keys: Sequence[str], expected: str, remedy: str = REDOWNLOAD) -> dict[str, np.ndarray]:
    """The arrays ``keys`` of the npz archive ``path``. Whatever is wrong with the file (not an npz,
    cut, bit-flipped, a key missing) is one ``XmbenchError`` naming the file, the problem and what
    it should hold (``expected``) and what to do (``remedy``), never a zip or zlib traceback."""
    def bad(problem: str) -> XmbenchError:
        return XmbenchError(f"{path}: {problem}; expected {expected} ({remedy})")

    try:
        with open(path, "rb") as handle:  # our handle: numpy leaks its own when the zip is corrupt
            if handle.read(len(NPZ_MAGIC)) != NPZ_MAGIC:  # numpy would try it as a pickle and talk of allow_pickle
                raise bad("not an npz archive (corrupt, cut or a wrong file)")
            handle.seek(0)
            with np.load(handle, allow_pickle=False) as archive:
                absent = [key for key in keys if key not in archive.files]
                if absent:
                    raise bad(f"lacks {', '.join(absent)}")
                return {key: archive[key] for key in keys}
    except NPZ_ERRORS as error:
        raise bad(f"unreadable ({first_line(error)})") from None
IDX_DTYPES = {0x08: np.uint8}


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (MNIST format), gzipped or not, as a numpy array."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError, zlib.error) as error:  # gzip's BadGzipFile is an OSError
        raise XmbenchError(f"cannot read {path}: {first_line(error)} (corrupt or cut; {REDOWNLOAD})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise XmbenchError(f"{path} is not an unsigned-byte IDX file (corrupt or wrong file; {REDOWNLOAD})")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise XmbenchError(f"{path} is truncated: header says {shape}, found {data.size} values ({REDOWNLOAD})")
    return data.reshape(shape).copy()  # writable: torch.from_numpy warns on read-only buffers


def find_idx(folder: Path, stem: str) -> Path | None:
    """``stem`` uncompressed or gzipped, whichever exists."""
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def try_download(what: str, download: Callable[[], T]) -> T | None:
    """Run a torchvision download; offline or unwritable data roots give a warning and None."""
    try:
        return download()
    except (OSError, RuntimeError, ValueError) as error:  # URLError is an OSError
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        warnings.warn(f"downloading {what} failed ({reason}); trying local files", stacklevel=2)
        return None


def missing(dataset: str, root: Path, expected: str) -> DataUnavailableError:
    return DataUnavailableError(
        f"dataset {dataset!r}: no data under {root} (expected {expected}); "
        "point --data-root at a folder that has it, or pass --download when online"
    )
