"""A small rolling-origin run on the two real bank data sets: ours beats the 8-week same-slot
average by at least 10 % relative WAPE, one day and one week ahead.

The data live in ../shared/data/wfm beside the repository (evaluation data, never shipped).
"""

from __future__ import annotations

import pytest

from bench.wfm_datasets import anonymous_bank, open_days, us_bank
from kefu.wfm.forecast import backtest, forecast_volume, same_slot_average

pytestmark = pytest.mark.unit

METHODS = {
    "baseline": lambda h, d: same_slot_average(h, d, weeks=8),
    "kefu": lambda h, d: forecast_volume(h, d),
}


@pytest.mark.parametrize(
    ("loader", "week"), [(us_bank, 5), (anonymous_bank, 7)], ids=["us_bank", "anonymous_bank"]
)
@pytest.mark.parametrize("ahead", ["day", "week"])
def test_beats_the_eight_week_same_slot_average(loader, week, ahead) -> None:  # type: ignore[no-untyped-def]
    history = loader()
    horizon = 1 if ahead == "day" else week
    origins = [i for i in open_days(history) if i >= history.days - 70 - horizon][::3]
    scores = {s.method: s for s in backtest(history, origins, horizon, METHODS)}
    assert scores["kefu"].origins >= 15
    improvement = 1 - scores["kefu"].wape / scores["baseline"].wape
    assert improvement >= 0.10, (scores, improvement)
    assert scores["kefu"].mase < scores["baseline"].mase
