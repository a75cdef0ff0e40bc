"""Everything a server process or a CLI command needs, built once from the settings."""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gatehouse.auditlog import AuditWriter
from gatehouse.endpoints import CUSTOMER, Endpoint, EndpointTable
from gatehouse.keycheck import MasterKeyError, open_master_key
from gatehouse.maintenance import Maintenance
from gatehouse.masterkey import MasterKey
from gatehouse.oauth.bruteforce import BruteForceGuard
from gatehouse.oauth.directory import ClientEntry
from gatehouse.oauth.dpop import DPoPNonces, TokenDPoP
from gatehouse.oauth.endpoint import TokenEndpoint
from gatehouse.oauth.exchange import TokenExchange
from gatehouse.oauth.inspect import TokenChecker
from gatehouse.oauth.introspection import IntrospectionEndpoint
from gatehouse.oauth.mtls import CertificateAuthenticator, load_ca_store, registered_certificates
from gatehouse.oauth.quota import TokenQuota
from gatehouse.oauth.revocation import RevocationEndpoint
from gatehouse.oauth.revocation_feed import RevocationFeedEndpoint
from gatehouse.oauth.secrets import SecretHasher
from gatehouse.peers import Peers, parse_networks
from gatehouse.propagation import Propagation, await_readers
from gatehouse.replica import Replica
from gatehouse.revocations import read_feed
from gatehouse.rewrap import adopt_stored_keys
from gatehouse.secretless.endpoint import AssertionEndpoint
from gatehouse.secretless.keyfetch import KeyFetcher
from gatehouse.secretless.lifecycle import with_assertions
from gatehouse.secretless.replay import AssertionIds
from gatehouse.services.revocation import revoke_token
from gatehouse.settings import Settings
from gatehouse.store.engine import create_store_engine, migrate
from gatehouse.store.proofs import RedisReplayCache, StoreReplayCache
from gatehouse.store.store import Store
from gatehouse.tls import TrustStore

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    store: Store
    master_key: MasterKey
    replica: Replica
    audit: AuditWriter
    token_endpoint: TokenEndpoint
    checker: TokenChecker  # the server's own tokens, any audience (exchange, revoke, inspect)
    endpoints: EndpointTable = field(default_factory=lambda: EndpointTable(()))
    assertions: AssertionEndpoint | None = None  # the token endpoint's assertion lane
    propagation: Propagation | None = None  # wake-ups from other processes (started by start)
    maintenance: Maintenance | None = None  # key rotation, pruning (started by start)
    peers: Peers | None = None  # trusted reverse proxies (docs/proxy.md)
    trust: TrustStore | None = None  # the TLS listener's self-signed client certificates
    on_close: list[Callable[[], None]] = field(default_factory=list)  # run first by close

    @classmethod
    def open(cls, settings: Settings, *, migrate_schema: bool = True) -> Runtime:
        """Connect, migrate, load the replica; background threads start with :meth:`start`."""
        engine = create_store_engine(settings.sqlalchemy_url)
        if migrate_schema:
            migrate(engine)
        store = Store(engine)
        # Before anything is read or written: a wrong master key stops the process here.
        try:
            master_key = adopt_stored_keys(store, open_master_key(settings, engine))
        except (MasterKeyError, ValueError):  # close the pool before saying so
            engine.dispose()
            raise
        replica = Replica(
            store,
            master_key,
            cache_size=settings.client_cache_size,
            reads_per_second=settings.client_store_reads_per_second,
        )
        replica.load()
        audit = AuditWriter(store, interval=settings.audit_flush_interval)
        guard = BruteForceGuard(
            client_failures=settings.bruteforce_client_failures,
            address_failures=settings.bruteforce_address_failures,
            window_seconds=settings.bruteforce_window_seconds,
            storage_url=settings.redis_url,
        )
        endpoint = TokenEndpoint(
            directory=replica,
            hasher=SecretHasher(master_key.secret_hmac_key),
            issuer_for=functools.lru_cache(maxsize=65536)(settings.issuer),
            default_audience=settings.default_audience,
            guard=guard,
            on_issued=audit.record_issued,
            quota=TokenQuota(storage_url=settings.redis_url),
            dpop=TokenDPoP(
                public_url=settings.base_url,
                shared=(
                    RedisReplayCache(settings.redis_url)
                    if settings.redis_url
                    else StoreReplayCache(engine)
                ),
                nonces=DPoPNonces(master_key.secret_hmac_key) if settings.dpop_nonce else None,
            ),
        )
        # One check of the server's own tokens, of any audience, from memory: behind token
        # exchange (RFC 8693), revocation (RFC 7009) and introspection (RFC 7662).
        checker = TokenChecker(
            issuer_for=settings.issuer, audience=None, keys=replica, standing=replica
        )
        endpoint.exchange = token_exchange(settings, replica, checker)
        runtime = cls(settings, store, master_key, replica, audit, endpoint, checker)
        runtime.assertions = AssertionEndpoint(
            token=endpoint,
            store=store,
            fetcher=KeyFetcher(allow_insecure=settings.allow_insecure_urls),
            replay=AssertionIds(store, settings.redis_url),
            audit=audit,
            issuer_for=endpoint.issuer_for,
            version=lambda: replica.version,
        )
        endpoint.mtls = CertificateAuthenticator(
            directory=replica, guard=guard, ca_store=load_ca_store(settings.client_ca)
        )
        runtime.trust = TrustStore(
            lambda: [
                der
                for client in replica.clients_with_auth_method("self_signed_tls_client_auth")
                for der in registered_certificates(client)
            ],
            lambda: replica.version,
        )
        if settings.trusted_proxies:
            runtime.peers = Peers(
                parse_networks(settings.trusted_proxies), settings.client_cert_header
            )
        runtime.endpoints = runtime.endpoint_table()
        return runtime

    def endpoint_table(self) -> EndpointTable:
        """Every protocol endpoint, built once around the token endpoint's client
        authentication step, the one token checker and the one refusal log."""
        token, assertions = self.token_endpoint, self.assertions
        auth, refusals = token.auth, token.refusals
        revocation = RevocationEndpoint(
            auth=auth, checker=self.checker, revoke=self.revoke_token, refusals=refusals
        )
        introspection = IntrospectionEndpoint(auth=auth, checker=self.checker, refusals=refusals)
        feed = RevocationFeedEndpoint(auth=auth, read_page=self.feed_page, refusals=refusals)
        issuer = "/customers/" + CUSTOMER
        lane = assertions.handle if assertions is not None else None
        cold = functools.partial(self.replica.cold.answer, token)
        revoke_lane = with_assertions(revocation, assertions, threaded=True) if assertions else None
        inspect_lane = (
            with_assertions(introspection, assertions, threaded=False) if assertions else None
        )
        return EndpointTable(
            (
                *(
                    Endpoint(
                        path,
                        token.handle,
                        json_allowed=json_allowed,
                        with_assertion=lane,
                        fast=True,
                        deferred=cold,
                    )
                    for path, json_allowed in (
                        ("/oauth2/token", False),
                        ("/oauth/token", True),
                        (issuer + "/oauth2/token", False),
                    )
                ),
                *(
                    Endpoint(path, revocation.handle, threaded=True, with_assertion=revoke_lane)
                    for path in ("/oauth2/revoke", issuer + "/oauth2/revoke")
                ),
                *(
                    Endpoint(path, introspection.handle, with_assertion=inspect_lane)
                    for path in ("/oauth2/introspect", issuer + "/oauth2/introspect")
                ),
                Endpoint(issuer + "/oauth2/revocations", feed.handle, threaded=True),
            )
        )

    def revoke_token(self, client: ClientEntry, claims: dict[str, Any], address: str) -> None:
        """RFC 7009: put a token's ``jti`` on the deny list (the revocation endpoint's hook)."""
        revoke_token(
            self.store,
            customer_id=client.customer_id,
            client_id=client.client_id,
            app_id=client.id,
            jti=claims["jti"],
            expires_at=float(claims["exp"]),
            source=address,
            notify=self,
        )

    def feed_page(self, customer_id: str, cursor: int | None) -> dict[str, Any]:
        """A page of the revocation feed (the feed endpoint's hook)."""
        return read_feed(self.store, customer_id=customer_id, cursor=cursor).document()

    def start(self) -> None:
        self.replica.start(self.settings.change_poll_interval)
        self.audit.start()
        self.propagation = Propagation(self.settings, self.replica.wake)
        self.propagation.start()
        self.maintenance = Maintenance(
            self.settings, self.store, self.master_key, audit=self.audit, on_change=self.changed
        )
        self.maintenance.start()
        if self.trust is not None and self.settings.ssl_certfile is not None:
            # The TLS listener's self-signed client certificates: read now, then off the loop.
            self.trust.start(self.settings.change_poll_interval)
        # What start-up allocated lives as long as the process: keep the collector off it, and
        # collect the young generation less often (the token path allocates short-lived objects).
        gc.collect()
        gc.freeze()
        gc.set_threshold(10_000, 20, 20)

    def close(self) -> None:
        for hook in self.on_close:
            hook()
        if self.maintenance is not None:
            self.maintenance.stop()
        if self.propagation is not None:
            self.propagation.stop()
        if self.trust is not None:
            self.trust.stop()
        if self.token_endpoint.dpop is not None:
            self.token_endpoint.dpop.close()  # its replay-check thread
        self.replica.stop()
        self.audit.stop()
        self.store.engine.dispose()

    def changed(self) -> None:
        """The notifier of the services (:class:`gatehouse.services.notify.Notifier`): after a
        local write, apply it to this process's replica at once, and tell the others
        (through Redis when configured; PostgreSQL's NOTIFY is sent by the store).

        Off the event loop (the API's and the console's handlers, maintenance), it then waits
        — at most five seconds — until every other live server has applied the change too, so that
        a change no request could find missing (a longer token lifetime, a key activated at
        once) is in force on every server at the next request (docs/scale.md).

        The write has committed: a failure here is logged, never the caller's 500 (the poller
        applies the change at its next turn)."""
        try:
            self.replica.refresh()
        except Exception:
            log.warning("applying a local change failed; the change feed retries", exc_info=True)
            self.replica.wake()
        if self.propagation is not None:
            self.propagation.publish()
        if _on_event_loop():
            return
        try:
            await_readers(self.store, except_reader=self.replica.reader_id)
        except Exception:
            log.warning(
                "could not wait for the other servers; they apply the change within a second"
            )


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def token_exchange(settings: Settings, replica: Replica, checker: TokenChecker) -> TokenExchange:
    """RFC 8693 token exchange, checking subject tokens of any audience from memory."""
    return TokenExchange(
        check_subject=lambda token: checker.check(token).claims,
        directory=replica,
        issuer_for=settings.issuer,
        default_audience=settings.default_audience,
    )
