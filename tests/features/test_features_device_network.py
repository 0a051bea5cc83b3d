"""Device and network features on hand-built submissions."""

from __future__ import annotations


import numpy as np
import pytest

from fraudscore.enrich.ip import IPDatabase
from fraudscore.features.extractor import FeatureExtractor
from fraudscore.survey import SurveySpec

CHROME_WIN = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
HEADLESS = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36"
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/18.1 Mobile/15E148 Safari/604.1")
SPEC = SurveySpec("sv", country="DE", languages=("de",))


def _ip(country: str | None = None, hosting: bool = False) -> str:
    start, end, _ = IPDatabase.default().ipv4_ranges(country=country, hosting=hosting)
    value = int(start[len(start) // 2]) + 1
    return ".".join(str((value >> s) & 255) for s in (24, 16, 8, 0))


def sub(sid, **device):
    network = device.pop("network", {})
    r = {"submission_id": sid, "survey_id": "sv", "started_at": 1_777_622_400_000, "submitted_at": 1_777_622_700_000,
         "consent": device.pop("consent", {"usage": True, "analytics": True}),
         "network": {"ip": _ip("DE"), "accept_language": "de-DE,de;q=0.9", **network},
         "device": {"user_agent": CHROME_WIN, "platform": "Win32", "screen": [1920, 1080], "touch_points": 0,
                    "timezone": "Europe/Berlin", "tz_offset_min": 120, "languages": ["de-DE", "de"],
                    "webgl_renderer": "ANGLE (NVIDIA GeForce RTX 3060)", "plugins": ["PDF Viewer"], "webdriver": False,
                    "cookies_enabled": True, "cookie_id": "c1", **device}}
    return r


@pytest.fixture(scope="module")
def extract():
    def run(records):
        fx = FeatureExtractor(surveys=[SPEC], families=["device", "network"]).fit(records)
        X = fx.transform(records)
        return {name: X[:, i] for i, name in enumerate(fx.get_feature_names_out())}
    return run


def test_an_ordinary_desktop_in_the_survey_country_raises_nothing(extract):
    f = extract([sub("a")])
    for name in ("device.webdriver", "device.crawler_ua", "device.software_renderer", "device.touch_mismatch",
                 "device.platform_mismatch", "device.screen_mismatch", "network.hosting", "network.ip_country_mismatch",
                 "network.tz_country_mismatch", "network.language_mismatch", "network.header_language_mismatch"):
        assert f[name][0] == 0.0, name
    assert f["network.tz_offset_mismatch_h"][0] == 0.0  # 2026-05-01: Berlin is UTC+2


def test_headless_automation_signals(extract):
    f = extract([sub("b", user_agent=HEADLESS, platform="Linux x86_64", webdriver=True, plugins=[], languages=[],
                     webgl_renderer="ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero)), SwiftShader driver)")])
    assert f["device.webdriver"][0] == 1.0
    assert f["device.crawler_ua"][0] == 1.0
    assert f["device.software_renderer"][0] == 1.0
    assert f["device.plugins"][0] == 0 and f["device.languages"][0] == 0


def test_a_phone_user_agent_without_touch_on_a_windows_platform(extract):
    f = extract([sub("c", user_agent=IPHONE, platform="Win32", touch_points=0, screen=[1920, 1080])])
    assert f["device.mobile"][0] == 1.0
    assert f["device.touch_mismatch"][0] == 1.0
    assert f["device.platform_mismatch"][0] == 1.0
    assert f["device.screen_mismatch"][0] == 1.0


def test_geo_fraud_signals(extract):
    f = extract([sub("d", timezone="America/New_York", tz_offset_min=60, languages=["en-US"],
                     network={"ip": _ip(hosting=True), "accept_language": "de-DE"})])
    assert f["network.hosting"][0] == 1.0
    assert f["network.tz_offset_mismatch_h"][0] == pytest.approx(5.0)  # New York is UTC-4 in May
    assert f["network.language_mismatch"][0] == 1.0
    assert f["network.header_language_mismatch"][0] == 1.0


def test_ip_in_another_country_than_the_survey(extract):
    f = extract([sub("e", network={"ip": _ip("US")})])
    assert f["network.ip_country_mismatch"][0] == 1.0
    assert f["network.tz_country_mismatch"][0] == 1.0  # a Berlin time zone on a US address


def test_without_usage_consent_every_device_and_network_feature_is_nan(extract):
    f = extract([sub("f", user_agent=HEADLESS, webdriver=True, consent={"analytics": True})])
    for name, values in f.items():
        assert np.isnan(values[0]), name


def test_zone_offset_is_judged_at_each_rows_own_time_across_a_dst_change(extract):
    # Berlin leaves summer time at 01:00 UTC on 2026-10-25: UTC+2 before, UTC+1 after. A batch
    # holding both sides judges each row at its own time, exactly as it would alone.
    before, after = 1_792_887_600_000, 1_792_891_200_000  # 00:20 and 01:20 UTC that day

    def at(sid, ms, offset):
        return sub(sid, tz_offset_min=offset) | {"started_at": ms - 300_000, "submitted_at": ms}

    rows = [at("before", before, 120), at("after", after, 60), at("after-wrong", after, 120)]
    together = extract(rows)["network.tz_offset_mismatch_h"]
    assert together.tolist() == [0.0, 0.0, 1.0]
    assert [extract([r])["network.tz_offset_mismatch_h"][0] for r in rows] == together.tolist()


def test_preferred_region_is_the_first_language_that_names_a_country():
    from fraudscore.features.network import preferred_regions
    from fraudscore.ragged import Ragged

    langs = Ragged.from_lengths(np.array(["de", "en-IN", "en-US", "zh-Hant-TW", "es-419", "fr", "es-419", "pt_br"],
                                         dtype=object), np.array([3, 1, 0, 2, 2]))
    # "de" has no region, so en-IN wins; a script subtag is skipped; es-419 names no country.
    assert list(preferred_regions(langs)) == ["IN", "TW", None, None, "BR"]


def test_a_foreign_locale_against_survey_ip_and_zone(extract):
    f = extract([
        sub("home"),  # de-DE, German IP, Berlin zone
        sub("immigrant", languages=["vi-VN", "vi", "de"]),  # lives in Germany: only the survey country differs
        sub("proxy", languages=["bn-BD", "en-US"], timezone="Asia/Dhaka", tz_offset_min=360),  # German proxy
        sub("bare", languages=["de"]),  # no region named: unknown, not "no mismatch"
    ])
    assert list(f["network.language_region_mismatch"]) == pytest.approx([0, 1, 1, np.nan], nan_ok=True)
    assert list(f["network.language_region_ip_mismatch"]) == pytest.approx([0, 1, 1, np.nan], nan_ok=True)
    assert list(f["network.language_tz_mismatch"]) == pytest.approx([0, 1, 0, np.nan], nan_ok=True)


def test_locale_features_are_nan_without_usage_consent(extract):
    f = extract([sub("n", languages=["bn-BD"], consent={"usage": False, "analytics": True})])
    for name in ("network.language_region_mismatch", "network.language_region_ip_mismatch",
                 "network.language_tz_mismatch"):
        assert np.isnan(f[name][0]), name


def test_carrier_country_against_survey_and_ip(extract):
    f = extract([
        sub("local", carrier="Vodafone.de"),
        sub("roaming", carrier="Verizon"),  # a US SIM on a German line: foreign to both
        sub("proxy", carrier="Grameenphone", network={"ip": _ip("US")}),
        sub("unknown", carrier="Some MVNO"),  # not in the table: unknown, never "foreign"
        sub("none"),
    ])
    assert list(f["network.carrier_country_mismatch"]) == pytest.approx([0, 1, 1, np.nan, np.nan], nan_ok=True)
    assert list(f["network.carrier_ip_mismatch"]) == pytest.approx([0, 1, 1, np.nan, np.nan], nan_ok=True)


def test_carrier_features_are_nan_without_usage_consent(extract):
    f = extract([sub("n", carrier="Grameenphone", consent={"usage": False, "analytics": True})])
    assert np.isnan(f["network.carrier_country_mismatch"][0]) and np.isnan(f["network.carrier_ip_mismatch"][0])

