"""Valid values of a method's hyper-parameters, declared once beside its defaults (``param_ranges``).

``--set`` and a config's ``set`` are checked against them before anything loads (``xmbench.settings``),
``fit`` checks every parameter again (a notebook's constructor call), and ``xmbench list --method``
shows them. A range says what a value may be, in words a message can quote: ``lr must be positive,
got 0.0``. Rules that tie parameters together stay in the method's own ``_check_params``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Number:
    """A finite number (``integer``: an int) between ``low`` and ``high``; ``none``: None allowed too."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    integer: bool = False
    none: bool = False

    def allows(self, value: Any) -> bool:
        if value is None:
            return self.none
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return False
        if self.integer and not isinstance(value, int):
            return False
        low_ok = self.low is None or (value > self.low if self.low_open else value >= self.low)
        high_ok = self.high is None or (value < self.high if self.high_open else value <= self.high)
        return low_ok and high_ok

    def __str__(self) -> str:
        if self.integer and self.low == 1 and self.high is None and not self.low_open:
            text = "a positive integer"
        elif self.integer and self.low == 0 and self.high is None and not self.low_open:
            text = "an integer >= 0"
        elif self.low == 0 and self.low_open and self.high is None:
            text = "positive"
        elif self.low is not None and self.high is not None:
            text = f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"
        elif self.low is not None:
            text = f"{'>' if self.low_open else '>='} {self.low:g}"
        elif self.high is not None:
            text = f"{'<' if self.high_open else '<='} {self.high:g}"
        else:
            text = "a finite number"
        return f"None or {text}" if self.none else text


@dataclass(frozen=True)
class OneOf:
    """One of a fixed set of values."""

    choices: tuple[Any, ...]

    def allows(self, value: Any) -> bool:
        return value in self.choices

    def __str__(self) -> str:
        return f"one of {', '.join(map(str, self.choices))}"


@dataclass(frozen=True)
class Each:
    """A tuple whose items are each ``item``: exactly ``length`` of them, or at least ``min_length``."""

    item: Number | OneOf
    length: int | None = None
    min_length: int = 1
    what: str = ""  # what the tuple is, for the message: "layer widths"

    def allows(self, value: Any) -> bool:
        if not isinstance(value, tuple | list):
            return False
        size_ok = len(value) == self.length if self.length is not None else len(value) >= self.min_length
        return size_ok and all(self.item.allows(v) for v in value)

    def __str__(self) -> str:
        item = str(self.item)
        plural = {"a positive integer": "positive integers"}.get(item, f"numbers {item}")
        size = f"{self.length} " if self.length is not None else ("a non-empty tuple of " if self.min_length == 1 else
                                                                  f"at least {self.min_length} ")
        return f"{size}{plural}" + (f" ({self.what})" if self.what else "")


Range = Number | OneOf | Each

POSITIVE_INT = Number(low=1, integer=True)
OPTIONAL_POSITIVE_INT = Number(low=1, integer=True, none=True)
POSITIVE = Number(low=0, low_open=True)
NON_NEGATIVE = Number(low=0)
UNIT = Number(low=0, high=1)
SLOPE = Number(low=0, high=1, high_open=True)  # a leaky ReLU's negative slope
ADAM_BETAS = Each(Number(low=0, high=1, high_open=True), length=2, what="Adam's beta1, beta2")
WIDTHS = Each(POSITIVE_INT, what="layer widths")
SCHEDULE = {"eval_every": POSITIVE_INT, "patience": POSITIVE_INT}  # every trained method's


def range_problems(ranges: Mapping[str, Range], params: Mapping[str, Any]) -> list[str]:
    """One line per parameter of ``params`` outside its declared range."""
    return [f"{name} must be {ranges[name]}, got {value!r}"
            for name, value in params.items() if name in ranges and not ranges[name].allows(value)]
