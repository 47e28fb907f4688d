"""Message catalogs stay complete in both languages; clocks behave as engines expect."""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kefu.core.clock import ManualClock, SimClock, ensure_utc
from kefu.core.i18n import LOCALES, catalog, negotiate, translate
from kefu.customers.masking import mask_card, mask_phone

pytestmark = pytest.mark.unit
TEMPLATES = Path(__file__).resolve().parents[3] / "kefu" / "web" / "templates"


def test_catalogs_have_the_same_keys_and_placeholders() -> None:
    zh, en = catalog("zh-CN"), catalog("en")
    assert set(zh) == set(en)
    fields = string.Formatter()
    for key in zh:
        assert {f for _, f, _, _ in fields.parse(zh[key]) if f} == {
            f for _, f, _, _ in fields.parse(en[key]) if f
        }, key


def test_every_key_used_in_templates_exists() -> None:
    used = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(
            re.findall(r"(?<![\w.])t\('([a-z_.]+)'\s*[,)]", template.read_text(encoding="utf-8"))
        )
    assert used, "no keys found: the pattern is wrong"
    for locale in LOCALES:
        assert not used - set(catalog(locale)), locale


def test_negotiation_and_fallback() -> None:
    assert negotiate(None, "en-GB,en;q=0.8") == "en"
    assert negotiate("fr-FR, zh-TW;q=0.5") == "zh-CN"
    assert negotiate("fr") == "zh-CN"
    assert translate("error.not_found.detail", "en", entity="site", id=7) == "No site with id 7."
    assert translate("no.such.key", "en", default="fallback") == "fallback"


def test_manual_clock_never_goes_back_and_refuses_naive_time() -> None:
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    clock.advance(minutes=5)
    assert clock.now() == datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
    with pytest.raises(ValueError):
        clock.set(datetime(2025, 12, 31, tzinfo=UTC))
    with pytest.raises(ValueError):
        ensure_utc(datetime(2026, 1, 1))  # noqa: DTZ001 - the naive value is the point


def test_sim_clock_runs_actions_in_time_then_scheduling_order() -> None:
    start = datetime(2026, 3, 2, tzinfo=UTC)
    clock = SimClock(start)
    seen: list[tuple[str, datetime]] = []
    clock.schedule_in(10, lambda: seen.append(("b", clock.now())))
    clock.schedule_in(5, lambda: seen.append(("a", clock.now())))
    tie = clock.schedule_in(10, lambda: seen.append(("c", clock.now())))
    cancelled = clock.schedule_in(7, lambda: seen.append(("x", clock.now())))
    SimClock.cancel(cancelled)
    assert clock.pending() == 3 and tie is not None
    clock.run_until(start + timedelta(seconds=60))
    assert [name for name, _ in seen] == ["a", "b", "c"]
    assert seen[0][1] == start + timedelta(seconds=5)
    assert clock.now() == start + timedelta(seconds=60)


def test_masking() -> None:
    assert mask_phone("13812341234") == "138****1234"
    assert mask_card("6222021234567890123") == "622202*********0123"
