"""The import rules of docs/architecture.md: the protocol core and the libraries for other
people's programs never reach the store, the web framework or the settings, and nothing below
the adapters imports an adapter."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"

ADAPTERS = {"api", "console", "routes", "cli", "fastlane", "app", "server", "__main__"}
WEB_AND_STORAGE = {
    "sqlalchemy",
    "alembic",
    "psycopg",
    "starlette",
    "fastapi",
    "uvicorn",
    "httptools",
    "jinja2",
    "typer",
    "pydantic_settings",
}

CLIENT_SIDE = {"verify", "client", "client_secretless", "dpop_client"}

# part -> the gatehouse parts it may import (besides itself), and the outside packages it must not
RULES: dict[str, tuple[set[str] | None, set[str]]] = {
    "oauth": ({"errors", "refusals", "verify"}, WEB_AND_STORAGE),
    "verify": (set(), WEB_AND_STORAGE),
    # gatehouse.client and the two modules it loads on demand (secretless auth, DPoP proofs)
    "client": (CLIENT_SIDE, WEB_AND_STORAGE),
    "client_secretless": (CLIENT_SIDE, WEB_AND_STORAGE),
    "dpop_client": (CLIENT_SIDE, WEB_AND_STORAGE),
    "refusals": (set(), WEB_AND_STORAGE),
    "store": (set(), {"starlette", "fastapi", "uvicorn", "jinja2", "typer"}),
    "errors": (set(), WEB_AND_STORAGE),
    "settings": (set(), {"sqlalchemy", "starlette", "fastapi", "uvicorn"}),
    # The application layer's use-cases: no web framework, and the database only through the
    # store's verbs.
    "services": (None, WEB_AND_STORAGE),
    # the endpoint table: paths and the core's endpoints, nothing of the web or the store
    "endpoints": ({"oauth"}, WEB_AND_STORAGE),
    # the fast lane reads the endpoint table, never the Starlette routes
    "fastlane": (
        {
            *("coldreads", "connlimits", "endpoints", "errors", "fastbatch", "fastrender"),
            *("headers", "oauth", "peers", "refusals", "tls"),
        },
        {"sqlalchemy", "starlette", "fastapi"},
    ),
}
# Adapters whose writes still notify by hand (docs/architecture.md, "Known gaps"); every other
# adapter leaves notifying to the services. This list only ever shrinks.
NOTIFYING_ADAPTERS = {"gatehouse.console.key_pages"}


def part_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth of the file (function-level imports too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def modules() -> list[tuple[str, Path]]:
    result = []
    for path in sorted((SRC / "gatehouse").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        name = ".".join(path.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")
        result.append((name, path))
    return result


def violations(module: str, path: Path) -> list[str]:
    part = part_of(module)
    allowed, forbidden_outside = RULES.get(part, (None, set()))
    problems = []
    for imported in imports_of(path):
        top = imported.split(".")[0]
        if top == "gatehouse":
            target = part_of(imported)
            if imported == "gatehouse" or target == part:
                continue
            if allowed is not None and target not in allowed:
                problems.append(f"{module} imports {imported}")
            elif part not in ADAPTERS and target in ADAPTERS:
                problems.append(f"{module} (not an adapter) imports the adapter {imported}")
        elif top in forbidden_outside and not (
            # The Starlette adapter of gatehouse.verify is the one place it may meet Starlette.
            module == "gatehouse.verify.starlette" and top == "starlette"
        ):
            problems.append(f"{module} imports {imported}")
    return problems


def test_every_module_keeps_the_import_rules() -> None:
    found = modules()
    assert len(found) > 50
    assert [problem for module, path in found for problem in violations(module, path)] == []


def test_the_rules_catch_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from gatehouse.store.store import Store\nimport sqlalchemy\n")
    assert sorted(violations("gatehouse.oauth.bad", bad)) == [
        "gatehouse.oauth.bad imports gatehouse.store.store",
        "gatehouse.oauth.bad imports gatehouse.store.store.Store",
        "gatehouse.oauth.bad imports sqlalchemy",
    ]
    assert violations("gatehouse.verify.bad", bad)[0].startswith("gatehouse.verify.bad imports")
    bad.write_text("import starlette.requests\n")
    assert violations("gatehouse.verify.keyset", bad) == [
        "gatehouse.verify.keyset imports starlette.requests"
    ]
    assert violations("gatehouse.verify.starlette", bad) == []


# Outside gatehouse.store, SQLAlchemy may name an engine or a URL (typing, the composition root)
# and its exception types, nothing that builds a statement; nor may anything reach the schema.
SQL_FREE_NAMES = {"sqlalchemy": {"Engine", "URL"}, "sqlalchemy.exc": None}


def sql_violations(module: str, path: Path) -> list[str]:
    """Where ``module`` (outside gatehouse.store) could build SQL: it imports the schema
    (``gatehouse.store.tables``) or a part of SQLAlchemy other than :data:`SQL_FREE_NAMES`."""
    if part_of(module) == "store":
        return []
    problems = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "sqlalchemy" or alias.name.startswith(
                    "gatehouse.store.tables"
                ):
                    problems.append(f"{module} imports {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [alias.name for alias in node.names]
            if node.module.startswith("gatehouse.store.tables") or (
                node.module == "gatehouse.store" and "tables" in names
            ):
                problems.append(f"{module} imports gatehouse.store.tables")
            elif node.module.split(".")[0] == "sqlalchemy":
                if node.module not in SQL_FREE_NAMES:
                    problems.append(f"{module} imports {node.module}")
                    continue
                allowed = SQL_FREE_NAMES[node.module]
                problems += [
                    f"{module} imports {node.module}.{name}"
                    for name in names
                    if allowed is not None and name not in allowed
                ]
    return problems


def test_no_sql_is_built_outside_the_store() -> None:
    found = modules()
    assert [problem for module, path in found for problem in sql_violations(module, path)] == []


def test_the_sql_rule_catches_the_schema_and_statements(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from gatehouse.store import tables as t\n"
        "from sqlalchemy import Engine, select\n"
        "from sqlalchemy.exc import IntegrityError\n"
        "import sqlalchemy.sql\n"
    )
    assert sql_violations("gatehouse.users", bad) == [
        "gatehouse.users imports gatehouse.store.tables",
        "gatehouse.users imports sqlalchemy.select",
        "gatehouse.users imports sqlalchemy.sql",
    ]
    assert sql_violations("gatehouse.store.users", bad) == []


def test_the_fast_lane_and_the_routes_read_one_endpoint_table(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from gatehouse.routes.oauth import oauth_routes\n")
    assert sorted(violations("gatehouse.fastlane", bad)) == [
        "gatehouse.fastlane imports gatehouse.routes.oauth",
        "gatehouse.fastlane imports gatehouse.routes.oauth.oauth_routes",
    ]
    assert "gatehouse.endpoints imports gatehouse.routes.oauth" in violations(
        "gatehouse.endpoints", bad
    )


def test_importing_every_oauth_module_loads_no_store_framework_or_settings() -> None:
    names = [m for m, _ in modules() if part_of(m) == "oauth"]
    script = (
        "import sys\n"
        + "".join(f"import {name}\n" for name in names)
        + "bad = [m for m in sys.modules if m.split('.')[0] in "
        + repr(sorted(WEB_AND_STORAGE))
        + " or m.startswith(('gatehouse.store', 'gatehouse.settings', 'gatehouse.api',"
        + " 'gatehouse.routes', 'gatehouse.console'))]\n"
        + "print(','.join(sorted(bad)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""


def notices_of(path: Path) -> int:
    """How many ``<something>.changed()`` calls ``path`` makes."""
    return sum(
        1
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "changed"
        and not node.args
    )


def test_adapters_leave_notifying_to_the_services() -> None:
    notifying = {
        module for module, path in modules() if part_of(module) in ADAPTERS and notices_of(path)
    }
    assert notifying <= NOTIFYING_ADAPTERS


def test_the_notice_rule_catches_an_adapter_that_notifies(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def write(runtime):\n    runtime.changed()\n")
    assert notices_of(bad) == 1
    bad.write_text("def write(runtime):\n    service.create(notify=runtime)\n")
    assert notices_of(bad) == 0
