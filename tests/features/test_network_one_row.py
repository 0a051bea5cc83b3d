"""The network family's one-row paths (``score_one``) give the column code's values bit for bit.

Each row is scored alone and inside a batch of several rows (the column code), on rows built
from hostile network and device values: zones unknown, missing or changing offset that day (DST,
half-hour zones), times at a zone's transition, missing or odd languages and Accept-Language
headers, private, hosting, IPv6 and invalid addresses, GPS at the date line, unknown and foreign
carriers, rows of another survey.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fraudscore
from fraudscore.features import network
from fraudscore.features.context import FeatureContext
from fraudscore.io import from_records

sys.path.insert(0, str(Path(__file__).resolve().parent))
from one_row import assert_alone_as_in_the_batch  # noqa: E402
from fraudscore.survey import SurveySpec

GROUPS = (network.geo, network.locale, network.carrier)
_SIM = fraudscore.simulate(12, seed=5, output="records")
_SURVEYS = {_SIM.survey.survey_id: _SIM.survey,
            "fr-panel": SurveySpec(survey_id="fr-panel", country="FR", languages=("fr",))}

zones = st.sampled_from(["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kathmandu", "UTC",
                         "America/Sao_Paulo", "Pacific/Chatham", "Etc/GMT+12", None, "", "Not/AZone", "utc"])
# 2026-03-08 07:00 UTC is New York's spring-forward instant; 2026-10-25 01:00 UTC London's fall-back.
times = st.sampled_from([1_772_953_200_000, 1_772_953_200_000 - 1, 1_792_890_000_000, 1_780_396_203_760]) | st.integers(
    0, 2_000_000_000_000)
languages = st.lists(st.sampled_from(["en-US", "vi-VN", "fr", "zh-Hant-TW", "es-419", "en_GB", "", "x-", "de-DE;q=0.9"]),
                     max_size=3) | st.none()
ips = st.sampled_from(["8.8.8.8", "10.1.2.3", "2a00:1450:4001::1", "13.32.0.1", "not an ip", "", None,
                       "::ffff:8.8.8.8", "11.171.17.205", "81.2.69.160"])
rows = st.fixed_dictionaries({
    "survey": st.sampled_from([_SIM.survey.survey_id, "fr-panel", "unknown-survey"]),
    "zone": zones, "offset": st.sampled_from([-240, -300, 0, 60, 345, 825, None, -720]), "time": times,
    "languages": languages, "accept": st.sampled_from(["en-US", "fr-FR,fr;q=0.9", "", None, "vi"]),
    "ip": ips, "lon": st.sampled_from([None, -179.9, 179.9, 0.0, -74.0, 2.35, 151.2]) | st.floats(-180, 180),
    "carrier": st.sampled_from([None, "", "Verizon", "Orange F", "Viettel", "T-Mobile", "unknown carrier"]),
    "base": st.integers(0, len(_SIM.records) - 1),
})


def _record(row: dict) -> dict:
    r = copy.deepcopy(_SIM.records[row["base"]])
    r["survey_id"] = row["survey"]
    r["submitted_at"] = row["time"]
    r["started_at"] = row["time"] - 60_000
    d = r["device"] = dict(r.get("device") or {})
    n = r["network"] = dict(r.get("network") or {})
    d["timezone"], d["tz_offset_min"], d["languages"], d["carrier"] = (row["zone"], row["offset"], row["languages"],
                                                                       row["carrier"])
    d["gps"] = None if row["lon"] is None else {"lat": 40.0, "lon": row["lon"], "accuracy_m": 20.0}
    n["ip"], n["accept_language"] = row["ip"], row["accept"]
    return r


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rows, min_size=2, max_size=6))
def test_network_features_of_one_row_equal_its_row_in_a_batch(drawn):
    assert_alone_as_in_the_batch([_record(row) for row in drawn], GROUPS, _SURVEYS)


def test_the_one_row_paths_are_taken():
    ctx = FeatureContext(from_records([_SIM.records[0]]), _SURVEYS)
    assert network._geo_one(ctx).keys() == network.geo(ctx, None).keys()
    assert network._locale_one(ctx).keys() == network.locale(FeatureContext(ctx.batch, _SURVEYS), None).keys()


@given(st.sampled_from([None, float("nan"), "", "sim-us-en", "fr-panel", "x" * 300]))
def test_survey_codes_of_one_row_are_the_factorization(survey_id):
    from fraudscore.enrich._factorize import factorize_objects

    batch = from_records([{**_SIM.records[0], "survey_id": survey_id}])
    codes, uniques = FeatureContext(batch, _SURVEYS).survey_codes
    want_codes, want_uniques = factorize_objects(batch.survey_id)
    assert codes.dtype == want_codes.dtype and codes.tolist() == want_codes.tolist()
    assert uniques.dtype == want_uniques.dtype and uniques.tolist() == want_uniques.tolist()
