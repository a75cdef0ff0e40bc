"""Storage: one small typed interface (:class:`gatehouse.store.store.Store`) over SQLAlchemy Core,
used with SQLite (the embedded default) and PostgreSQL; schema changes are Alembic migrations."""
