"""Fixtures for the end-to-end tests: the real demo app on a free port, and real headless Chromium.

The app is started with its documented command (``python examples/survey_app/app.py``) as a
subprocess, with its SQLite history and results in ``tmp_path``. Chromium is Debian's
``chromium`` driven through ``chromedriver`` by Selenium, pointed at both binaries explicitly so
Selenium Manager never tries to download a browser. Without the binaries (or node) the tests are
skipped, except under ``CI=true``, where they fail: CI must not pass by skipping the browser.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "examples" / "survey_app" / "app.py"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# Known to work as root on a closed network: no sandbox (root), no GPU, and none of Chromium's
# background traffic (updates, sync, QUIC probes), which would only meet refused connections.
#: The app records this residential US address (Comcast, from examples/submissions.jsonl) for
#: requests from this machine: every browser here connects from 127.0.0.1, and the shipped model
#: has never seen a consenting respondent without an IP, so a missing one would add a spurious
#: network signal to every test run. Bot and control get the same address.
LOOPBACK_IP = "73.162.44.18"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage")


def require_binary(path_or_name: str, what: str) -> str:
    """The binary's path, else skip (or fail under CI=true)."""
    found = shutil.which(path_or_name) or (path_or_name if os.path.exists(path_or_name) else None)
    if found is None:
        message = f"{what} is not installed ({path_or_name}); .ci/run installs it"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI=true: failing rather than skipping)")
        pytest.skip(message)
    return found


class RunningApp:
    """A started demo app: its base URL, data directory and JSON API."""

    def __init__(self, url: str, data_dir: Path) -> None:
        self.url = url
        self.data_dir = data_dir

    def results(self, limit: int = 100) -> list[dict]:
        """Recent scored submissions, newest first (the admin page's data)."""
        with urllib.request.urlopen(f"{self.url}/api/submissions?limit={limit}", timeout=10) as response:
            return json.loads(response.read())

    def payloads(self) -> list[dict]:
        """Records the app scored (it runs with --keep-payloads), oldest first."""
        path = self.data_dir / "payloads.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def survey_app(tmp_path_factory, free_port):
    """The demo app, started with its documented command on a free localhost port."""
    data_dir = tmp_path_factory.mktemp("survey_app")
    port = free_port()
    env = dict(os.environ, FRAUDSCORE_SECRET="e2e-tests-secret-0123456789abcdef")
    log = open(data_dir / "server.log", "w")
    process = subprocess.Popen(
        [sys.executable, str(APP), "--port", str(port), "--data-dir", str(data_dir), "--keep-payloads", "--quiet",
         "--loopback-ip", LOOPBACK_IP],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90  # the model loads first; the machine is shared
        while True:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise RuntimeError(f"the survey app did not start:\n{(data_dir / 'server.log').read_text()}")
            time.sleep(0.2)
        yield RunningApp(url, data_dir)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="session")
def node_binary():
    return require_binary("node", "node (Node.js)")


@pytest.fixture(scope="module")
def chromium_binaries():
    return require_binary(CHROMIUM, "chromium"), require_binary(CHROMEDRIVER, "chromium-driver")


@pytest.fixture(scope="module")
def make_browser(chromium_binaries):
    """Factory: ``make_browser(**options)`` starts a fresh headless Chromium (own empty profile).

    Call ``driver.quit()`` when done (the machine is small); any left open are quit at the end.

    Options: ``window_size=(w, h)``; ``stealth=True`` hides the automation flag and the headless
    user agent, as a human-like control (a real person's browser shows neither).
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = chromium_binaries
    started = []

    def make(window_size=(1280, 900), stealth=False):
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        profile = tempfile.mkdtemp(prefix="fraudscore-e2e-chromium-")
        options.add_argument(f"--user-data-dir={profile}")
        options.add_argument(f"--window-size={window_size[0]},{window_size[1]}")
        options.add_argument("--lang=en-US")
        if stealth:
            options.add_argument("--disable-blink-features=AutomationControlled")
            options.add_experimental_option("excludeSwitches", ["enable-automation"])
        # The performance log holds every network request the page makes: what left the page.
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
        driver.set_page_load_timeout(60)
        driver.set_script_timeout(60)
        started.append((driver, profile))
        if stealth:
            version = driver.capabilities.get("browserVersion", "131.0.0.0").split(".")[0]
            ua = (f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  f"Chrome/{version}.0.0.0 Safari/537.36")
            driver.execute_cdp_cmd("Network.setUserAgentOverride", {"userAgent": ua, "acceptLanguage": "en-US,en"})
        return driver

    yield make
    for driver, profile in started:
        try:
            if driver.service.is_connectable():  # not quit by the test already
                driver.quit()
        except Exception:  # noqa: BLE001 - teardown must reach every profile
            pass
        shutil.rmtree(profile, ignore_errors=True)
