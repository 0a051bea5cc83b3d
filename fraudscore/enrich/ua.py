"""User-agent enrichment: browser, OS, device class and known-crawler flag per submission.

A batch is factorized, each *unique* user agent is parsed once (or found in a bounded LRU shared
across batches) and the answers are broadcast back to rows with ``take``. Parsing uses
``ua-parser`` 1.x; its Rust engine (``ua-parser-rs``, the ``fast`` extra) is used when importable,
else the pure-Python resolver (same answers, ~100x slower per unique UA).

The crawler flag comes from maintained lists, not from our own regexes: ``crawlerdetect``'s
patterns (JayBizzle's Crawler-Detect) and ua-parser's ``Spider`` device family. crawlerdetect's
own matcher is a Python ``re`` alternation that is quadratic on long tokens (a 10 KB user agent
takes ~20 s), so with the Rust engine available its patterns run in Rust's linear-time regex
engine; the few patterns Rust cannot express (look-around) stay in Python ``re``. Without Rust,
crawlerdetect itself is called on the first ``_CRAWLER_TEXT`` characters.

Inputs longer than ``MAX_UA_LENGTH`` characters are truncated before parsing (the schema limit;
real user agents are a few hundred characters).
"""

from __future__ import annotations

import importlib.util
import math
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from fraudscore.enrich._factorize import factorize_objects

__all__ = ["UAInfo", "UAParser", "parse_user_agents", "DEVICE_CLASSES", "UNKNOWN", "MAX_UA_LENGTH",
           "has_accelerator"]

#: Device classes, in a fixed order (position = code for a feature matrix).
DEVICE_CLASSES = ("unknown", "desktop", "phone", "tablet", "bot")
#: Family value for a missing, empty or unrecognised user agent (ua-parser's "Other" included).
UNKNOWN = "unknown"
#: Longest user agent parsed, in characters (``device.user_agent``'s schema limit).
MAX_UA_LENGTH = 2048
# Python-regex crawler fallback only: crawler tokens sit early in real user agents.
_CRAWLER_TEXT = 512

_DESKTOP_OS = frozenset({"Windows", "Mac OS X", "Linux", "Ubuntu", "Chrome OS", "Fedora", "Debian", "FreeBSD",
                         "OpenBSD", "NetBSD", "Red Hat", "SUSE", "Mint", "Arch Linux", "Gentoo", "Mandriva",
                         "Slackware", "Solaris", "Kubuntu", "Xubuntu", "Lubuntu", "CentOS"})
_MOBILE_OS = frozenset({"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "Firefox OS", "Tizen",
                        "HarmonyOS", "Symbian OS", "webOS", "Sailfish"})
_TABLET_HINT = re.compile(r"ipad|tablet|kindle|silk/|playbook|sm-t\d|sm-x\d|nexus (?:7|9|10)\b", re.I)
_PHONE_HINT = re.compile(r"mobi|iphone|ipod|phone|opera mini", re.I)


def has_accelerator() -> bool:
    """True when the Rust engine ``ua-parser-rs`` is importable."""
    return importlib.util.find_spec("ua_parser_rs") is not None


@dataclass(frozen=True)
class UAInfo:
    """Parsed user agents; all arrays have shape (n,).

    Attributes
    ----------
    present : ndarray of bool
        A non-empty user agent was given.
    browser_family, os_family : ndarray of object
        ua-parser family (``"Chrome"``, ``"Mobile Safari"``; ``"Windows"``, ``"iOS"``), or
        ``UNKNOWN``.
    browser_major, os_major : ndarray of float64
        Major version, NaN when unknown.
    device_model : ndarray of object
        ua-parser device family (``"iPhone"``, ``"SM-X700"``), or ``""``.
    device_class : ndarray of object
        One of ``DEVICE_CLASSES``.
    is_crawler : ndarray of bool
        A known crawler, bot, HTTP library or headless browser, per the maintained lists.
    """

    present: np.ndarray
    browser_family: np.ndarray
    browser_major: np.ndarray
    os_family: np.ndarray
    os_major: np.ndarray
    device_model: np.ndarray
    device_class: np.ndarray
    is_crawler: np.ndarray

    def __len__(self) -> int:
        return len(self.present)


_FIELDS = ("present", "browser_family", "browser_major", "os_family", "os_major", "device_model", "device_class",
           "is_crawler")
# One parsed unique user agent, in _FIELDS order.
_UNKNOWN_ROW = (False, UNKNOWN, math.nan, UNKNOWN, math.nan, "", "unknown", False)
_DTYPES = (bool, object, np.float64, object, np.float64, object, object, bool)


def _major(v: str | None) -> float:
    return float(v) if v is not None and v.isdigit() and len(v) < 7 else math.nan


def _family(v) -> str:
    return UNKNOWN if v is None or v.family in ("Other", "") else v.family


def _device_class(ua: str, os_family: str, device, crawler: bool) -> str:
    if crawler or (device is not None and device.family == "Spider"):
        return "bot"
    brand = "" if device is None or device.brand is None else device.brand
    if "Tablet" in brand or _TABLET_HINT.search(ua):
        return "tablet"
    if os_family == "Android":
        # Android tablets omit "Mobile" from their user agent (Google's guidance to browsers).
        return "phone" if "Mobile" in ua else "tablet"
    if os_family in _MOBILE_OS:
        return "phone"
    if os_family in _DESKTOP_OS:
        # Before the "Mobile" hint: iPadOS asking for desktop sites sends a Mac UA with "Mobile/".
        return "desktop"
    return "phone" if _PHONE_HINT.search(ua) else "unknown"


class _Engine:
    """ua-parser resolver and crawler matcher, built once (about 0.6 s)."""

    def __init__(self, accelerated: bool | None):
        import ua_parser
        from crawlerdetect.crawlerdetect import get_compiled_exclusions_regex
        from crawlerdetect.providers.crawlers import data as crawler_patterns

        use_rs = has_accelerator() if accelerated is None else accelerated
        self.accelerated = use_rs
        if use_rs:
            import ua_parser_rs
            from ua_parser.regex import Resolver

            self.resolver = Resolver(ua_parser.load_lazy_builtins())
            rust_ok = [p for p in crawler_patterns if "(?" not in p]
            # A UserAgentExtractor is ua-parser-rs's regex set: family = index of the hit.
            self._crawl_rs = ua_parser_rs.UserAgentExtractor(
                [("(?i)" + p, str(i), None, None, None, None) for i, p in enumerate(rust_ok)])
            rest = [p for p in crawler_patterns if "(?" in p]
            self._crawl_py = re.compile("|".join(rest), re.I) if rest else None
        else:
            from crawlerdetect import CrawlerDetect

            self.resolver = ua_parser.BasicResolver(ua_parser.load_builtins())
            self._crawlerdetect = CrawlerDetect()
        self._exclusions = get_compiled_exclusions_regex()
        self._domains = ua_parser.Domain.ALL

    def is_crawler(self, ua: str) -> bool:
        if not self.accelerated:
            return bool(self._crawlerdetect.is_crawler(ua[:_CRAWLER_TEXT]))
        # Same two steps as crawlerdetect: strip known-benign tokens, then search the patterns.
        agent = self._exclusions.sub("", ua).strip()
        if not agent:
            return False
        if self._crawl_rs.extract(agent) is not None:
            return True
        return self._crawl_py is not None and self._crawl_py.search(agent) is not None

    def parse(self, ua: str) -> tuple:
        r = self.resolver(ua, self._domains)
        crawler = self.is_crawler(ua)
        os_family = _family(r.os)
        model = "" if r.device is None or r.device.family in ("Other", None) else r.device.family
        return (True, _family(r.user_agent), _major(r.user_agent.major if r.user_agent else None),
                os_family, _major(r.os.major if r.os else None), model,
                _device_class(ua, os_family, r.device, crawler), crawler)


class UAParser:
    """Batch user-agent parser with a bounded LRU of parsed unique user agents.

    Parameters
    ----------
    cache_size : int, default 100_000
        Most unique user agents remembered across batches (about 1 KB each).
    accelerated : bool, optional
        Force the Rust engine on (True; fails without ``ua-parser-rs``) or off (False); default:
        use it when importable.

    Notes
    -----
    Thread-safe: the LRU is guarded by a lock and the engine is built once under a lock. A user
    agent that two threads meet at the same moment may be parsed twice (same answer). The cache
    holds user-agent strings in process memory only; nothing is persisted.
    """

    def __init__(self, cache_size: int = 100_000, accelerated: bool | None = None):
        self.cache_size = int(cache_size)
        self.accelerated = accelerated
        self._engine: _Engine | None = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, tuple] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @property
    def engine(self) -> _Engine:
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = _Engine(self.accelerated)
        return self._engine

    def parse_one(self, ua) -> tuple:
        """Parse one user agent into a row of ``_FIELDS`` values (cached)."""
        if not isinstance(ua, str):
            return _UNKNOWN_ROW
        ua = ua[:MAX_UA_LENGTH].strip()
        if not ua:
            return _UNKNOWN_ROW
        if not ua.isascii():
            # Lone surrogates cannot cross into the Rust engine; replace them as a decoder would.
            ua = ua.encode("utf-8", "replace").decode("utf-8")
        with self._lock:
            row = self._cache.get(ua)
            if row is not None:
                self._cache.move_to_end(ua)
                self.hits += 1
                return row
            self.misses += 1
        try:
            row = self.engine.parse(ua)
        except (ValueError, UnicodeError, RuntimeError):
            # Defensive: a user agent no engine can read is "present but unknown", never an error.
            row = (True, *_UNKNOWN_ROW[1:])
        with self._lock:
            self._cache[ua] = row
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return row

    def parse(self, uas, factorized: tuple[np.ndarray, np.ndarray] | None = None) -> UAInfo:
        """Parse a batch of user agents.

        Parameters
        ----------
        uas : array-like of shape (n,)
            User-agent strings; None, NaN, non-strings and empty strings give unknown outputs.
        factorized : (codes, uniques), optional
            ``uas`` already factorized (e.g. :meth:`fraudscore.batch.SubmissionBatch.factorized`),
            so the column is not hashed again.

        Returns
        -------
        UAInfo
            Arrays of shape (n,), in input order.
        """
        codes, uniques = factorize_objects(np.asarray(uas, dtype=object).ravel()) if factorized is None else factorized
        if len(codes) == 1:  # score_one: one array per field from the row's values (~3 us, not ~25)
            row = self.parse_one(uniques[codes[0]]) if codes[0] >= 0 else _UNKNOWN_ROW
            return UAInfo(**{name: np.array([value], dtype=dtype) for name, value, dtype in zip(_FIELDS, row, _DTYPES)})
        rows = [self.parse_one(u) for u in uniques]
        rows.append(_UNKNOWN_ROW)  # code -1 (missing) takes this one
        codes = np.where(codes < 0, len(rows) - 1, codes)
        cols = {}
        for j, (name, dtype) in enumerate(zip(_FIELDS, _DTYPES)):
            col = np.empty(len(rows), dtype=dtype)
            col[:] = [r[j] for r in rows]
            cols[name] = col[codes]
        return UAInfo(**cols)

    def cache_clear(self) -> None:
        with self._lock:
            self._cache.clear()
            self.hits = self.misses = 0


_default: UAParser | None = None
_default_lock = threading.Lock()


def default_parser() -> UAParser:
    """The process-wide :class:`UAParser` (created on first use)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = UAParser()
    return _default


def parse_user_agents(uas, factorized: tuple[np.ndarray, np.ndarray] | None = None) -> UAInfo:
    """Parse a batch with the process-wide :class:`UAParser` (created on first use); see its ``parse``."""
    return default_parser().parse(uas, factorized)
