"""Shared fixtures: every database test runs on SQLite and on a real PostgreSQL.

PostgreSQL comes from KEFU_TEST_POSTGRES_URL (scripts/test starts one) or, when that is unset,
a throwaway cluster started here; each xdist worker gets its own migrated database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from kefu.bootstrap import Container, build_container, create_app
from kefu.config import Settings
from kefu.core.clock import ManualClock
from kefu.schema import upgrade
from tests.services import Server, start_postgres, start_redis

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    url = os.environ.get("KEFU_TEST_POSTGRES_URL")
    server: Server | None = None
    if not url:
        server = start_postgres()
        url = server.url
    yield url
    if server is not None:
        server.stop()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    url = os.environ.get("KEFU_TEST_REDIS_URL")
    server: Server | None = None
    if not url:
        server = start_redis()
        url = server.url
    yield url
    if server is not None:
        server.stop()


def _fresh_postgres_database(server_url: str) -> str:
    name = f"kefu_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def migrated_url(backend: str, request: pytest.FixtureRequest, tmp: Path) -> str:
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'kefu.db'}"
    else:
        url = _fresh_postgres_database(request.getfixturevalue("postgres_server"))
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database shared by the session's tests (they isolate by tenant)."""
    return migrated_url(request.param, request, tmp_path_factory.mktemp(request.param))


@pytest.fixture
def clock() -> ManualClock:
    """Today (UTC) at 10:00 UTC, 18:00 in Beijing: a fixed time of day, so that no test depends
    on when the suite runs (between 16:00 and 19:00 UTC "today" in Beijing has just begun, and a
    call three hours ago was yesterday)."""
    return ManualClock(datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, var_dir=tmp_path, secret_key="test-secret")


@pytest.fixture
def container(settings: Settings, clock: ManualClock) -> Iterator[Container]:
    built = build_container(settings, clock=clock)
    yield built
    built.close()


@pytest.fixture
def app(container: Container):  # type: ignore[no-untyped-def]
    return create_app(container)
