"""``gatehouse clients federate add|list|remove|test`` as a user runs them."""

from __future__ import annotations

from pathlib import Path

from tests.cli.runner import Cli
from tests.secretless.issuer import Issuer


def test_federate_add_list_test_remove(tmp_path: Path, issuer: Issuer) -> None:
    cli = Cli(tmp_path / "var", public_url="http://testserver", allow_insecure_urls="true")
    cli.json("customers", "create", "acme")
    app_id = cli.json(
        "clients", "create", "--customer", "acme", "--name", "deployer",
        "--auth-method", "private_key_jwt",
    )["id"]  # fmt: skip
    refused = cli.run(
        "clients", "federate", "add", app_id, "--customer", "acme", "--name", "all",
        "--issuer", issuer.url, "--subject", "**",
    )  # fmt: skip
    assert refused.code == 2
    assert "pins nothing but the issuer" in refused.stderr
    added = cli.json(
        "clients", "federate", "add", app_id, "--customer", "acme", "--name", "main",
        "--issuer", issuer.url, "--subject", "repo:acme/*:ref:refs/heads/main",
        "--claim", "repository_owner_id=4242", "--single-use",
    )  # fmt: skip
    assert added["claims"] == {"repository_owner_id": "4242"}
    assert added["single_use"] is True
    listed = cli.json("clients", "federate", "list", app_id, "--customer", "acme")
    assert listed == {"federated_credentials": [added]}
    token = issuer.github("http://testserver/customers/acme", sub="repo:acme/api:pull_request")
    tested = cli.json("clients", "federate", "test", app_id, "--customer", "acme", "--token", token)
    [result] = tested["results"]
    assert (result["credential_id"], result["matched"], result["failed_check"]) == (
        added["id"],
        False,
        "subject",
    )
    removed = cli.json("clients", "federate", "remove", app_id, added["id"], "--customer", "acme")
    assert removed == {"id": added["id"], "deleted": True}
    gone = cli.run("clients", "federate", "remove", app_id, added["id"], "--customer", "acme")
    assert gone.code == 1
