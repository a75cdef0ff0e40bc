"""One ``gatehouse`` command run in this test process as ``python -m gatehouse`` runs it.

What a new process would give the command, it gets here: exactly the given environment (every
``GATEHOUSE_*`` variable of this process that is not in it is unset), stdin, its own stdout and
stderr, the exit code, the program name ``python -m gatehouse`` in usage messages, warnings
logged to stderr as ``gatehouse.cli.main`` configures them, Python warnings printed (not raised
as pytest's ``filterwarnings = error`` would), and an unhandled exception's traceback on
stderr. What a process would leave to its exit is cleaned up: every engine the command created
is disposed, so no connection (or PostgreSQL session) outlives the command.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine
from typer.testing import CliRunner

import gatehouse.store.engine as engine_module

PROG_NAME = "python -m gatehouse"
LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"  # as gatehouse.cli.main configures logging


def invoke(args: Sequence[str], env: dict[str, str], stdin: str) -> tuple[int, str, str]:
    """Run ``gatehouse ARGS`` with environment ``env``: (exit code, stdout, stderr)."""
    changes: dict[str, str | None] = {k: v for k, v in env.items() if os.environ.get(k) != v}
    changes.update({k: None for k in os.environ if k not in env})
    from gatehouse.cli import app

    runner = CliRunner()
    with _environ_kept(), _engines_disposed(), _stderr_logging(), warnings.catch_warnings():
        _python_warning_filters()
        warnings.showwarning = _show_warning
        result = runner.invoke(app, list(args), input=stdin, env=changes, prog_name=PROG_NAME)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        assert result.exc_info is not None
        stderr += "".join(traceback.format_exception(*result.exc_info))
    return result.exit_code, result.stdout, stderr


def _python_warning_filters() -> None:
    """The filters of a new interpreter (the warnings module's documentation, "Default Warning
    Filter"), in place of pytest's."""
    warnings.resetwarnings()
    warnings.simplefilter("default")
    for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
        warnings.simplefilter("ignore", category)
    warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")


@contextmanager
def _environ_kept() -> Iterator[None]:
    """``os.environ`` as it was, whatever the command set (``serve`` puts its flags there)."""
    before = dict(os.environ)
    try:
        yield
    finally:
        for name in [k for k in os.environ if k not in before]:
            del os.environ[name]
        os.environ.update(before)


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """Python's default: the warning on (the command's) stderr."""
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


class _CommandStderr(logging.Handler):
    """Log records on whatever ``sys.stderr`` is when they are emitted: the command's."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # logging must not fail the command
            self.handleError(record)


@contextmanager
def _stderr_logging() -> Iterator[None]:
    root = logging.getLogger()
    handler = _CommandStderr(logging.WARNING)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@contextmanager
def _engines_disposed() -> Iterator[None]:
    """Every engine made through ``gatehouse.store.engine`` while the command runs is disposed
    when it ends (a process would close their connections by exiting)."""
    made: list[Engine] = []
    names = vars(engine_module)
    original = names["create_engine"]

    def create_engine(*args: Any, **kwargs: Any) -> Engine:
        engine: Engine = original(*args, **kwargs)
        made.append(engine)
        return engine

    names["create_engine"] = create_engine
    try:
        yield
    finally:
        names["create_engine"] = original
        for engine in made:
            engine.dispose()
