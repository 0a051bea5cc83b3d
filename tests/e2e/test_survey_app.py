"""The demo app without a browser: what it adds to a submission, its survey spec, its privacy notice."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from fraudscore.schema import FIELDS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def app_module():
    spec = importlib.util.spec_from_file_location("fraudscore_survey_app", ROOT / "examples" / "survey_app" / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PAYLOAD = {
    "submission_id": "chosen-by-the-page", "survey_id": "other", "started_at": 1, "submitted_at": 2,
    "answers": {"likert": [3]}, "network": {"ip": "8.8.8.8", "referrer": "https://x.example/"},
    "device": {"webdriver": False}, "extra": "dropped",
}


def test_the_server_assigns_ids_and_adds_ip_and_language_only_under_usage_consent(app_module):
    record = app_module.build_record({**PAYLOAD, "consent": {"usage": True}}, client_ip="81.2.69.160",
                                     accept_language="en-GB")
    assert record["submission_id"] != "chosen-by-the-page" and record["survey_id"] == app_module.SURVEY_ID
    assert record["network"] == {"ip": "81.2.69.160", "accept_language": "en-GB", "referrer": "https://x.example/"}
    assert "extra" not in record
    withheld = app_module.build_record({**PAYLOAD, "consent": {"usage": "yes"}}, client_ip="81.2.69.160",
                                       accept_language="en-GB")
    assert "network" not in withheld


def test_a_loopback_peer_is_left_out_or_replaced_by_the_configured_stand_in(app_module):
    payload = {**PAYLOAD, "consent": {"usage": True}}
    assert "ip" not in app_module.build_record(payload, client_ip="127.0.0.1", accept_language=None)["network"]
    record = app_module.build_record(payload, client_ip="::1", accept_language=None, loopback_ip="73.162.44.18")
    assert record["network"]["ip"] == "73.162.44.18"


def test_the_demo_survey_has_the_layout_the_shipped_model_was_fitted_on(app_module):
    import fraudscore

    trained = {s.survey_id: s for s in fraudscore.load_model().extractor_.surveys}[app_module.SURVEY_ID]
    demo = app_module.SPEC
    for name in ("country", "languages", "likert_points", "n_likert", "scales", "reverse_keyed", "attention_checks",
                 "n_text"):
        assert getattr(demo, name) == getattr(trained, name), name
    # the attention checks really ask for the answers the spec expects
    from survey import LIKERT_ITEMS, LIKERT_LABELS

    for item, expected in demo.attention_checks.items():
        assert f"'{LIKERT_LABELS[expected - 1]}'" in LIKERT_ITEMS[item]


def test_every_field_the_collector_or_app_can_send_is_documented_in_collector_md():
    doc = (ROOT / "docs" / "COLLECTOR.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`([a-z_]+(?:\.[a-z_]+)+)`", doc))
    # series members are documented as `telemetry.pointer.t`, `.x`, ...
    for stem, members in re.findall(r"`(telemetry\.[a-z]+)\.t`((?:, `\.[a-z]+`)*)", doc):
        documented |= {f"{stem}.{m}" for m in ["t", *re.findall(r"\.([a-z]+)", members)]}
    documented |= set(re.findall(r"`([a-z_]+)`", doc))
    gated = [f.name for f in FIELDS if f.consent != "none" or f.group == "consent"]
    missing = [name for name in gated + ["started_at", "submitted_at", "answers.honeypot"] if name not in documented]
    assert not missing


def test_the_privacy_notice_is_rendered_from_collector_md(app_module):
    from pages import privacy_page

    page = privacy_page(ROOT / "docs" / "COLLECTOR.md")
    assert "<table>" in page and "<code>device.webdriver</code>" in page
    assert "never recorded" in page and "## " not in page
