"""The demo survey in real headless Chromium: a scripted bot is caught, the collected payload meets
the input contract, and without consent no telemetry leaves the page.

One app (module fixture) serves every test here, like one deployment serving many respondents.
What "left the page" is read from Chromium's own network log (the DevTools performance log), not
from the page's scripts, so a request the page made behind the collector's back would show too.

Set ``FRAUDSCORE_E2E_SCREENSHOT=docs/img/survey_admin.png`` to (re)write the admin-page screenshot
in the docs.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import fraudscore
from fraudscore.schema import KIND_VOCABULARIES

pytestmark = pytest.mark.timeout(300)

#: Reason codes that say "a script did this": the automation family (docs/REASONS.md) and the
#: behaviour codes for scripted pointer and typing.
AUTOMATION_REASONS = {"AUTOMATION_FLAG", "HEADLESS_BROWSER", "EMULATOR", "DEVICE_INCONSISTENT", "COOKIES_BLOCKED",
                      "HONEYPOT", "SCRIPTED_POINTER", "SCRIPTED_TYPING"}
#: Answers a bot clicks: agree with positive items, disagree with reverse-keyed ones, pass both checks.
BOT_LIKERT = [4, 4, 4, 2, 2, 2, 4, 4, 4, 2, 2, 2, 2, 4, 4, 4, 2, 2, 2, 4, 4, 4, 4, 2, 2, 2]
BOT_TEXT = ["The prices were fair and the search worked well for me.",
            "Faster delivery and clearer shipping costs at the start of checkout."]
SERVER_FIELDS = {"submission_id", "survey_id"}  # set by the app, never by the page


# ---------------------------------------------------------------------------------------------- helpers
def sent_requests(driver) -> list[dict]:
    """Every network request since the last call: ``{url, method, body}`` in order.

    Chromium's own pages (``chrome://``, the new-tab page a fresh profile opens) are not the
    survey page's traffic and are left out; every http(s) request is kept, whatever its host.
    """
    out = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") != "Network.requestWillBeSent":
            continue
        params = message["params"]
        request = params["request"]
        if urlsplit(request["url"]).scheme not in ("http", "https", "ws", "wss"):
            continue
        body = request.get("postData")
        if body is None and request.get("hasPostData"):
            body = driver.execute_cdp_cmd("Network.getRequestPostData", {"requestId": params["requestId"]})["postData"]
        out.append({"url": request["url"], "method": request["method"], "body": body})
    return out


def document_listeners(driver) -> set[str]:
    """Event types with a listener on ``document``, from DevTools (what the page cannot hide)."""
    document = driver.execute_cdp_cmd("Runtime.evaluate", {"expression": "document"})["result"]["objectId"]
    listeners = driver.execute_cdp_cmd("DOMDebugger.getEventListeners", {"objectId": document})["listeners"]
    return {listener["type"] for listener in listeners}


def open_survey(driver, app, usage: bool, analytics: bool) -> None:
    """Load the survey and answer the consent question."""
    from selenium.webdriver.common.by import By

    driver.get(app.url + "/")
    if usage:
        driver.find_element(By.ID, "consent-usage").click()
    if analytics:
        driver.find_element(By.ID, "consent-analytics").click()
    driver.find_element(By.ID, "consent-continue").click()


def fill_like_a_bot(driver) -> None:
    """Answer every item at machine speed (WebDriver clicks and send_keys) and submit."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    for i, answer in enumerate(BOT_LIKERT):
        driver.find_element(By.CSS_SELECTOR, f'input[name="q{i}"][value="{answer}"]').click()
    for box, text in zip(driver.find_elements(By.CSS_SELECTOR, "textarea[data-text]"), BOT_TEXT):
        box.send_keys(text)
    driver.find_element(By.ID, "submit").click()
    WebDriverWait(driver, 60).until(EC.visibility_of_element_located((By.ID, "thanks")))


def submission_posts(requests: list[dict]) -> list[dict]:
    return [r for r in requests if r["method"] == "POST" and urlsplit(r["url"]).path == "/api/submissions"]


def wait_for_results(app, n: int, timeout: float = 30.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        rows = app.results()
        if len(rows) >= n or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


# ---------------------------------------------------------------------------------------------- a bot run
@pytest.fixture(scope="module")
def bot_run(survey_app, make_browser):
    """One scripted bot with full consent: what its browser sent and what the app made of it."""
    driver = make_browser()
    try:
        before_consent_requests = None
        driver.get(survey_app.url + "/")
        before_consent_listeners = document_listeners(driver)
        before_consent_requests = sent_requests(driver)
        from selenium.webdriver.common.by import By

        driver.find_element(By.ID, "consent-usage").click()
        driver.find_element(By.ID, "consent-analytics").click()
        driver.find_element(By.ID, "consent-continue").click()
        after_consent_listeners = document_listeners(driver)
        n_before = len(survey_app.results())
        fill_like_a_bot(driver)
        requests = sent_requests(driver)
    finally:
        driver.quit()
    rows = wait_for_results(survey_app, n_before + 1)
    posts = submission_posts(requests)
    assert len(posts) == 1, f"expected one submission POST, saw {[(r['method'], r['url']) for r in requests]}"
    return {
        "before_consent_requests": before_consent_requests,
        "before_consent_listeners": before_consent_listeners,
        "after_consent_listeners": after_consent_listeners,
        "payload": json.loads(posts[0]["body"]),
        "record": survey_app.payloads()[-1],
        "result": rows[0],
        "app_url": survey_app.url,
    }


def test_a_scripted_headless_bot_is_flagged_with_automation_reasons(bot_run):
    result, device = bot_run["result"], bot_run["payload"]["device"]
    # The collector delivered the bot's tells from the real browser ...
    assert device["webdriver"] is True
    assert "HeadlessChrome" in device["user_agent"]
    # ... and the shipped model, scoring what the app received, flags the run.
    assert result["decision"] in ("review", "reject"), result
    assert result["score"] > 0.5, result
    codes = {reason["code"] for reason in result["reasons"]}
    assert codes & AUTOMATION_REASONS, f"no automation-type reason among {result['reasons']}"
    assert result["families"]["automation"] > 0, result["families"]


def test_b_the_collected_payload_meets_the_input_contract(bot_run):
    payload, record, result = bot_run["payload"], bot_run["record"], bot_run["result"]
    # What the app scored is exactly what the page sent plus the server's own fields.
    network = record.pop("network")
    assert set(network) == {"ip", "accept_language", "referrer"} - ({"referrer"} if "network" not in payload else set())
    assert {k: v for k, v in record.items() if k not in SERVER_FIELDS} == {k: v for k, v in payload.items()
                                                                          if k != "network"}
    record["network"] = network
    batch = fraudscore.read_batch([record], check_unknown=True)
    assert batch.error_names().tolist() == [None]
    assert list(batch.warning_names()[0]) == []
    assert not batch.unknown_fields
    assert result["error"] is None and result["warnings"] == []

    # Every device attribute a desktop Chromium exposes was collected (no carrier, no GPS).
    expected = {"user_agent", "platform", "screen", "avail_screen", "color_depth", "pixel_ratio",
                "hardware_concurrency", "device_memory_gb", "touch_points", "timezone", "tz_offset_min", "languages",
                "webgl_vendor", "webgl_renderer", "canvas_hash", "audio_hash", "fonts_hash", "plugins", "webdriver",
                "cookies_enabled", "cookie_id", "battery", "connection"}
    assert set(payload["device"]) == expected
    telemetry = payload["telemetry"]
    assert len(telemetry["item_ms"]) == len(BOT_LIKERT) + len(BOT_TEXT)
    assert all(ms > 0 for ms in telemetry["item_ms"])
    clicks = telemetry["pointer"]["kind"].count("click")
    assert clicks >= len(BOT_LIKERT) + 1  # every radio button and the submit button
    presses = telemetry["keys"]["kind"].count("keydown")
    assert presses >= sum(len(t) for t in BOT_TEXT)
    # Key events carry a time and a kind from the schema's vocabulary, never a key.
    assert set(telemetry["keys"]) == {"t", "kind"}
    for stream in ("pointer", "keys", "focus"):
        vocabulary = set(KIND_VOCABULARIES[f"telemetry.{stream}.kind"])
        assert set(telemetry[stream]["kind"]) <= vocabulary
    for stream in ("pointer", "scroll", "keys", "focus"):
        t = telemetry[stream]["t"]
        assert t == sorted(t) and all(len(v) == len(t) for v in telemetry[stream].values())


def test_nothing_is_collected_or_sent_before_consent_is_known(bot_run):
    # Before the respondent answered: the page and its scripts were fetched, nothing was posted,
    # and no collector listener was on the document.
    requests = bot_run["before_consent_requests"]
    assert requests and all(r["method"] == "GET" and r["body"] is None for r in requests), requests
    assert {urlsplit(r["url"]).netloc for r in requests} == {urlsplit(bot_run["app_url"]).netloc}
    assert {urlsplit(r["url"]).path for r in requests} <= {"/", "/collector.js", "/static/survey.js",
                                                           "/static/style.css", "/favicon.ico"}
    assert not any(urlsplit(r["url"]).query for r in requests)
    collector_events = {"pointermove", "pointerdown", "pointerup", "click", "keydown", "keyup", "paste"}
    assert not bot_run["before_consent_listeners"] & collector_events
    # With analytics consent the collector starts listening.
    assert collector_events <= bot_run["after_consent_listeners"]


def test_c_consent_withheld_no_telemetry_or_device_data_leaves_the_page(survey_app, make_browser):
    driver = make_browser()
    try:
        open_survey(driver, survey_app, usage=False, analytics=False)
        listeners = document_listeners(driver)
        n_before = len(survey_app.results())
        fill_like_a_bot(driver)
        requests = sent_requests(driver)
        cookies = driver.get_cookies()
    finally:
        driver.quit()
    # No collector listener was ever attached.
    assert not listeners & {"pointermove", "pointerdown", "keydown", "keyup", "paste"}
    # Every request went to the survey's own server; exactly one carried data: the submission,
    # with answers and timestamps only.
    assert {urlsplit(r["url"]).netloc for r in requests} == {urlsplit(survey_app.url).netloc}
    with_data = [r for r in requests if r["body"] is not None or urlsplit(r["url"]).query]
    assert len(with_data) == 1 and with_data[0] in submission_posts(requests), requests
    payload = json.loads(with_data[0]["body"])
    assert set(payload) == {"consent", "answers", "started_at", "submitted_at"}
    assert payload["consent"] == {"usage": False, "analytics": False}
    for word in ("telemetry", "device", "network", "pointer", "user_agent", "webdriver"):
        assert word not in with_data[0]["body"]
    assert cookies == []  # no cookie id was set
    # The app added nothing gated either (no IP, no Accept-Language) and scored what it had.
    rows = wait_for_results(survey_app, n_before + 1)
    record = survey_app.payloads()[-1]
    assert set(record) == {"submission_id", "survey_id", "consent", "answers", "started_at", "submitted_at"}
    assert rows[0]["consent_usage"] is False and rows[0]["consent_analytics"] is False
    assert rows[0]["decision"] in ("accept", "review", "reject") and rows[0]["error"] is None


def test_admin_page_lists_recent_submissions_with_score_decision_and_reasons(survey_app, bot_run, make_browser):
    from selenium.webdriver.common.by import By

    driver = make_browser(window_size=(1360, 820))
    try:
        driver.get(survey_app.url + "/admin")
        rows = driver.find_elements(By.CSS_SELECTOR, "tbody tr")
        assert len(rows) == len(survey_app.results())
        newest_bot = [r for r in rows if bot_run["result"]["submission_id"][:13] in r.text]
        assert len(newest_bot) == 1
        text = newest_bot[0].text
        assert bot_run["result"]["decision"] in text
        assert f"{bot_run['result']['score']:.3f}" in text
        assert bot_run["result"]["reasons"][0]["code"] in text
        target = os.environ.get("FRAUDSCORE_E2E_SCREENSHOT")
        if target:
            path = Path(target)
            path.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(path))
    finally:
        driver.quit()
