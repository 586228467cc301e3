"""The checks a reviewer would run: lint, format, types and the one-way layering."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECKS = {
    "ruff check": [sys.executable, "-m", "ruff", "check", "src", "tests", "bench"],
    "ruff format": [sys.executable, "-m", "ruff", "format", "--check", "src", "tests", "bench"],
    "mypy": [sys.executable, "-m", "mypy"],
    # the console script sits beside the interpreter, in a venv that need not be on PATH
    "import layering": [str(Path(sys.executable).with_name("lint-imports"))],
}


@pytest.mark.parametrize("name", list(CHECKS))
def test_check_passes(name: str) -> None:
    result = subprocess.run(CHECKS[name], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
