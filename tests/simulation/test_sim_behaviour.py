"""Honest people look like published human data; each attack family does what it claims."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fraudscore.simulation import simulate
from fraudscore.simulation.stats import row_stats


@pytest.fixture(scope="module")
def sample():
    sim = simulate(6000, fraud_rate=0.5, seed=31, output="arrow")
    stats = row_stats(sim.data, sim.survey)
    return sim, stats


def _likert(sim):
    rows = sim.data.column("answers").combine_chunks().field("likert").to_pylist()
    return np.array([[np.nan if v is None else v for v in r] for r in rows], dtype=float)


def test_within_scale_items_correlate_0_4_to_0_6_and_reverse_keys_flip_the_sign(sample):
    sim, _ = sample
    honest = (sim.labels.family == "honest").to_numpy()
    x = pd.DataFrame(_likert(sim)[honest])
    spec = sim.survey
    sign = np.ones(spec.n_likert)
    sign[list(spec.reverse_keyed)] = -1
    for scale in spec.scales:
        corr = x[list(scale)].corr().to_numpy()
        keyed = corr * np.outer(sign[list(scale)], sign[list(scale)])
        off = keyed[~np.eye(len(scale), dtype=bool)]
        assert 0.35 <= off.mean() <= 0.6, off.mean()
        assert (off > 0.2).all()
        raw = corr[~np.eye(len(scale), dtype=bool)]
        assert (raw < 0).any()  # reverse-keyed pairs correlate negatively before recoding


def test_honest_people_pass_attention_checks_at_a_realistic_rate(sample):
    sim, stats = sample
    honest = sim.labels.family == "honest"
    n_checks = len(sim.survey.attention_checks)
    pass_rate = 1 - stats.attention_failures[honest].mean() / n_checks
    assert 0.9 <= pass_rate <= 0.98


def test_honest_typing_and_pointing_fall_in_published_ranges(sample):
    sim, stats = sample
    h = stats[sim.labels.family == "honest"]
    assert 180 <= h.iki_mean.median() <= 320  # Dhakal et al. 2018: ~240 ms mean IKI
    assert 0.02 <= h.backspace_rate.median() <= 0.1
    assert 0.75 <= h.straightness.median() <= 0.95  # curved, corrected paths
    assert 120 <= h.duration_s.median() <= 400
    assert h.items_under_1s.mean() < 0.02  # Huang et al. 2012: attentive people rarely go under 1-2 s/item


def test_honest_phones_tap_without_hover_moves(sample):
    sim, _ = sample
    recs = sim.data.slice(0, 400).to_pylist()
    honest = (sim.labels.family == "honest").to_numpy()[:400]
    for r, h in zip(recs, honest):
        if h and r["device"] and r["telemetry"] and "iPhone" in r["device"]["user_agent"] and r["device"]["touch_points"]:
            kinds = set(r["telemetry"]["pointer"]["kind"])
            assert "move" not in kinds


def test_reading_time_grows_with_item_length(sample):
    sim, _ = sample
    honest = (sim.labels.family == "honest").to_numpy()
    item_ms = sim.data.column("telemetry").combine_chunks().field("item_ms").to_pylist()
    keep = [i for i, r in enumerate(item_ms) if r is not None and honest[i]]
    words = np.asarray(sim.survey.item_words, dtype=float)
    per_item = np.median(np.array([item_ms[i] for i in keep], dtype=float)[:, : len(words)], axis=0)
    assert np.corrcoef(words, per_item)[0, 1] > 0.8


def test_straightliners_have_long_longstrings(sample):
    sim, stats = sample
    lab = sim.labels
    straight = stats.longstring[(lab.family == "careless") & (lab.subtype == "straightline")]
    honest = stats.longstring[lab.family == "honest"]
    assert straight.median() >= 8 > honest.quantile(0.95)


def test_duplicates_reuse_a_real_persons_device(sample):
    sim, _ = sample
    lab = sim.labels
    dup = lab[lab.family == "duplicate"]
    assert len(dup)
    originals = lab[lab.person_id.isin(dup.person_id) & (lab.family == "honest")]
    assert len(originals) > 0.9 * dup.person_id.nunique()
    device = sim.data.column("device").combine_chunks()
    canvas = np.asarray(device.field("canvas_hash").to_pylist(), dtype=object)
    screen = np.asarray([str(s) for s in device.field("screen").to_pylist()], dtype=object)
    first = lab.reset_index().groupby("device_key")["index"].first()
    ref = first.loc[dup.device_key].to_numpy()
    rows = dup.index.to_numpy()
    assert (canvas[rows] == canvas[ref]).mean() > 0.95
    assert (screen[rows] == screen[ref]).mean() > 0.95


def test_click_farms_share_few_devices_and_emulators_share_hardware(sample):
    sim, stats = sample
    lab = sim.labels
    farm = lab[lab.family == "click_farm"]
    assert farm.device_key.nunique() < 0.3 * len(farm)
    emu = lab.family == "emulator_farm"
    # At the default difficulty about half of the farms run identical instances.
    assert (stats.device_dup_count[emu] > 3).mean() > 0.25
    assert stats.battery_full_charging[emu].mean() > 0.3


def test_naive_bots_show_automation_tells_at_crude_difficulty():
    sim = simulate(600, fraud_rate=1.0, families=["naive_bot"], difficulty="crude", seed=2, output="arrow")
    stats = row_stats(sim.data, sim.survey, ip_lookup=False)
    js = sim.labels.subtype != "http_post"
    assert stats.webdriver[js].mean() > 0.9
    assert stats.headless_ua[js].mean() > 0.9
    assert stats.items_under_1s[js].mean() > 0.9


def test_honest_traffic_has_honest_oddities(sample):
    sim, stats = sample
    h = stats[sim.labels.family == "honest"]
    # Honest VPN users, travellers, accessibility tools, software renderers, autofill.
    for col in ("ip_hosting", "tz_mismatch", "language_mismatch", "webdriver", "software_renderer",
                "battery_full_charging", "touch_mismatch"):
        assert 0 < h[col].mean() < 0.2, col


def test_realism_report_renders_every_quantity():
    from fraudscore.simulation.report import PUBLISHED, _markdown, realism_table

    table = realism_table(n=600, seed=1)
    assert len(table) == len(PUBLISHED)
    text = _markdown(table)
    assert text.count("\n") == len(PUBLISHED) + 1 and "Dhakal" in text
