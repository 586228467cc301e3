"""Running the `jairouter` app in-process, against a config file in a temporary directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from jairouter.cli.main import app

# A hand-written config with comments that edits must keep byte for byte.
CLUSTER = """\
# shared by the whole team -- ask before changing
services:
  chat:
    instances:
      - model: qwen2.5:7b          # the one everyone uses
        url: http://10.0.0.5:11434
        adapter: ollama
"""


@pytest.fixture
def config_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the commands under test keep their config; the caller's own settings are ignored."""
    monkeypatch.delenv("JAIROUTER_CONFIG", raising=False)
    return tmp_path / "jairouter.yaml"


@pytest.fixture
def jairouter(config_path: Path) -> Callable[..., Result]:
    """`jairouter ARGS... --config <config_path>`, returning exit code, stdout and stderr."""

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(app, [*args, "--config", str(config_path)])

    return invoke
