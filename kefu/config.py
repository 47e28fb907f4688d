"""Typed settings read from KEFU_* environment variables (documented in docs/configuration.md)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "default_sqlite_url"]


def default_sqlite_url(var_dir: Path = Path("var")) -> str:
    return f"sqlite:///{(var_dir / 'kefu.db').as_posix()}"


class Settings(BaseSettings):
    """Every knob of a kefu process. Environment variable = ``KEFU_`` + field name in capitals."""

    model_config = SettingsConfigDict(env_prefix="KEFU_", extra="ignore")

    database_url: str = Field(default="", description="SQLAlchemy URL; empty = SQLite in var/")
    var_dir: Path = Field(default=Path("var"), description="Data directory (SQLite, uploads)")
    event_bus_url: str = Field(default="", description="redis://host:port/db to share events")
    secret_key: str = Field(default="", description="Signs cookies; generated into var/ if empty")
    session_hours: float = Field(default=12.0, description="Web session lifetime in hours")
    max_body_bytes: int = Field(default=1_048_576, description="Largest accepted JSON body")
    default_locale: str = Field(default="zh-CN", description="zh-CN or en")
    timezone: str = Field(default="Asia/Shanghai", description="Business time zone of the center")
    ws_heartbeat_s: float = Field(default=15.0, description="Websocket ping interval")
    cookie_secure: bool = Field(default=False, description="Mark cookies Secure (behind HTTPS)")
    log_level: str = Field(default="info")
    demo_simulation: bool = Field(
        default=True, description="`kefu demo`: simulated customers and agents keep it busy"
    )

    def resolved_database_url(self) -> str:
        return self.database_url or default_sqlite_url(self.var_dir)

    @property
    def backend(self) -> str:
        return self.resolved_database_url().split(":", 1)[0].split("+", 1)[0]
