"""Running ``python -m gatehouse`` as a user does: a real process with ``GATEHOUSE_*`` settings."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        """The one JSON object on stdout of a command that succeeded without a traceback."""
        assert self.code == 0, self.stderr
        assert "Traceback" not in self.stderr, self.stderr
        lines = self.stdout.splitlines()
        assert len(lines) == 1, self.stdout
        document: dict[str, Any] = orjson.loads(lines[0])
        return document


@dataclass(frozen=True)
class Pending:
    """A started command; :meth:`wait` collects its result."""

    process: subprocess.Popen[bytes]
    stdin: bytes

    def wait(self) -> Result:
        out, err = self.process.communicate(self.stdin, timeout=60)
        return Result(self.process.returncode, out.decode(), err.decode())


class Cli:
    """``gatehouse`` with its own environment (data dir, database, extra settings)."""

    def __init__(self, data_dir: Path, **settings: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATEHOUSE_")}
        env["GATEHOUSE_DATA_DIR"] = str(data_dir)
        # The databases the CLI remembers (cli/datadirs.py): this data directory's own list.
        env["XDG_STATE_HOME"] = str(data_dir.parent / "state")
        # A set master key: no development key file (and its warning) unless a test asks.
        env["GATEHOUSE_MASTER_KEY"] = base64.b64encode(os.urandom(32)).decode()
        self.env = env
        self.env.update(_settings_env(settings))

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Cli:
        """The CLI of a running server: exactly the server's environment."""
        cli = cls.__new__(cls)
        cli.env = dict(env)
        return cli

    def with_settings(self, **settings: str) -> Cli:
        """The same data directory and master key with some settings changed."""
        other = Cli.__new__(Cli)
        other.env = {**self.env, **_settings_env(settings)}
        return other

    def start(self, *args: str, stdin: str = "") -> Pending:
        process = subprocess.Popen(
            [sys.executable, "-m", "gatehouse", *args],
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        return Pending(process, stdin.encode())

    def run(self, *args: str, stdin: str = "") -> Result:
        return self.start(*args, stdin=stdin).wait()

    def json(self, *args: str, stdin: str = "") -> dict[str, Any]:
        """Run ``ARGS --json``; it must succeed and print one JSON object."""
        return self.run(*args, "--json", stdin=stdin).json()


def run_all(*pending: Pending) -> list[Result]:
    """Wait for commands started together; their results in the order given."""
    return [p.wait() for p in pending]


def _settings_env(settings: dict[str, str]) -> dict[str, str]:
    return {f"GATEHOUSE_{name.upper()}": value for name, value in settings.items()}
