"""Progress bars on stderr that switch themselves off when stderr is not a terminal (CI logs)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def progress(iterable: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    return iter(tqdm(iterable, desc=description, total=total, disable=None, leave=False, dynamic_ncols=True))
