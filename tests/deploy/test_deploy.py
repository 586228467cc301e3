"""The Grafana dashboard and the Prometheus alert rules under deploy/ query only series a real
router exposes: every `jairouter_*` name in their PromQL is a sample name of a scrape of a
router with every feature that has metrics turned on (probes, rate limits)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families
from ruamel.yaml import YAML

from jairouter.config.models import Config
from jairouter.simulate import ServerThread, SimSettings, openai_app
from tests.routers import run_router

DEPLOY = Path(__file__).parents[2] / "deploy"
DASHBOARD = DEPLOY / "grafana" / "jairouter.json"
RULES = DEPLOY / "prometheus" / "jairouter-alerts.yml"
NAME = re.compile(r"\bjairouter_[a-z0-9_]+")
PROMQL_KEYS = {"expr", "query", "definition"}  # where Grafana and Prometheus keep PromQL


@pytest.fixture(scope="module")
def exposed() -> set[str]:
    """Sample names (`_total`, `_bucket`, `_count`, `_sum` included) a router exposes."""
    limit = {"algorithm": "token-bucket", "capacity": 100, "rate": 100}
    with ServerThread(openai_app(SimSettings(models=("m",), token_delay=0))) as sim:
        config = Config.model_validate(
            {
                "services": {
                    "chat": {
                        "rate_limit": [limit],
                        "health_check": {"enabled": True, "interval": 60},
                        "fallback": {"static_response": "busy"},
                        "instances": [{"model": "m", "url": sim.url}],
                    }
                }
            }
        )
        with run_router(config) as router:
            text = httpx.get(router.url + "/metrics", timeout=10).text
    return {
        sample.name for family in text_string_to_metric_families(text) for sample in family.samples
    }


def promql(node: Any) -> Iterator[str]:
    """Every PromQL string in a parsed dashboard or rules file."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in PROMQL_KEYS and isinstance(value, str):
                yield value
            else:
                yield from promql(value)
    elif isinstance(node, list):
        for item in node:
            yield from promql(item)


@pytest.mark.parametrize(
    "path", [DASHBOARD, RULES], ids=lambda p: p.name if isinstance(p, Path) else str(p)
)
def test_every_queried_metric_exists(path: Path, exposed: set[str]) -> None:
    text = path.read_text()
    parsed = orjson.loads(text) if path.suffix == ".json" else YAML(typ="safe").load(text)
    used = {name for query in promql(parsed) for name in NAME.findall(query)}
    assert used, f"no jairouter_* metric found in {path}"
    assert used - exposed == set()


def test_the_dashboard_charts_every_metric_family(exposed: set[str]) -> None:
    used = set(NAME.findall(DASHBOARD.read_text()))
    families = {re.sub(r"_(total|bucket|count|sum)$", "", name) for name in exposed}
    charted = {re.sub(r"_(total|bucket|count|sum)$", "", name) for name in used}
    # Circuit openings are charted as transitions to "open", the same count by state.
    assert families - charted == {"jairouter_circuit_opened"}
