"""Operations endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from gatehouse.errors import NO_STORE
from gatehouse.runtime import Runtime
from gatehouse.store.health import database_answers


class RuntimeCollector(Collector):
    """Reads counters that the hot path keeps as plain integers, at scrape time."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        issued = CounterMetricFamily("gatehouse_tokens_issued", "Access tokens issued")
        issued.add_metric([], self.runtime.audit.issued_total)
        yield issued
        refused = CounterMetricFamily(
            "gatehouse_token_errors",
            "Token requests refused, by OAuth error code",
            labels=["error"],
        )
        for code, count in sorted(self.runtime.token_endpoint.errors.items()):
            refused.add_metric([code], count)
        yield refused
        refusals = self.runtime.token_endpoint.refusals
        by_kind = CounterMetricFamily(
            "gatehouse_refusals", "Refused requests, by what refused them", labels=["kind"]
        )
        for kind, count in sorted(refusals.counts.items()):
            by_kind.add_metric([kind], count)
        yield by_kind
        suppressed = CounterMetricFamily(
            "gatehouse_refusal_logs_suppressed", "Refused requests left out of the sampled log"
        )
        suppressed.add_metric([], refusals.suppressed_total)
        yield suppressed
        yield GaugeMetricFamily(
            "gatehouse_app_clients",
            "App clients in memory (at most GATEHOUSE_CLIENT_CACHE_SIZE)",
            value=self.runtime.replica.client_count(),
        )
        cache = self.runtime.replica.clients
        reads = CounterMetricFamily(
            "gatehouse_client_store_reads", "Store reads for clients not in memory or rechecked"
        )
        reads.add_metric([], cache.reads)
        yield reads
        skipped = CounterMetricFamily(
            "gatehouse_client_reads_refused",
            "Client lookups answered without a store read: the per-second budget was spent",
        )
        skipped.add_metric([], cache.refused)
        yield skipped
        failures = CounterMetricFamily(
            "gatehouse_store_failures", "Store reads or feed polls that could not reach the store"
        )
        failures.add_metric([], self.runtime.replica.store_failures)
        yield failures
        yield GaugeMetricFamily(
            "gatehouse_replica_version",
            "Change batches applied to the replica",
            value=self.runtime.replica.version,
        )
        yield GaugeMetricFamily(
            "gatehouse_change_feed_skipped",
            "Change-feed records this process could not apply (see /readyz)",
            value=self.runtime.replica.skipped_changes,
        )
        yield GaugeMetricFamily(
            "gatehouse_audit_dropped",
            "Audit events dropped while the database was away",
            value=self.runtime.audit.dropped,
        )


def ops_routes(runtime: Runtime) -> list[BaseRoute]:
    metrics_token = runtime.settings.metrics_token
    registry = CollectorRegistry()
    registry.register(RuntimeCollector(runtime))

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        ok = await run_in_threadpool(database_answers, runtime.store)
        replica = runtime.replica
        # A skipped change-feed record degrades this process (it still serves what it holds).
        feed = {"ok": replica.skipped_changes == 0, "skipped": replica.skipped_changes}
        if replica.last_skipped is not None:
            feed["last_skipped_id"] = replica.last_skipped
        status = "unavailable" if not ok else "ok" if feed["ok"] else "degraded"
        return JSONResponse(
            {"status": status, "database": ok, "change_feed": feed},
            status_code=200 if ok else 503,
            headers=dict(NO_STORE),
        )

    async def metrics_endpoint(request: Request) -> Response:
        if metrics_token is not None:
            expected = f"Bearer {metrics_token.get_secret_value()}"
            if not hmac.compare_digest(request.headers.get("authorization", ""), expected):
                return Response(
                    status_code=401,
                    headers={"www-authenticate": 'Bearer realm="gatehouse"', **dict(NO_STORE)},
                )
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
    ]
