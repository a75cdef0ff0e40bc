"""Running ``gatehouse`` as a user does, with ``GATEHOUSE_*`` settings of its own: by default in
this test process (:mod:`tests.cli.inprocess`, the same command line, environment, stdin,
stdout, stderr and exit code as ``python -m gatehouse`` without a second of interpreter
start-up each), or as a real process with ``Cli(..., process=True)`` where a test needs one."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from tests.cli.inprocess import invoke


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
    """A started command; :meth:`wait` collects its result (a command run in this process has
    finished when it is started: commands started together run one after the other)."""

    process: subprocess.Popen[bytes] | None
    stdin: bytes
    done: Result | None = None

    def wait(self) -> Result:
        if self.done is not None:
            return self.done
        assert self.process is not None
        out, err = self.process.communicate(self.stdin, timeout=60)
        return Result(self.process.returncode, out.decode(), err.decode())


class Cli:
    """``gatehouse`` with its own environment (data dir, database, extra settings); each command
    in this process unless ``process`` is true."""

    process: bool = False

    def __init__(self, data_dir: Path, *, process: bool = False, **settings: str) -> None:
        self.process = process
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATEHOUSE_")}
        env["GATEHOUSE_DATA_DIR"] = str(data_dir)
        # The databases the CLI remembers (cli/datadirs.py): this data directory's own list.
        env["XDG_STATE_HOME"] = str(data_dir.parent / "state")
        # A set master key: no development key file (and its warning) unless a test asks.
        env["GATEHOUSE_MASTER_KEY"] = base64.b64encode(os.urandom(32)).decode()
        self.env = env
        self.env.update(_settings_env(settings))

    @classmethod
    def from_env(cls, env: dict[str, str], *, process: bool = False) -> Cli:
        """The CLI of a running server: exactly the server's environment."""
        cli = cls.__new__(cls)
        cli.env = dict(env)
        cli.process = process
        return cli

    def with_settings(self, **settings: str) -> Cli:
        """The same data directory and master key with some settings changed."""
        other = Cli.__new__(Cli)
        other.env = {**self.env, **_settings_env(settings)}
        other.process = self.process
        return other

    def start(self, *args: str, stdin: str = "") -> Pending:
        if not self.process:
            code, out, err = invoke(args, self.env, stdin)
            return Pending(None, stdin.encode(), Result(code, out, err))
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
