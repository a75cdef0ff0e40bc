"""The schema-version shortcut of ``migrate`` agrees with Alembic itself."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from gatehouse.store.engine import (
    MIGRATIONS,
    create_store_engine,
    current_revision,
    head_revision,
    migrate,
)


def test_head_revision_read_from_files_equals_alembic_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert head_revision() == ScriptDirectory.from_config(config).get_current_head()


def test_new_database_has_no_revision_and_migrate_brings_it_to_head(tmp_path: Path) -> None:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'g.db'}")
    try:
        assert current_revision(engine) is None
        migrate(engine)
        assert current_revision(engine) == head_revision()
        migrate(engine)  # already current: nothing to do
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
