"""The `logging` and `tracing` blocks: what the router tells about the requests it serves."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from jairouter.config.base import StrictModel

LogFormat = Literal["json", "text"]


class AccessLogConfig(StrictModel):
    """One line per proxied request, written off the event loop."""

    enabled: bool = Field(True, description="Write the access log (on by default, as in nginx).")
    output: str = Field(
        "stdout",
        min_length=1,
        description="stdout, stderr, or the path of a file the lines are appended to.",
    )
    format: LogFormat | None = Field(
        None, description="json or text; unset follows `jairouter serve --log-format`."
    )
    include_text: bool = Field(
        False,
        description="Also log prompt and completion text. Off by default: the log would then "
        "hold everything users sent and got, often personal or secret data.",
    )


class LoggingConfig(StrictModel):
    """What the router logs about the requests it serves."""

    access_log: AccessLogConfig = Field(
        default_factory=AccessLogConfig, description="One line per proxied request."
    )


class TracingConfig(StrictModel):
    """OpenTelemetry tracing; needs `pip install 'jairouter[otel]'`."""

    enabled: bool = Field(
        False, description="A span per request and one per upstream try, exported over OTLP."
    )
    service_name: str = Field(
        "jairouter", min_length=1, description="The `service.name` the spans carry."
    )
    endpoint: str | None = Field(
        None,
        description="OTLP/HTTP traces URL, e.g. http://collector:4318/v1/traces; unset uses "
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT, else localhost:4318.",
    )
