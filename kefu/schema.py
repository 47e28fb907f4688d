"""The whole database schema (every feature's tables) and migration commands."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData

import kefu.channels.sms.tables
import kefu.channels.voice.tables
import kefu.channels.webchat.tables
import kefu.customers.tables
import kefu.desk.tables
import kefu.ivr.tables
import kefu.knowledge.tables
import kefu.routing.tables
import kefu.tenancy.tables
import kefu.tickets.tables
import kefu.wfm.tables
from kefu.db.base import Base
from kefu.db.eventlog import EventRecord

__all__ = ["alembic_config", "drift", "metadata", "upgrade"]

_ = (
    kefu.customers.tables,
    kefu.knowledge.tables,
    kefu.routing.tables,
    kefu.tenancy.tables,
    EventRecord,
)
metadata: MetaData = Base.metadata
MIGRATIONS = Path(__file__).parent / "db" / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Apply migrations using ``engine`` (so in-memory and test databases work too).

    Features branch their migrations from the base revision, so "heads" applies every branch.
    """
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def drift(engine: Engine) -> list[object]:
    """Differences between the tables in code and the migrated database (empty = in sync)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))
