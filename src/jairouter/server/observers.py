"""Which observers (access log, tracing) a config asks for, and how long each lives."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from jairouter.config.models import Config
from jairouter.config.observability import LogFormat
from jairouter.server.observe import Observer

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

INSTALL_HINT = "pip install 'jairouter[otel]'"

log = logging.getLogger("jairouter.server")


class TracingUnavailable(Exception):
    """`tracing.enabled` is true but the OpenTelemetry packages are not installed."""

    def __init__(self, missing: str) -> None:
        super().__init__(
            f"tracing.enabled is true but OpenTelemetry is not installed (no {missing}); "
            f"install it with {INSTALL_HINT}, or set tracing.enabled: false"
        )


def observer_for(
    config: Config, log_format: LogFormat, tracer_provider: TracerProvider | None = None
) -> Observer | None:
    """The access log and tracing `config` asks for; None when both are off.

    Starts their background threads, so call it in the process that serves; `close` stops them.
    Raises TracingUnavailable when tracing is on without the `otel` extra.
    """
    access = config.logging.access_log
    access_log = None
    if access.enabled:
        from jairouter.server.access_log import AccessLog
        from jairouter.server.log_writer import LineWriter

        fmt = access.format or log_format
        access_log = AccessLog(LineWriter(access.output), fmt, include_text=access.include_text)
    tracing = None
    if config.tracing.enabled:
        try:
            import jairouter.server.tracing as otel
        except ImportError as exc:
            raise TracingUnavailable(exc.name or str(exc)) from None
        if tracer_provider is None:
            tracing = otel.Tracing(otel.provider_for(config.tracing), owned=True)
        else:
            tracing = otel.Tracing(tracer_provider, owned=False)
    if access_log is None and tracing is None:
        return None
    return Observer(access_log, tracing)


class Observers:
    """The observer new requests use, and those a reload replaced: each kept open until the
    last request that began under it has ended (it ends through it), then closed."""

    def __init__(
        self, log_format: LogFormat, tracer_provider: TracerProvider | None = None
    ) -> None:
        self.log_format = log_format
        self.tracer_provider = tracer_provider
        self.current: Observer | None = None
        self._retired: set[Observer] = set()  # replaced, with requests still in flight
        # Closes under way; held here so the loop's weak references do not lose them.
        self._closing: set[asyncio.Task[None]] = set()

    def start(self, config: Config) -> Observer | None:
        self.current = observer_for(config, self.log_format, self.tracer_provider)
        return self.current

    def update(self, old: Config, new: Config) -> Observer | None:
        """The observer for `new`: the current one if `logging` and `tracing` did not change
        (its log file reopened, for log rotation), else a fresh one."""
        if (new.logging, new.tracing) == (old.logging, old.tracing):
            if self.current is not None:
                self.current.reopen()
            return self.current
        try:
            fresh = observer_for(new, self.log_format, self.tracer_provider)
        except (TracingUnavailable, OSError) as exc:  # no otel extra; a log file not writable
            log.error("%s; the access log and tracing stay as they were", exc)
            return self.current
        if self.current is not None:
            self._retire(self.current)
        self.current = fresh
        return fresh

    def _retire(self, observer: Observer) -> None:
        if observer.in_flight:
            observer.on_idle = self._close_retired
            self._retired.add(observer)
        else:
            self._close_retired(observer)

    def _close_retired(self, observer: Observer) -> None:
        self._retired.discard(observer)
        task = asyncio.get_running_loop().create_task(
            observer.close(), name="jairouter-observer-close"
        )
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        """Close every observer, once the server has drained; returns when all is written."""
        closing = [o.close() for o in (*self._retired, self.current) if o is not None]
        self._retired.clear()
        self.current = None
        await asyncio.gather(*closing, *self._closing)
