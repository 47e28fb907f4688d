"""Engine and session factory; SQLite gets WAL, foreign keys and a busy timeout."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["Database", "end_read_transaction"]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class Database:
    """One engine and its session factory; ``backend`` is ``sqlite`` or ``postgresql``."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 40) -> None:
        """``pool_size``: connections kept open. The default covers every request thread
        (anyio runs 40), so a burst never waits for or churns connections; a single worker
        thread needs only a few."""
        parsed = make_url(url)
        if parsed.drivername == "postgresql" or parsed.drivername == "postgres":
            parsed = parsed.set(drivername="postgresql+psycopg")
        self.backend = parsed.get_backend_name()
        kwargs: dict[str, Any] = {"echo": echo}
        if self.backend == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
            if parsed.database and parsed.database != ":memory:":
                kwargs.update(pool_size=pool_size, max_overflow=10)
        else:
            kwargs.update(pool_pre_ping=True, pool_size=pool_size, max_overflow=10)
        self.url = parsed
        self.engine: Engine = create_engine(parsed, **kwargs)
        if self.backend == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self, **info: Any) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on any error (no partial rows)."""
        with self.sessions() as session:
            session.info.update(info)
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()


def end_read_transaction(session: Session) -> None:
    """End ``session``'s transaction if it only read: its connection goes back to the pool (and
    later reads see other transactions' commits) before the caller waits on something else,
    typically the routing worker. A commit of nothing expires nothing; pending writes stay."""
    if session.in_transaction() and not (session.new or session.dirty or session.deleted):
        session.commit()
