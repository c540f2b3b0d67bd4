"""Every case of the hostile user's battery (``tests/hostile.py``) is clean: a correct run, one clear
error line before anything runs, or a correct run with its one warning line; never a traceback, a
silently wrong number or a misleading message."""

from __future__ import annotations

import pytest

from tests.hostile import cases, try_case

CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=[f"{c.area}: {c.name}" for c in CASES])
def test_case_is_clean(case, tmp_path):
    verdict, what = try_case(case, tmp_path)
    assert verdict == "clean", f"{verdict}: {what}"


def test_the_battery_covers_every_area_the_issue_names():
    areas = {case.area for case in CASES}
    assert areas == {"user data", "settings", "config", "baseline", "report", "plugins"}
    assert len(CASES) >= 100 and len({(c.area, c.name) for c in CASES}) == len(CASES)
