"""Packaging: ``gatehouse-verify`` (packages/verify) builds from this repository, installs into a
fresh virtual environment with only ``cryptography`` and ``httpx`` (and what they need), and
there verifies a real token from a real server and calls its API with ``gatehouse.client``;
``gatehouse-server`` builds as the server's wheel. Both names are not the PyPI project
``gatehouse``, which is someone else's."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import httpx
import orjson
import pytest

import gatehouse
from tests.factories import start_server

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

# Run inside the fresh environment: the installed distributions, and what gatehouse-verify
# needs, transitively.
CLOSURE = """
import json, re
from importlib import metadata

def name(requirement):
    return re.split(r"[ ;<>=!~\\[(]", requirement, maxsplit=1)[0].lower().replace("_", "-")

needed, todo = set(), ["gatehouse-verify"]
while todo:
    dist = todo.pop()
    if dist in needed:
        continue
    try:
        requirements = metadata.requires(dist) or []
    except metadata.PackageNotFoundError:  # its marker excludes it here (pip skipped it)
        continue
    needed.add(dist)
    for requirement in requirements:
        if "extra ==" not in requirement:
            todo.append(name(requirement))
installed = {d.metadata["Name"].lower().replace("_", "-") for d in metadata.distributions()}
print(json.dumps({"needed": sorted(needed), "installed": sorted(installed)}))
"""

USE = """
import json, sys
import httpx
from gatehouse.client import ClientCredentials
from gatehouse.verify import InvalidToken, TokenVerifier

issuer, audience, token_url, client_id, secret, token = sys.argv[1:7]
verifier = TokenVerifier(issuer=issuer, audience=audience)
claims = verifier.verify(token)
try:
    verifier.verify(token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"))
    refused = None
except InvalidToken as exc:
    refused = exc.error
with httpx.Client(auth=ClientCredentials(token_url, client_id, secret)) as http:
    corpora = http.get(audience + "/v2/corpora")
try:
    import gatehouse.oauth
    server_inside = True
except ImportError:
    server_inside = False
print(json.dumps({"client_id": claims["client_id"], "refused": refused,
                  "corpora": corpora.status_code, "server_inside": server_inside}))
"""


def _run(*args: str | Path, cwd: Path = ROOT) -> str:
    # Nothing of this checkout may leak into the fresh venv (a PYTHONPATH would).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=600, cwd=cwd, env=env
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_the_verify_wheel_alone_verifies_a_real_token(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "packages/verify", "-w", dist)
    (wheel,) = dist.glob("gatehouse_verify-*.whl")
    assert wheel.name == f"gatehouse_verify-{gatehouse.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        modules = {n for n in archive.namelist() if n.startswith("gatehouse/")}
    assert "gatehouse/client.py" in modules
    assert "gatehouse/verify/verifier.py" in modules
    assert not {m for m in modules if m.startswith(("gatehouse/oauth", "gatehouse/store"))}

    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    _run(python, "-m", "pip", "install", "--quiet", wheel)
    closure = orjson.loads(_run(python, "-c", CLOSURE))
    assert {"gatehouse-verify", "cryptography", "httpx"} <= set(closure["needed"])
    # Nothing is installed but pip and what gatehouse-verify needs.
    assert set(closure["installed"]) - {"pip", "setuptools"} == set(closure["needed"])
    assert not {"starlette", "sqlalchemy", "fastapi", "uvicorn", "orjson"} & set(
        closure["installed"]
    )

    server = start_server(tmp_path / "server")
    try:
        demo = server.demo
        response = httpx.post(
            demo["token_url"],
            data={"grant_type": "client_credentials"},
            auth=(demo["client_id"], demo["client_secret"]),
        )
        token = response.json()["access_token"]
        used = orjson.loads(
            _run(
                python,
                "-c",
                USE,
                demo["issuer"],
                server.base_url,
                demo["token_url"],
                demo["client_id"],
                demo["client_secret"],
                token,
                cwd=tmp_path,  # not this repository's src/ on the path
            )
        )
    finally:
        server.stop()
    assert used == {
        "client_id": demo["client_id"],
        "refused": "invalid_token",
        "corpora": 200,
        "server_inside": False,
    }


def test_distribution_names_and_versions_agree() -> None:
    server = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    verify = tomllib.loads((ROOT / "packages/verify/pyproject.toml").read_text())["project"]
    assert (server["name"], verify["name"]) == ("gatehouse-server", "gatehouse-verify")
    assert server["version"] == verify["version"] == gatehouse.__version__
    assert verify["dependencies"] == ["cryptography>=44", "httpx>=0.28"]
    assert server["license"] == verify["license"] == "Apache-2.0"
    license_text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in license_text
    assert "Version 2.0, January 2004" in license_text
    assert (ROOT / "packages/verify/LICENSE").read_text() == license_text
