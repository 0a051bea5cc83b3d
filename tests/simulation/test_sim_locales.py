"""Honest people are not unrealistically clean: foreign locales and SIMs, and a day-night rhythm."""

from __future__ import annotations

import numpy as np
import pytest

from fraudscore.simulation import simulate
from fraudscore.simulation.network import IMMIGRANT_SHARE


@pytest.fixture(scope="module")
def honest():
    sim = simulate(6_000, fraud_rate=0.0, seed=7, output="pandas")
    return sim.data


def _region(tags):
    for tag in tags if tags is not None else ():
        parts = tag.split("-")
        if len(parts) > 1 and len(parts[-1]) == 2:
            return parts[-1]
    return None


def test_some_honest_residents_prefer_another_countrys_locale(honest):
    regions = honest["device.languages"].map(_region).dropna()
    foreign = (regions != "US").mean()
    # IMMIGRANT_SHARE of people at home, minus those whose origin profile is the survey's or has no
    # region (es-419, en-US defaults in the Philippines, ...).
    assert 0.3 * IMMIGRANT_SHARE < foreign < 1.5 * IMMIGRANT_SHARE
    assert regions.isin(["IN", "PH", "VN", "MX"]).any()  # the fraud-origin diasporas are there too


def test_some_honest_phones_carry_a_foreign_sim(honest):
    carriers = honest["device.carrier"].dropna()
    assert 0 < (~carriers.isin(["Verizon", "T-Mobile", "AT&T"])).mean() < 0.1


def test_honest_submissions_follow_a_day_night_rhythm(honest):
    # New York time (UTC-4 in June) for everyone is close enough: most of the US is within 3 h.
    hour = ((honest["started_at"].to_numpy() // 3_600_000) - 4) % 24
    night = np.isin(hour, [2, 3, 4, 5]).mean()
    evening = np.isin(hour, [18, 19, 20, 21]).mean()
    assert night < 0.08 < evening
