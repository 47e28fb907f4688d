"""API schemas of tenancy and access."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from zoneinfo import available_timezones

from pydantic import AwareDatetime, Field, field_validator

from kefu.api.schemas import Input, Output
from kefu.tenancy.model import Role

__all__ = [
    "HolidayIn",
    "HolidayOut",
    "HolidayPatch",
    "LoginIn",
    "SiteIn",
    "SiteOut",
    "SitePatch",
    "TeamIn",
    "TeamOut",
    "TeamPatch",
    "TenantIn",
    "TenantOut",
    "TokenIn",
    "TokenOut",
    "UserIn",
    "UserOut",
    "UserPatch",
]

Code = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
Name = Field(min_length=1, max_length=200)
Locale = Literal["zh-CN", "en"]


def _known_zone(value: str | None) -> str | None:
    if value is not None and value not in available_timezones():
        raise ValueError("unknown time zone")
    return value


class LoginIn(Input):
    username: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=200)


class SiteIn(Input):
    code: str = Code
    name: str = Name
    city: str = Field(default="", max_length=100)
    timezone: str = Field(default="Asia/Shanghai", max_length=64)
    active: bool = True

    _zone = field_validator("timezone")(_known_zone)


class SitePatch(Input):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    city: str | None = Field(default=None, max_length=100)
    timezone: str | None = Field(default=None, max_length=64)
    active: bool | None = None

    _zone = field_validator("timezone")(_known_zone)


class SiteOut(Output):
    id: int
    code: str
    name: str
    city: str
    timezone: str
    active: bool


class TeamIn(Input):
    name: str = Name
    site_id: int | None = None
    leader_id: int | None = None


class TeamPatch(Input):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    site_id: int | None = None
    leader_id: int | None = None


class TeamOut(Output):
    id: int
    name: str
    site_id: int | None
    leader_id: int | None


class UserIn(Input):
    username: str = Field(min_length=2, max_length=80, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=1, max_length=200)
    display_name: str = Field(min_length=1, max_length=120)
    job_number: str = Field(default="", max_length=20)
    email: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=40)
    roles: list[Role] = Field(default_factory=lambda: [Role.AGENT])
    site_id: int | None = None
    team_id: int | None = None
    locale: Locale = "zh-CN"


class UserPatch(Input):
    password: str | None = Field(default=None, min_length=1, max_length=200)
    display_name: str | None = Field(default=None, min_length=1, max_length=120)
    job_number: str | None = Field(default=None, max_length=20)
    email: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    roles: list[Role] | None = None
    site_id: int | None = None
    team_id: int | None = None
    locale: Locale | None = None
    active: bool | None = None


class UserOut(Output):
    id: int
    username: str
    display_name: str
    job_number: str
    email: str
    phone: str
    roles: list[str]
    site_id: int | None
    team_id: int | None
    locale: str
    active: bool


class TokenIn(Input):
    name: str = Field(min_length=1, max_length=120)
    expires_at: AwareDatetime | None = None


class TokenOut(Output):
    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class HolidayIn(Input):
    day: date
    kind: Literal["holiday", "workday"]
    name: str = Field(default="", max_length=120)


class HolidayPatch(Input):
    kind: Literal["holiday", "workday"] | None = None
    name: str | None = Field(default=None, max_length=120)


class HolidayOut(Output):
    id: int
    day: date
    kind: str
    name: str


class TenantIn(Input):
    code: str = Code
    name: str = Name
    timezone: str = Field(default="Asia/Shanghai", max_length=64)
    locale: Locale = "zh-CN"

    _zone = field_validator("timezone")(_known_zone)


class TenantOut(Output):
    id: int
    code: str
    name: str
    timezone: str
    locale: str
    active: bool
