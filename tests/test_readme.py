"""README's two set-up commands are exactly what CI runs, so a newcomer's path is the tested path."""

from __future__ import annotations

import re

from tests.conftest import REPO


def readme_commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", (REPO / "README.md").read_text(), flags=re.S)
    return [block.strip() for block in blocks[:2]]


def test_ci_runs_the_readme_commands_verbatim():
    install_and_run, run_tests = readme_commands()
    ci_lines = (REPO / ".ci" / "run").read_text().splitlines()
    assert install_and_run.startswith("python3 -m venv") and "xmbench run" in install_and_run
    assert run_tests == "python -m pytest -q"
    assert install_and_run in ci_lines and run_tests in ci_lines
