"""The TLS listener's trust store (``gatehouse.tls.TrustStore``) reads the registered self-signed
certificates on its own thread, never on the event loop that calls :meth:`sync`."""

from __future__ import annotations

import ssl
import threading
from pathlib import Path

from gatehouse.tls import SESSION_TICKETS, TrustStore
from tests.sender.certs import self_signed


def test_sync_only_wakes_the_reader_thread(tmp_path: Path) -> None:
    certificate = self_signed(tmp_path, "one", "one").der
    version = [1]
    readers: list[str] = []
    read = threading.Event()

    def certificates() -> list[bytes]:
        readers.append(threading.current_thread().name)
        read.set()
        return [certificate] if version[0] > 1 else []

    trust = TrustStore(certificates, lambda: version[0])
    trust.start(interval=60)  # the interval never elapses during the test
    try:
        assert readers == [threading.current_thread().name]  # start-up reads at once
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        trust.attach(context, lambda: ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
        assert context.num_tickets == SESSION_TICKETS  # one TLS 1.3 ticket per handshake
        read.clear()
        trust.sync()  # nothing moved: no read
        version[0] = 2
        trust.sync()  # the replica moved: the reader thread reads, the caller does not
        assert read.wait(10)
        assert readers[1:] == ["gatehouse-trust"]
        trust.stop()
        assert context.cert_store_stats()["x509"] == 1  # the certificate is trusted now
    finally:
        trust.stop()
