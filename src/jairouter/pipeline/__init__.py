"""The request's path, in one readable place (`Pipeline.handle` and the methods it calls).

    in          server edge: body read, `intake.parse_request`
    → limit     `admission`: service/model/client/global rate limits (429 + X-RateLimit-*)
    → choose    `choose`: balancer pick, skipping unhealthy/ejected/limited instances
    → breaker   the chosen instance's circuit grants a trial, or the next instance is tried
    → adapter   `prepare`: URL, auth and body in the product's format
    → upstream  one shared pooled client; first-byte timeout; errors mapped
    → retry     before any byte reached the client: another instance, within the retry budget
    → fallback  other models, then a cached or static answer (`fallback`)
    → stream back `relay`: chunk by chunk, translated when the product is not OpenAI's
    → settle    breaker trial, outlier detector, limiter permits (token usage included), and
                the instance's metrics counters (plain adds; `metrics.collector` reads them)

Auth joins as a stage here when it lands.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable

import aiohttp

from jairouter.core.breaker import Failure, classify
from jairouter.core.limits import Outcome, PermitSet, usage_tokens
from jairouter.core.limits.permits import DROPPED, IGNORED, OK
from jairouter.core.retry import backoff, retry_after_seconds
from jairouter.core.stats import ERROR
from jairouter.errors import (
    NoCapacity,
    RouterError,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from jairouter.pipeline.admission import Admission, Headers
from jairouter.pipeline.choose import Choice, HealthView, choose
from jairouter.pipeline.fallback import STATIC_MODEL, cache_key, static_answer
from jairouter.pipeline.relay import StreamCut, read_body, relay, response_headers, send_whole
from jairouter.pipeline.routing import Pool, RouteTable, Target
from jairouter.pipeline.timers import Timers
from jairouter.pipeline.trace import AttemptSpan, RequestTrace, upstream_headers
from jairouter.pipeline.usage import usage_in_tail
from jairouter.pipeline.watchdog import Watchdog
from jairouter.types import ProxyRequest, Send
from jairouter.upstream.client import UpstreamClient


class UpstreamStatus(UpstreamError):
    """An upstream answered 429 or 5xx: kept (body read) so another instance or model can be
    tried first; relayed as it was if nothing better comes of it."""

    def __init__(self, resp: aiohttp.ClientResponse, body: bytes, extra: Headers) -> None:
        super().__init__(f"upstream answered HTTP {resp.status}")
        self.status = resp.status
        self.retry_after = retry_after_seconds(resp.headers.get("Retry-After"))
        self.answer_headers = response_headers(resp.raw_headers, extra, b"application/json")
        self.answer = body


Sleep = Callable[[float], Awaitable[None]]


class Call:
    """One client request on its way: what every try of it needs."""

    __slots__ = ("arrived", "headers", "permits", "pool", "req", "send", "trace", "tried")

    def __init__(
        self,
        req: ProxyRequest,
        send: Send,
        pool: Pool,
        permits: PermitSet | None,
        headers: Headers,
        arrived: float,
        trace: RequestTrace | None,
    ) -> None:
        self.req = req
        self.send = send
        self.pool = pool  # of the requested model, whichever model ends up answering
        self.permits = permits  # the service-level limits it passed
        self.headers = headers  # X-RateLimit-* and X-Request-ID for the answer
        self.arrived = arrived  # perf_counter() when the pipeline got it
        self.tried = False  # whether an instance was asked yet
        self.trace = trace  # filled in for the access log and tracing, when either is on


class Pipeline:
    """Routes one parsed request to an instance and streams the answer back."""

    def __init__(
        self,
        routes: RouteTable,
        client: UpstreamClient,
        admission: Admission,
        *,
        health: HealthView | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.routes = routes
        self.client = client
        self.admission = admission
        self.health = health
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.timers = Timers()  # the request path's timeouts, and the server's, share one timer

    async def handle(
        self, req: ProxyRequest, send: Send, trace: RequestTrace | None = None
    ) -> None:
        """Raises a RouterError only before the response to the client has started."""
        arrived = time.perf_counter()
        pool = self.routes.pool(req.endpoint.service, req.model)  # 404 before any limit
        permits, headers = self.admission.admit(req)
        if req.request_id:
            headers = (*headers, (b"x-request-id", req.request_id.encode()))
        call = Call(req, send, pool, permits, headers, arrived, trace)
        outcome = IGNORED
        started = self.clock() if permits is not None else 0.0
        try:
            outcome = await self._attempts(pool, call)
        except (UpstreamError, NoCapacity) as error:
            outcome = await self._fall_back(pool, call, error)
        finally:
            pool.stats.duration.observe(time.perf_counter() - arrived)
            if permits is not None:
                permits.release(outcome, self.clock() - started)

    async def _fall_back(self, pool: Pool, call: Call, error: RouterError) -> Outcome:
        """The requested model's pool failed with `error`: its fallback models, then fallback
        answers. Called only then, so that the usual request passes one coroutine less."""
        req = call.req
        last = error
        for candidate in self.routes.fallback_pools(req.endpoint.service, req.model):
            try:
                outcome = await self._attempts(candidate, call)
            except (UpstreamError, NoCapacity) as failure:
                last = failure
                continue
            pool.stats.fallbacks += 1
            if call.trace is not None:
                call.trace.fallback = "model"
            return outcome
        if await self._answer_from_fallback(pool, call):
            pool.stats.fallbacks += 1
            return DROPPED
        if isinstance(last, UpstreamStatus):
            await send_whole(call.send, last.status, last.answer_headers, last.answer)
            return DROPPED
        raise last

    async def _attempts(self, pool: Pool, call: Call) -> Outcome:
        """Try instances of one pool until one answers, retrying only before any byte was sent
        and only as the retry policy and budget allow."""
        pool.budget.record_request()
        tried: set[Target] | None = None
        last: UpstreamError | None = None
        attempt = 1
        while True:
            try:
                choice = choose(pool, call.req, tried, self.health)
            except NoCapacity:
                if last is not None:
                    raise last from None  # nothing left to retry on: the real failure counts
                raise
            try:
                return await self._exchange(pool, choice, call)
            except UpstreamError as error:
                last = error
                wait = self._retry_wait(error, attempt, pool)
                if wait is None:
                    raise
                choice.target.stats.retries += 1
                tried = tried or set()
                tried.add(choice.target)
                attempt += 1
                if wait:
                    await self.sleep(wait)

    def _retry_wait(self, error: UpstreamError, attempt: int, pool: Pool) -> float | None:
        """Seconds to wait before trying another instance, or None if this is not retried."""
        policy = pool.retry
        if attempt >= policy.attempts or _retry_kind(error) not in policy.on:
            return None
        wait = backoff(attempt, policy.backoff_base, policy.backoff_max, self.rng)
        if isinstance(error, UpstreamStatus) and error.retry_after and policy.honor_retry_after:
            if error.retry_after > policy.backoff_max:
                return None
            wait = max(wait, error.retry_after)
        if not pool.budget.try_retry():
            return None
        return wait

    async def _exchange(self, pool: Pool, choice: Choice, call: Call) -> Outcome:
        """One try on one instance; settles its breaker trial, outlier record and permits."""
        target = choice.target
        target.inflight += 1
        failure: Failure | None = None
        cancelled = False
        status = ERROR  # the instance's HTTP status, once it answered
        trace = call.trace
        span = trace.attempt(target.label) if trace is not None else None
        started = time.perf_counter()
        if not call.tried:  # the router's own time, not a retry's wait for other instances
            call.tried = True
            call.pool.stats.overhead.observe(started - call.arrived)
        watchdog = Watchdog(self.timers, target.label, target.first_byte, target.idle, target.total)
        try:
            resp = await self._open(call.req, target, watchdog, trace, span)
            watchdog.answered(resp)
            status = resp.status
            if trace is not None:
                trace.upstream_status = status
            if call.req.stream:
                target.stats.first_byte.observe(time.perf_counter() - started)
            try:
                failure = await self._answer(pool, resp, choice, call, watchdog)
            except BaseException as exc:
                resp.close()  # mid-body failure or client gone: drop, don't pool, the connection
                if isinstance(exc, StreamCut):
                    failure = classify(error=exc.error)
                    target.stats.failed(failure)
                raise
            resp.release()
            if failure is None:
                return OK
            target.stats.failed(failure)
            return DROPPED
        except UpstreamStatus as error:
            failure = classify(status=error.status)  # a 429 is "busy": it ejects nobody
            target.stats.failed(failure, error.status)
            raise
        except UpstreamError as error:
            failure = failure or classify(error=error)
            target.stats.failed(failure)
            raise
        except asyncio.CancelledError:
            cancelled = True  # the client went away: no verdict on the instance
            raise
        finally:
            watchdog.stop()
            target.inflight -= 1
            if not (cancelled and status == ERROR):  # a client gone before any answer: no count
                if failure is not None and status < 400:
                    status = ERROR  # broken off, or an error event inside a 200 stream
                target.stats.finished(status, time.perf_counter() - started)
            if cancelled:
                choice.trial.cancel()
            else:
                choice.trial.record(failure)
                pool.outliers.record(target.key, failure)
            if choice.permits is not None:
                choice.permits.release(IGNORED if cancelled else _outcome(failure))
            if span is not None:
                span.end(None if status == ERROR else status, _span_error(failure, cancelled))

    async def _answer(
        self,
        pool: Pool,
        resp: aiohttp.ClientResponse,
        choice: Choice,
        call: Call,
        watchdog: Watchdog,
    ) -> Failure | None:
        """Relay a response (or keep a 429/5xx for a retry) and say how the instance did."""
        req, target = call.req, choice.target
        extra = (*call.headers, pool.model_header)
        if resp.status == 429 or resp.status >= 500:
            body = target.adapter.translate_error(resp.status, await read_body(resp, watchdog))
            raise UpstreamStatus(resp, body, extra)
        cache = call.pool.cache  # answers are kept under the model the client asked for
        keep = cache is not None and resp.status == 200 and not req.stream
        seen = await relay(resp, target.adapter, req, call.send, extra, watchdog, keep)
        if seen.first_sent and req.stream:
            target.stats.first_token.observe(seen.first_sent - call.arrived)
        usage = usage_in_tail(seen.tail, seen.before_tail)
        if usage is not None:
            target.stats.usage(usage)
            if call.trace is not None:
                call.trace.tokens(usage.get("prompt_tokens"), usage.get("completion_tokens"))
            # Token limits, service-wide or the instance's own, settle to the real usage.
            tokens = usage_tokens(usage)
            if tokens is not None:
                for permits in (call.permits, choice.permits):
                    if permits is not None:
                        permits.settle(tokens)  # its token-unit permits, if any
        if (
            cache is not None
            and seen.body is not None
            and seen.broken is None
            and len(seen.body) <= call.pool.cache_max_body
        ):
            ctype = resp.headers.get("Content-Type", "application/json").encode()
            cache.put(cache_key(req), (ctype, seen.body))
        if seen.broken is not None:
            return classify(error=seen.broken)
        if seen.stream_error is not None:
            return classify(stream_error=seen.stream_error)
        return None

    async def _open(
        self,
        req: ProxyRequest,
        target: Target,
        watchdog: Watchdog,
        trace: RequestTrace | None,
        span: AttemptSpan | None,
    ) -> aiohttp.ClientResponse:
        call = target.adapter.prepare(req)
        if trace is not None:
            headers = trace.upstream_headers(call.headers, req.request_id, span)
        elif req.request_id:
            headers = upstream_headers(call.headers, req.request_id)
        else:
            headers = call.headers
        try:
            return await self.client.open(call.url, headers, call.body, target.connect)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise watchdog.error(exc) from exc
        except asyncio.CancelledError as cancelled:
            timeout = watchdog.claims(cancelled)
            if timeout is None:
                raise
            raise timeout from None

    async def _answer_from_fallback(self, pool: Pool, call: Call) -> bool:
        """A cached answer to the same request, else the service's static answer, if any."""
        req, send, headers = call.req, call.send, call.headers
        if pool.cache is not None:
            cached = pool.cache.get(cache_key(req))
            if cached is not None:
                ctype, body = cached
                extra = [*headers, pool.model_header, (b"x-jairouter-fallback", b"cache")]
                await send_whole(send, 200, [*extra, (b"content-type", ctype)], body)
                if call.trace is not None:
                    call.trace.fallback = "cache"
                return True
        fallback = self.routes.fallback(req.endpoint.service)
        if fallback is None or fallback.static_response is None:
            return False
        ctype, body = static_answer(req, fallback.static_response)
        extra = [
            *headers,
            (b"x-jairouter-model", STATIC_MODEL.encode()),
            (b"x-jairouter-fallback", b"static"),
            (b"content-type", ctype),
        ]
        await send_whole(send, 200, extra, body)
        if call.trace is not None:
            call.trace.fallback = "static"
        return True


def _retry_kind(error: UpstreamError) -> str:
    if isinstance(error, UpstreamStatus):
        return "throttled" if error.status == 429 else "server-error"
    if isinstance(error, UpstreamTimeout):
        return "timeout"
    if isinstance(error, UpstreamUnreachable):
        return "connect"
    return "broken"


def _span_error(failure: Failure | None, cancelled: bool) -> str | None:
    if cancelled:
        return "cancelled: the client went away"
    return None if failure is None else f"{failure.kind.value}: {failure.detail}"


def _outcome(failure: Failure | None) -> Outcome:
    return OK if failure is None else DROPPED
