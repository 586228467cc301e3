"""Pools as the route table builds them from a config."""

from __future__ import annotations

from jairouter.adapters.registry import ADAPTERS
from jairouter.config.loader import parse_config
from jairouter.pipeline.routing import RouteTable
from jairouter.types import ServiceType


def test_the_pool_detector_uses_the_settings_its_instances_share() -> None:
    """Outlier settings given on every instance of a model (none on the service) are honoured."""
    shared = "{base_ejection_time: 5, max_ejection_time: 50}"
    own = f"        health_check:\n          outlier: {shared}\n"
    instances = "".join(
        f"      - model: m\n        url: {url}\n{own}" for url in ("http://a:1", "http://b:1")
    )
    config = parse_config(f"services:\n  chat:\n    instances:\n{instances}", "x.yaml")
    pool = RouteTable(config, ADAPTERS).pool(ServiceType.CHAT, "m")
    assert (pool.outliers.config.base_ejection_time, pool.outliers.config.max_ejection_time) == (
        5,
        50,
    )
