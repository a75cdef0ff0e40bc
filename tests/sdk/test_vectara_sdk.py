"""The official Vectara Python SDK, unchanged, against a real ``gatehouse serve`` process:
it gets its token from ``/oauth/token`` and drives corpora and app clients through the v2 API."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from vectara import Vectara, VectaraEnvironment
from vectara.core.api_error import ApiError
from vectara.errors import ConflictError, ForbiddenError, NotFoundError
from vectara.types import CorpusRole, CreateAppClientRequest_ClientCredentials

from tests.factories import LiveServer, start_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("sdk"))
    try:
        yield live
    finally:
        live.stop()


class Sdk:
    """Builds SDK clients on HTTP connections that are closed when the test ends."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.connections: list[httpx.Client] = []

    def __call__(self, client_id: str, client_secret: str) -> Vectara:
        connection = httpx.Client(timeout=30)
        self.connections.append(connection)
        base = self.server.base_url
        client = Vectara(  # type: ignore[no-untyped-call]
            environment=VectaraEnvironment(default=base, auth=base),
            client_id=client_id,
            client_secret=client_secret,
            httpx_client=connection,
        )
        # The SDK's token provider opens an httpx.Client of its own that it never closes.
        provider = client._client_wrapper._token.__self__  # type: ignore[union-attr]
        self.connections.append(provider._auth_client._client_wrapper.httpx_client.httpx_client)
        return client


@pytest.fixture
def sdk(server: LiveServer) -> Iterator[Sdk]:
    factory = Sdk(server)
    yield factory
    for connection in factory.connections:
        connection.close()


@pytest.fixture
def owner(server: LiveServer, sdk: Sdk) -> Vectara:
    return sdk(server.demo["client_id"], server.demo["client_secret"])


def test_sdk_creates_lists_pages_gets_updates_and_deletes_corpora(owner: Vectara) -> None:
    created = owner.corpora.create(key="sdk-docs", name="SDK docs", description="from the SDK")
    assert created.key == "sdk-docs"
    assert created.name == "SDK docs"
    assert created.id is not None
    assert created.id.startswith("crp_")
    assert created.enabled is True
    assert created.created_at is not None
    for i in range(4):
        owner.corpora.create(key=f"sdk-page-{i}")
    with pytest.raises(ConflictError):
        owner.corpora.create(key="sdk-docs")

    # The pager follows metadata.page_key through every page of 2.
    pager = owner.corpora.list(limit=2)
    keys = [corpus.key for corpus in pager]
    assert keys[:5] == ["sdk-docs", "sdk-page-0", "sdk-page-1", "sdk-page-2", "sdk-page-3"]
    first_page = owner.corpora.list(limit=2)
    assert len(first_page.items or []) == 2
    assert first_page.has_next
    filtered = [c.key for c in owner.corpora.list(filter="^sdk-page-[02]$")]
    assert filtered == ["sdk-page-0", "sdk-page-2"]

    got = owner.corpora.get("sdk-docs")
    assert got == created
    updated = owner.corpora.update("sdk-docs", name="Renamed", enabled=False)
    assert (updated.name, updated.enabled, updated.description) == (
        "Renamed",
        False,
        "from the SDK",
    )
    owner.corpora.delete("sdk-page-3")
    with pytest.raises(NotFoundError):
        owner.corpora.get("sdk-page-3")


def test_sdk_manages_app_clients_and_a_viewer_gets_403(sdk: Sdk, owner: Vectara) -> None:
    owner.corpora.create(key="sdk-shared")
    created = owner.app_clients.create(
        request=CreateAppClientRequest_ClientCredentials(
            name="sdk viewer",
            description="made by the SDK",
            api_roles=["viewer"],
            corpus_roles=[CorpusRole(corpus_key="sdk-shared", role="viewer")],
        )
    )
    assert created.id is not None
    assert created.client_id is not None
    assert created.client_secret is not None
    assert created.api_roles == ["viewer"]
    assert created.corpus_roles == [CorpusRole(corpus_key="sdk-shared", role="viewer")]

    names = [client.name for client in owner.app_clients.list(limit=1)]
    assert names == ["Demo owner client", "sdk viewer"]
    fetched = owner.app_clients.get(created.id)
    assert fetched.client_id == created.client_id
    updated = owner.app_clients.update(
        created.id, description="changed", api_roles=["viewer"], corpus_roles=[]
    )
    assert updated.description == "changed"
    assert updated.corpus_roles == []

    # The new client, through the same SDK: it can list but not create.
    viewer = sdk(created.client_id, created.client_secret)
    assert "sdk-shared" in [c.key for c in viewer.corpora.list()]
    with pytest.raises(ForbiddenError):
        viewer.corpora.create(key="not-allowed")
    with pytest.raises(ForbiddenError):
        viewer.app_clients.list()

    owner.app_clients.delete(created.id)
    # The SDK has no NotFoundError mapping for app clients; the status is what counts.
    with pytest.raises(ApiError) as missing:
        owner.app_clients.get(created.id)
    assert missing.value.status_code == 404
