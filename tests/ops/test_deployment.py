"""The deployment files, run as far as this machine allows: the systemd unit passes
``systemd-analyze verify`` and its command line, environment file and umask serve and stop
cleanly; the Dockerfile's entry point and health check run against a real server (no image can
be built here: no registry for base images); compose.yaml wires two Gatehouse services to
PostgreSQL, Redis and nginx; and nginx with deploy/nginx/gatehouse-tls.conf terminates TLS
with a real certificate in front of two Gatehouse processes sharing PostgreSQL and Redis."""

from __future__ import annotations

import base64
import os
import re
import shlex
import shutil
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import yaml

from tests.factories import LiveServer, free_port, redis_url, start_server
from tests.ops.deployfiles import ROOT, Dockerfile, make_certificates, read_env_file, read_unit

GATEHOUSE = Path(sys.executable).parent / "gatehouse"
UNIT = ROOT / "deploy/systemd/gatehouse.service"
pytestmark = pytest.mark.slow


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"not ready: {log.read_text()}")


def _installed(unit_text: str, tmp_path: Path) -> str:
    """The unit as installed on this machine: our venv for /opt/gatehouse, files in tmp."""
    return unit_text.replace("/opt/gatehouse/bin/gatehouse", str(GATEHOUSE)).replace(
        "/etc/gatehouse/gatehouse.env", str(tmp_path / "gatehouse.env")
    )


def test_systemd_units_verify_and_their_command_line_serves(tmp_path: Path) -> None:
    unit = read_unit(UNIT)
    service = unit["Service"]
    assert service["Restart"] == ["on-failure"]
    assert service["EnvironmentFile"] == ["/etc/gatehouse/gatehouse.env"]
    assert service["User"] == ["gatehouse"]
    for hardening in ("NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp"):
        assert service[hardening] != ["no"], hardening
    assert service["CapabilityBoundingSet"] == [""]
    analyze = shutil.which("systemd-analyze")
    if analyze is not None:
        for name in ("gatehouse.service", "gatehouse-backup.service", "gatehouse-backup.timer"):
            text = (ROOT / "deploy/systemd" / name).read_text()
            (tmp_path / name).write_text(_installed(text, tmp_path))
        shutil.copy(ROOT / "deploy/systemd/gatehouse.env", tmp_path / "gatehouse.env")
        checked = subprocess.run(
            [analyze, "verify", *(str(p) for p in sorted(tmp_path.glob("gatehouse*.[st]*")))],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert (checked.returncode, checked.stderr) == (0, ""), checked.stderr

    # The environment file as shipped, with this machine's paths and a free port.
    port = free_port()
    key_file = tmp_path / "master.key"
    key_file.write_text(base64.b64encode(os.urandom(32)).decode() + "\n")
    env_file = read_env_file(ROOT / "deploy/systemd/gatehouse.env")
    assert env_file["GATEHOUSE_ENVIRONMENT"] == "production"
    env_file.update(
        {
            "GATEHOUSE_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "GATEHOUSE_MASTER_KEY_FILE": str(key_file),
            "GATEHOUSE_DATA_DIR": str(tmp_path / "state"),
            "GATEHOUSE_PORT": str(port),
        }
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEHOUSE_")}
    env.update(env_file)
    (command,) = service["ExecStart"]
    argv = shlex.split(_installed(command, tmp_path))
    assert argv[1:] == ["serve", "--workers", "2"]
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, env=env, stdout=out, stderr=subprocess.STDOUT, umask=0o077, cwd=tmp_path
        )
    try:
        _wait_ready(f"http://127.0.0.1:{port}", process, log)
        database = tmp_path / "state" / "gatehouse.db"
        assert database.stat().st_mode & 0o077 == 0
        assert service["KillSignal"] == ["SIGTERM"]
        process.send_signal(signal.SIGTERM)
        stop_timeout = float(service["TimeoutStopSec"][0].removesuffix("s"))
        assert process.wait(timeout=stop_timeout) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "Traceback" not in log.read_text()


def test_dockerfile_entry_point_and_health_check_run(tmp_path: Path) -> None:
    dockerfile = Dockerfile.read(ROOT / "Dockerfile")
    assert all(re.fullmatch(r"python:3\.\d+-slim( AS \w+)?", f) for f in dockerfile.all("FROM"))
    final = dockerfile.final_stage()
    (user,) = final.all("USER")
    assert user not in ("root", "0")
    names = [name for name, _ in final.instructions]
    assert names.index("USER") < names.index("ENTRYPOINT")
    (entrypoint,) = final.all("ENTRYPOINT")
    (cmd,) = final.all("CMD")
    (healthcheck,) = final.all("HEALTHCHECK")
    options, _, check = healthcheck.partition(" CMD ")
    assert "--interval=" in options
    argv: list[str] = [*yaml.safe_load(entrypoint), *yaml.safe_load(cmd)]
    assert argv == ["gatehouse", "serve", "--workers", "2"]
    check_argv: list[str] = yaml.safe_load(check)
    assert check_argv[0] == "python"

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEHOUSE_")}
    env.update(final.env())
    env.update(
        {
            "PATH": f"{GATEHOUSE.parent}:{os.environ['PATH']}",
            "GATEHOUSE_DATA_DIR": str(tmp_path / "data"),
            "GATEHOUSE_PORT": str(port),
        }
    )
    assert env["GATEHOUSE_HOST"] == "0.0.0.0"  # noqa: S104 - inside a container
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_ready(f"http://127.0.0.1:{port}", process, log)
        healthy = subprocess.run(
            [sys.executable, *check_argv[1:]], env=env, timeout=30, check=False
        )
        assert healthy.returncode == 0
    finally:
        process.terminate()
        process.wait(timeout=30)
    unhealthy = subprocess.run(
        [sys.executable, *check_argv[1:]], env=env, capture_output=True, timeout=30, check=False
    )
    assert unhealthy.returncode != 0
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", "var", "*.key"} <= set(ignored)


def test_compose_wires_two_gatehouses_to_postgresql_redis_and_nginx() -> None:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"gatehouse-1", "gatehouse-2", "postgres", "redis", "nginx"}
    upstream = (ROOT / "deploy/nginx/gatehouse.conf").read_text()
    for name in ("gatehouse-1", "gatehouse-2"):
        service = services[name]
        env = service["environment"]
        assert env["GATEHOUSE_DATABASE_URL"].startswith("postgresql://gatehouse:")
        assert env["GATEHOUSE_DATABASE_URL"].endswith("@postgres:5432/gatehouse")
        assert env["GATEHOUSE_REDIS_URL"] == "redis://redis:6379/0"
        assert env["GATEHOUSE_MASTER_KEY_FILE"] == "/run/secrets/master_key"
        assert env["GATEHOUSE_ENVIRONMENT"] == "production"
        assert service["secrets"] == ["master_key"]
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["build"] == "."
        assert f"server {name}:8000" in upstream
    assert services["postgres"]["environment"]["POSTGRES_DB"] == "gatehouse"
    nginx = services["nginx"]
    (mount,) = nginx["volumes"]
    source = mount.split(":")[0]
    assert (ROOT / source).is_file()
    assert compose["secrets"]["master_key"]["file"] == "./master.key"
    for service in services.values():
        assert "healthcheck" in service or service.get("build") == "."


# -- nginx with TLS in front of two processes ------------------------------------------------


@pytest.fixture
def two_servers(tmp_path: Path, postgres_url: str) -> Iterator[tuple[LiveServer, LiveServer, int]]:
    tls_port = free_port()
    key = base64.b64encode(os.urandom(32)).decode()
    public_url = f"https://localhost:{tls_port}"
    shared_redis = redis_url()
    for name in ("one", "two"):  # logs only: the data is in PostgreSQL
        (tmp_path / name).mkdir()
    first = start_server(
        tmp_path / "one",
        log_level="info",
        GATEHOUSE_DATABASE_URL=postgres_url,
        GATEHOUSE_REDIS_URL=shared_redis,
        GATEHOUSE_MASTER_KEY=key,
        GATEHOUSE_PUBLIC_URL=public_url,
    )
    try:
        second = start_server(
            tmp_path / "two",
            seed_demo=False,
            log_level="info",
            GATEHOUSE_DATABASE_URL=postgres_url,
            GATEHOUSE_REDIS_URL=shared_redis,
            GATEHOUSE_MASTER_KEY=key,
            GATEHOUSE_PUBLIC_URL=public_url,
        )
        try:
            yield first, second, tls_port
        finally:
            second.stop()
    finally:
        first.stop()


def _nginx_conf(tmp_path: Path, servers: tuple[LiveServer, LiveServer], tls_port: int) -> Path:
    """deploy/nginx/gatehouse-tls.conf with this machine's addresses, ports and files."""
    certificates = make_certificates(tmp_path / "tls")
    http_port = free_port()
    site = (ROOT / "deploy/nginx/gatehouse-tls.conf").read_text()
    upstreams = [f"server {s.base_url.removeprefix('http://')} " for s in servers]
    for old, new in [
        ("server 10.0.0.11:8000 ", upstreams[0]),
        ("server 10.0.0.12:8000 ", upstreams[1]),
        ("listen 443 ssl;", f"listen 127.0.0.1:{tls_port} ssl;"),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("auth.example.com;", "localhost;"),
        ("/etc/nginx/tls/auth.example.com.fullchain.pem", str(certificates.cert_pem)),
        ("/etc/nginx/tls/auth.example.com.key.pem", str(certificates.key_pem)),
        ("/var/log/nginx/gatehouse.access.log", str(tmp_path / "nginx-access.log")),
    ]:
        assert old in site, old
        site = site.replace(old, new)
    (tmp_path / "site.conf").write_text(site)
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"daemon off;\nworker_processes 1;\npid {tmp_path / 'nginx.pid'};\n"
        f"error_log {tmp_path / 'nginx-error.log'} warn;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        f"  client_body_temp_path {tmp_path}/body; proxy_temp_path {tmp_path}/proxy;\n"
        f"  fastcgi_temp_path {tmp_path}/fcgi; uwsgi_temp_path {tmp_path}/uwsgi;\n"
        f"  scgi_temp_path {tmp_path}/scgi;\n"
        f"  access_log off;\n  include {tmp_path / 'site.conf'};\n}}\n"
    )
    return main


def test_nginx_terminates_tls_in_front_of_two_processes(
    tmp_path: Path, two_servers: tuple[LiveServer, LiveServer, int]
) -> None:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.skip("nginx is not installed")
    first, second, tls_port = two_servers
    conf = _nginx_conf(tmp_path, (first, second), tls_port)
    checked = subprocess.run(
        [nginx, "-t", "-c", str(conf), "-p", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(
        [nginx, "-c", str(conf), "-p", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"https://localhost:{tls_port}"
    ca = ssl.create_default_context(cafile=str(tmp_path / "tls" / "ca.pem"))
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/readyz", verify=ca, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, (tmp_path / "nginx-error.log").read_text()
                time.sleep(0.1)
        demo = first.demo
        assert demo["token_url"] == f"{base}/customers/demo/oauth2/token"
        with httpx.Client(verify=ca, timeout=10) as http:
            tokens = []
            for _ in range(6):
                response = http.post(
                    demo["token_url"],
                    data={"grant_type": "client_credentials"},
                    auth=(demo["client_id"], demo["client_secret"]),
                )
                assert response.status_code == 200, response.text
                assert response.headers["strict-transport-security"] == "max-age=31536000"
                tokens.append(response.json()["access_token"])
            jwks = http.get(f"{demo['issuer']}/.well-known/jwks.json").json()
            corpora = [
                http.get(f"{base}/v2/corpora", headers={"Authorization": f"Bearer {t}"})
                for t in tokens
            ]
            leaky = http.get(f"{base}/v2/corpora", params={"access_token": tokens[0]})
        assert [r.status_code for r in corpora] == [200] * 6
        assert leaky.status_code in (400, 401)
        for token in tokens:
            key = jwt.PyJWKSet.from_dict(jwks)[jwt.get_unverified_header(token)["kid"]].key
            claims = jwt.decode(token, key, algorithms=["ES256"], audience=base)
            assert claims["iss"] == f"{base}/customers/demo"
        plain = httpx.post(
            f"http://127.0.0.1:{_http_port(conf)}/customers/demo/oauth2/token",
            headers={"Host": "localhost"},
        )
        assert plain.status_code == 308
        assert plain.headers["location"] == "https://localhost/customers/demo/oauth2/token"
    finally:
        process.terminate()
        process.wait(timeout=30)
    # Both processes served API calls (round robin), and nginx logged no query string.
    for server in (first, second):
        assert server.log_path is not None
        deadline = time.monotonic() + 30
        while "/v2/corpora" not in server.log_path.read_text():
            assert time.monotonic() < deadline, server.log_path.read_text()
            time.sleep(0.05)
    nginx_log = (tmp_path / "nginx-access.log").read_text()
    assert '"GET /v2/corpora" 200' in nginx_log
    assert tokens[0] not in nginx_log
    assert "access_token" not in nginx_log


def _http_port(conf: Path) -> int:
    site = (conf.parent / "site.conf").read_text()
    ports = re.findall(r"listen 127\.0\.0\.1:(\d+);", site)
    return int(ports[0])
