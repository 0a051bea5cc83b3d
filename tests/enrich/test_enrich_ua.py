"""fraudscore.enrich.ua: parse once per unique UA, defined outputs for hostile input."""

from __future__ import annotations

import json
import threading
import time
from importlib import resources

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fraudscore.enrich.ua import DEVICE_CLASSES, UNKNOWN, UAInfo, UAParser, has_accelerator, parse_user_agents

CHROME_WIN = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/120.0.0.0 Safari/537.36")
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Version/17.1 Mobile/15E148 Safari/604.1")
SAFARI_IPAD = ("Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
               "Version/16.6 Mobile/15E148 Safari/604.1")
ANDROID_TABLET = ("Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/119.0.0.0 Safari/537.36")
ANDROID_PHONE = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                 "Chrome/120.0.0.0 Mobile Safari/537.36")
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
HEADLESS = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 "
            "Safari/537.36")
FIREFOX_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) Gecko/20100101 Firefox/121.0"

ENGINES = [True, False] if has_accelerator() else [False]
_PARSERS: dict[bool, UAParser] = {}


def _parser(accelerated: bool) -> UAParser:
    """One parser per engine for the whole module: building the regex engines takes ~0.5 s."""
    if accelerated not in _PARSERS:
        _PARSERS[accelerated] = UAParser(accelerated=accelerated)
        _PARSERS[accelerated].engine  # noqa: B018
    p = _PARSERS[accelerated]
    p.cache_clear()
    return p


def _corpus() -> list[dict]:
    """Real browser user agents with their device type, as shipped by fake-useragent."""
    text = (resources.files("fake_useragent") / "data" / "browsers.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def parser() -> UAParser:
    return UAParser()


def test_well_known_user_agents_by_hand(parser):
    info = parser.parse([CHROME_WIN, SAFARI_IPHONE, SAFARI_IPAD, ANDROID_TABLET, ANDROID_PHONE, GOOGLEBOT, HEADLESS,
                         FIREFOX_MAC, "curl/8.4.0"])
    assert info.browser_family.tolist() == ["Chrome", "Mobile Safari", "Mobile Safari", "Chrome", "Chrome Mobile",
                                            "Googlebot", "HeadlessChrome", "Firefox", "curl"]
    assert info.browser_major.tolist() == [120, 17, 16, 119, 120, 2, 120, 121, 8]
    assert info.os_family.tolist() == ["Windows", "iOS", "iOS", "Android", "Android", UNKNOWN, "Linux", "Mac OS X",
                                       UNKNOWN]
    assert info.device_class.tolist() == ["desktop", "phone", "tablet", "tablet", "phone", "bot", "bot", "desktop",
                                          "bot"]
    assert info.is_crawler.tolist() == [False] * 5 + [True, True, False, True]
    assert info.present.all()


def test_device_class_matches_labelled_real_user_agents(parser):
    rows = _corpus()
    info = parser.parse([r["useragent"] for r in rows])
    expected = np.array([{"mobile": "phone"}.get(r["type"], r["type"]) for r in rows], dtype=object)
    assert (info.device_class == expected).mean() > 0.995
    assert not info.is_crawler.any()


def test_crawler_flag_agrees_with_crawlerdetect(parser):
    from crawlerdetect import CrawlerDetect

    rows = _corpus()[::10]
    uas = [r["useragent"] for r in rows] + [GOOGLEBOT, HEADLESS, "curl/8.4.0", "python-requests/2.31.0",
                                             "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
                                             "Yandex/1.01.001 (compatible; Win16; I)", "YandexSearch/1.0",
                                             "facebookexternalhit/1.1", "Wget/1.21", "Scrapy/2.11 (+https://scrapy.org)"]
    cd = CrawlerDetect()
    assert parser.parse(uas).is_crawler.tolist() == [cd.is_crawler(u) for u in uas]


@pytest.mark.skipif(not has_accelerator(), reason="needs ua-parser-rs to compare engines")
def test_rust_and_python_engines_agree():
    uas = [r["useragent"] for r in _corpus()[::40]] + [GOOGLEBOT, HEADLESS, "", "x" * 3000, "curl/8.4.0"]
    fast, slow = _parser(True).parse(uas), _parser(False).parse(uas)
    for name in ("present", "browser_family", "os_family", "device_model", "device_class", "is_crawler"):
        assert getattr(fast, name).tolist() == getattr(slow, name).tolist(), name
    for name in ("browser_major", "os_major"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(slow, name))


def test_each_unique_user_agent_is_parsed_once_and_cached_across_batches():
    p = UAParser(cache_size=10)
    batch = [CHROME_WIN, SAFARI_IPHONE, CHROME_WIN, None, CHROME_WIN, SAFARI_IPHONE]
    info = p.parse(batch)
    assert p.misses == 2 and p.hits == 0
    assert info.browser_family.tolist() == ["Chrome", "Mobile Safari", "Chrome", UNKNOWN, "Chrome", "Mobile Safari"]
    p.parse(batch)
    assert p.misses == 2 and p.hits == 2


def test_cache_is_bounded():
    p = UAParser(cache_size=5)
    p.parse([f"{CHROME_WIN} v{i}" for i in range(50)])
    assert len(p._cache) == 5


def test_cache_is_shared_safely_between_threads():
    p = UAParser(cache_size=50)
    uas = [f"{CHROME_WIN} build/{i}" for i in range(200)]
    results, errors = [], []

    def work():
        try:
            results.append(p.parse(uas).browser_family.tolist())
        except Exception as e:  # noqa: BLE001 - the test reports any failure
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 4 and all(r == ["Chrome"] * 200 for r in results)
    assert len(p._cache) <= 50


@pytest.mark.parametrize("accelerated", ENGINES)
@pytest.mark.parametrize("bad", [None, "", "   ", float("nan"), 7, b"Mozilla/5.0", "garbage", "\x00\x01\x02",
                                 "\ud800 lone surrogate", "😀" * 50, "x" * 10_000, "Mozilla/5.0 " + "a" * 10_000])
def test_hostile_user_agents_give_defined_outputs_quickly(accelerated, bad):
    p = _parser(accelerated)
    t0 = time.perf_counter()
    info = p.parse(np.array([bad, CHROME_WIN], dtype=object))
    assert time.perf_counter() - t0 < 2.0
    assert info.browser_family[1] == "Chrome"
    assert info.device_class[0] in DEVICE_CLASSES
    assert isinstance(info.browser_family[0], str) and isinstance(info.os_family[0], str)
    if not isinstance(bad, str) or not bad.strip():
        assert not info.present[0] and info.browser_family[0] == UNKNOWN and np.isnan(info.browser_major[0])
        assert info.device_class[0] == "unknown" and not info.is_crawler[0]


def test_empty_batch(parser):
    info = parser.parse([])
    assert isinstance(info, UAInfo) and len(info) == 0 and info.browser_major.dtype == np.float64


def test_module_level_helper_uses_one_shared_parser():
    a = parse_user_agents([CHROME_WIN])
    assert a.browser_family.tolist() == ["Chrome"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=300), st.integers(), st.floats()), max_size=20))
def test_arbitrary_values_never_raise(values):
    info = parse_user_agents(np.array(values + [None], dtype=object)[: len(values)])
    assert len(info) == len(values)
    assert set(info.device_class.tolist()) <= set(DEVICE_CLASSES)
    assert info.browser_major.dtype == np.float64 and info.is_crawler.dtype == bool


def test_a_batch_factorized_column_parses_like_the_raw_column():
    from dataclasses import fields

    import numpy as np

    from fraudscore.enrich._factorize import factorize_objects
    from fraudscore.enrich.ua import parse_user_agents

    uas = np.array(["Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
                    "Gecko) Version/17.1 Mobile/15E148 Safari/604.1", None, "curl/8.0", "", "curl/8.0"], dtype=object)
    a, b = parse_user_agents(uas), parse_user_agents(uas, factorized=factorize_objects(uas))
    for f in fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), f.name


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.none(), st.just(""), st.just(float("nan")), st.integers(), st.text(max_size=80),
                 st.sampled_from([CHROME_WIN, SAFARI_IPHONE, ANDROID_TABLET, GOOGLEBOT, HEADLESS, " " + FIREFOX_MAC])))
def test_one_user_agent_parses_as_its_row_of_a_batch(value):
    # A batch of one (score_one) builds its arrays from the row's values; the batch path fills
    # them from a table of unique rows: same values and dtypes.
    from dataclasses import fields

    one = parse_user_agents(np.array([value], dtype=object))
    batch = parse_user_agents(np.array([CHROME_WIN, value, None], dtype=object))
    for f in fields(one):
        x, y = getattr(one, f.name), getattr(batch, f.name)[1:2]
        assert x.dtype == y.dtype and x.shape == (1,), f.name
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), f.name
