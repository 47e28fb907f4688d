"""Forecasting: behaviour on synthetic histories (pure, fast)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from kefu.core.calendar import BusinessCalendar
from kefu.wfm.forecast import (
    DayHistory,
    SpecialDay,
    calendar_special_days,
    forecast_aht,
    forecast_volume,
    mase,
    reforecast_intraday,
    same_slot_average,
    wape,
)

pytestmark = pytest.mark.unit

START = date(2026, 1, 5)  # a Monday
SLOTS = 24


def _profile() -> np.ndarray:
    hours = np.arange(SLOTS)
    shape = np.where((hours >= 8) & (hours < 20), 1.0 + np.sin((hours - 8) / 12 * np.pi), 0.0)
    return shape / shape.sum()


def _history(weeks: int = 12, weekday_total: float = 1000.0, seed: int = 1) -> DayHistory:
    rng = np.random.default_rng(seed)
    days = 7 * weeks
    totals = np.array(
        [weekday_total if (START + timedelta(i)).weekday() < 5 else 200.0 for i in range(days)]
    )
    return DayHistory(START, rng.poisson(totals[:, None] * _profile()[None, :]).astype(float))


def test_forecast_follows_weekday_level_and_profile() -> None:
    history = _history()
    targets = [history.end + timedelta(days=k) for k in range(1, 8)]
    fc = forecast_volume(history, targets)
    assert fc.shape == (7, SLOTS)
    for row, day in enumerate(targets):
        expected = 1000.0 if day.weekday() < 5 else 200.0
        assert fc[row].sum() == pytest.approx(expected, rel=0.06)
        assert fc[row][:8].sum() == 0.0  # closed hours stay closed
    assert wape(fc[0], 1000.0 * _profile()) < 0.06


def test_closed_weekday_forecasts_zero() -> None:
    history = _history()
    volumes = history.volumes.copy()
    volumes[[i for i in range(history.days) if history.day(i).weekday() == 6]] = 0.0
    fc = forecast_volume(DayHistory(START, volumes), [history.end + timedelta(days=7)])
    assert fc.sum() == 0.0


def test_a_recent_level_shift_is_followed_faster_than_the_eight_week_average() -> None:
    history = _history(weeks=12)
    volumes = history.volumes.copy()
    volumes[-14:] *= 1.3  # two weeks ago volume rose by 30 %
    shifted = DayHistory(START, volumes)
    target = [shifted.end + timedelta(days=1)]
    truth = (1300.0 if target[0].weekday() < 5 else 260.0) * _profile()
    ours = wape(forecast_volume(shifted, target)[0], truth)
    baseline = wape(same_slot_average(shifted, target)[0], truth)
    assert ours < baseline


def test_special_days_learn_their_effect_and_do_not_pollute_normal_days() -> None:
    history = _history(weeks=12)
    volumes = history.volumes.copy()
    special: dict[date, SpecialDay] = {}
    for week in (2, 6, 10):
        i = 7 * week + 2  # a Wednesday
        volumes[i] *= 2.0
        special[history.day(i)] = SpecialDay("campaign")
    hist = DayHistory(START, volumes)
    wednesday = hist.end + timedelta(days=(2 - hist.end.weekday()) % 7 or 7)
    special[wednesday] = SpecialDay("campaign")
    campaign = forecast_volume(hist, [wednesday], special)[0].sum()
    normal = forecast_volume(hist, [wednesday])[0].sum()
    assert normal == pytest.approx(1000.0, rel=0.06)
    assert campaign / normal == pytest.approx(2.0, rel=0.2)


def test_unknown_special_kind_uses_its_prior_lift() -> None:
    history = _history()
    day = history.end + timedelta(days=1)
    fc = forecast_volume(history, [day], {day: SpecialDay("launch", lift=1.5)})
    plain = forecast_volume(history, [day])
    assert fc.sum() == pytest.approx(1.5 * plain.sum())


def test_calendar_special_days_mark_holidays_and_makeup_workdays() -> None:
    cal = BusinessCalendar()
    special = calendar_special_days(cal, date(2026, 9, 25), date(2026, 10, 12))
    assert special[date(2026, 10, 1)].kind == "holiday"
    makeup = [d for d, s in special.items() if s.kind == "makeup"]
    assert makeup and all(d.weekday() >= 5 for d in makeup)
    assert all(special[d].like_weekday == 0 for d in makeup)


def test_targets_must_follow_the_history() -> None:
    history = _history()
    with pytest.raises(ValueError, match="not after"):
        forecast_volume(history, [history.end])


def test_history_rejects_negative_counts() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        DayHistory(START, -np.ones((3, 4)))


def test_reforecast_scales_the_rest_of_the_day() -> None:
    fc = np.full(10, 100.0)
    actual = np.full(10, 150.0)
    updated = reforecast_intraday(fc, actual, 5)
    assert np.array_equal(updated[:5], actual[:5])
    assert 100.0 < updated[5] < 150.0
    assert updated[5] > reforecast_intraday(fc, actual, 1)[5]  # more evidence, more trust
    assert np.array_equal(reforecast_intraday(fc, fc, 5), fc)


def test_aht_forecast_is_volume_weighted_and_falls_back_to_the_slot_mean() -> None:
    history = _history(weeks=8)
    aht = np.where(history.volumes > 0, 300.0, np.nan)
    aht[:, 12] = 200.0
    hist = DayHistory(START, history.volumes, aht)
    fc = forecast_aht(hist, [hist.end + timedelta(days=1)])[0]
    assert fc[12] == pytest.approx(200.0, rel=0.05)
    assert fc[10] == pytest.approx(300.0, rel=0.05)
    assert np.isfinite(fc[2])  # a closed slot still gets the overall mean


def test_error_measures() -> None:
    actual = np.array([10.0, 20.0, 30.0])
    assert wape(actual, actual) == 0.0
    assert wape(actual + 6.0, actual) == pytest.approx(18.0 / 60.0)
    history = np.tile([1.0, 3.0], 10)
    assert mase(actual + 2.0, actual, history, 1) == pytest.approx(1.0)
