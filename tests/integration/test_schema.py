"""Migrations apply cleanly on both backends and match the tables in code (no drift)."""

from __future__ import annotations

import pytest
from sqlalchemy import UniqueConstraint, create_engine, inspect

from kefu.schema import drift, metadata

pytestmark = pytest.mark.integration


def test_migrations_match_models(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        assert drift(engine) == []
        tables = set(inspect(engine).get_table_names())
        assert set(metadata.tables) <= tables
    finally:
        engine.dispose()


def test_every_tenant_owned_table_has_an_indexed_tenant_id() -> None:
    shared = {"tenants", "audit_log", "event_log", "routing_commands", "alembic_version"}
    for name, table in metadata.tables.items():
        if name in shared:
            continue
        assert "tenant_id" in table.c, f"{name} has no tenant_id"
        assert not table.c.tenant_id.nullable, f"{name}.tenant_id is nullable"
        indexed = any("tenant_id" in [c.name for c in ix.columns] for ix in table.indexes) or any(
            isinstance(uc, UniqueConstraint) and next(iter(uc.columns)).name == "tenant_id"
            for uc in table.constraints
        )
        assert indexed, f"{name}.tenant_id is not indexed"
