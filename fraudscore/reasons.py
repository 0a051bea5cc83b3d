"""Reason codes: per-feature contributions summed into stable codes and result families.

Every feature belongs to exactly one reason code (matched by name pattern), and every code to one
of the six result families of the output contract. Given per-row, per-feature log-odds
contributions from the tree ensemble, :func:`explain` sums them per code and per family with two
segmented sums and picks each row's strongest codes — no per-row Python. docs/REASONS.md is
generated from :data:`REASONS`.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

import numpy as np

from fraudscore.results import FAMILIES

__all__ = ["Reason", "REASONS", "reason_matrix", "explain", "Explanation", "reasons_markdown"]


@dataclass(frozen=True)
class Reason:
    """A stable reason code."""

    code: str
    family: str  # one of results.FAMILIES
    meaning: str
    patterns: tuple[str, ...]  # feature-name patterns (fnmatch) that feed this code


REASONS: tuple[Reason, ...] = (
    Reason("AUTOMATION_FLAG", "automation", "the browser reports that it is under automation", ("device.webdriver",)),
    Reason("HEADLESS_BROWSER", "automation", "headless or crawler browser: software rendering, no plugins or languages",
           ("device.crawler_ua", "device.software_renderer", "device.plugins", "device.languages")),
    Reason("EMULATOR", "automation", "emulator or device farm: emulator GPU, battery always full and charging",
           ("device.emulator_renderer", "device.battery_full_charging")),
    Reason("DEVICE_INCONSISTENT", "automation", "the hardware does not match the device the user agent claims",
           ("device.touch_mismatch", "device.platform_mismatch", "device.screen_mismatch", "device.mobile",
            "device.browser_major", "device.hardware_concurrency", "device.device_memory_gb", "device.pixel_ratio")),
    Reason("COOKIES_BLOCKED", "automation", "cookies disabled or cleared", ("device.cookies_disabled", "device.no_cookie")),
    Reason("HONEYPOT", "automation", "a hidden field only bots can see was filled", ("answers.honeypot",)),
    Reason("IP_HOSTING", "network", "datacenter, cloud, VPN or non-routable address", ("network.hosting", "network.private_ip")),
    Reason("IP_COUNTRY_MISMATCH", "network", "the IP is in another country than the survey's", ("network.ip_country_mismatch",)),
    Reason("CARRIER_MISMATCH", "network", "the mobile carrier belongs to another country than the survey's or the IP's",
           ("network.carrier_*",)),
    Reason("TIMEZONE_MISMATCH", "network", "time zone, UTC offset or GPS disagree with the IP's country",
           ("network.tz_*", "network.gps_tz_mismatch_h")),
    Reason("LANGUAGE_MISMATCH", "network", "browser languages are not the survey's, name another country than the "
           "survey's, the IP's or the time zone's, or disagree with each other",
           ("network.language_mismatch", "network.header_language_mismatch", "network.language_region_*",
            "network.language_tz_mismatch")),
    Reason("SPEEDING", "careless", "finished or answered items faster than reading allows, or sped up part-way through",
           ("timing.*",)),
    Reason("STRAIGHTLINING", "careless", "long runs of identical answers or too little variation",
           ("answers.longstring_*", "answers.irv", "answers.irv_split_min")),
    Reason("INCONSISTENT_ANSWERS", "careless", "answers inconsistent with the scales or with other respondents",
           ("answers.mahad_per_item", "answers.evenodd", "answers.psychsyn", "answers.psychant",
            "answers.person_total", "answers.skipped_share")),
    Reason("ATTENTION_CHECK_FAILED", "careless", "instructed-response items answered wrongly", ("answers.attention_failures",)),
    Reason("SCRIPTED_POINTER", "behaviour", "pointer moves like a script: straight, regular, clicks without approach",
           ("pointer.*",)),
    Reason("SCRIPTED_SCROLLING", "behaviour", "scrolling of a script: constant steps, regular timing, or none at all",
           ("scroll.*",)),
    Reason("TAB_AWAY_PATTERN", "behaviour", "never left the survey's tab, as a script does, or was away from it "
           "for an unusual share of the time", ("focus.*",)),
    Reason("SCRIPTED_TYPING", "behaviour", "typing rhythm of a machine, or no corrections",
           ("keys.presses", "keys.iki_mean_ms", "keys.iki_cv", "keys.backspace_rate")),
    Reason("PASTED_TEXT", "content", "open text pasted or injected rather than typed", ("keys.pastes", "keys.text_per_press")),
    Reason("GIBBERISH_TEXT", "content", "open text with unnatural letter statistics",
           ("content.text_chars", "content.entropy_bits", "content.vowel_share", "content.repeat_share")),
    Reason("WRONG_SCRIPT", "content", "open text in another script than the survey's language", ("content.foreign_script_share",)),
    Reason("DUPLICATE_DEVICE", "duplicate", "the same device, linked device or cookie submitted before",
           ("history.prior_device_*", "history.prior_link_*", "history.prior_cookie_*", "history.respondents_per_*")),
    Reason("DUPLICATE_NETWORK", "duplicate", "many submissions from the same IP address or network",
           ("history.prior_ip_*",)),
    Reason("DUPLICATE_RESPONDENT", "duplicate", "the same respondent submitted before, possibly on other devices",
           ("history.prior_respondent_*", "history.devices_per_respondent")),
    Reason("DUPLICATE_TEXT", "duplicate", "the same open text was submitted before", ("history.prior_text_*",)),
)
_CODES = np.array([r.code for r in REASONS], dtype=object)


def reason_of(feature: str) -> Reason:
    """The one reason code a feature feeds (a feature matched by none or by two is a bug)."""
    hits = [r for r in REASONS if any(fnmatch.fnmatchcase(feature, p) for p in r.patterns)]
    if len(hits) != 1:
        raise LookupError(f"feature {feature!r} matches {len(hits)} reason codes; it must match exactly one")
    return hits[0]


def reason_matrix(feature_names) -> tuple[np.ndarray, np.ndarray]:
    """One-hot maps: features -> reason codes (F, R) and features -> result families (F, 6)."""
    names = list(feature_names)
    to_reason = np.zeros((len(names), len(REASONS)))
    to_family = np.zeros((len(names), len(FAMILIES)))
    index = {r.code: i for i, r in enumerate(REASONS)}
    for j, name in enumerate(names):
        reason = reason_of(name)
        to_reason[j, index[reason.code]] = 1.0
        to_family[j, FAMILIES.index(reason.family)] = 1.0
    to_reason.flags.writeable = to_family.flags.writeable = False  # fixed: _group_plan caches by them
    return to_reason, to_family


def _group_sums(c: np.ndarray, one_hot: np.ndarray) -> np.ndarray:
    """``c @ one_hot`` for a one-hot ``one_hot`` of shape (F, G): per row, the sums of its columns
    by group, shape (n, G).

    Summed by ``np.add.reduceat`` over the columns sorted by group, so a row's sums depend on that
    row alone: a BLAS matrix product picks its kernel by the number of rows, and the same row
    came out different in the last bit in a batch of one and in a larger batch.
    """
    n, g = c.shape[0], one_hot.shape[1]
    out = np.zeros((n, g))
    if n == 0 or c.shape[1] == 0:
        return out
    order, starts, present = _group_plan(one_hot)
    out[:, present] = np.add.reduceat(np.ascontiguousarray(c[:, order]), starts, axis=1)
    return out


#: Plans of read-only maps, by the map itself (held here, so its id is not reused while cached).
_PLANS: dict[int, tuple[np.ndarray, tuple]] = {}


def _group_plan(one_hot: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(column order by group, start of each present group, which groups are present) of a
    one-hot map: the same for every call with the Scorer's fixed maps, so made once for them
    (~6 numpy calls, most of a one-row explanation's cost)."""
    hit = _PLANS.get(id(one_hot))
    if hit is not None and hit[0] is one_hot:
        return hit[1]
    group = one_hot.argmax(axis=1)
    order = np.argsort(group, kind="stable")
    counts = np.bincount(group, minlength=one_hot.shape[1])
    present = counts > 0
    plan = order, (np.cumsum(counts) - counts)[present], present
    if not one_hot.flags.writeable and one_hot.base is None:  # a map that can change (or a view) is planned afresh
        if len(_PLANS) >= 64:
            _PLANS.clear()
        _PLANS[id(one_hot)] = (one_hot, plan)
    return plan


@dataclass(frozen=True)
class Explanation:
    """Reasons of a batch, as flat arrays.

    ``families`` is (n, 6) in ``results.FAMILIES`` order; row ``i``'s reasons are
    ``codes[offsets[i]:offsets[i+1]]`` with ``values`` (log-odds pushed towards fraud), strongest first.
    """

    families: np.ndarray
    codes: np.ndarray
    values: np.ndarray
    offsets: np.ndarray

    def row(self, i: int) -> list[tuple[str, float]]:
        s = slice(self.offsets[i], self.offsets[i + 1])
        return list(zip(self.codes[s].tolist(), self.values[s].tolist()))


def explain(contributions: np.ndarray, maps: tuple[np.ndarray, np.ndarray], top: int = 3,
            min_value: float = 0.05) -> Explanation:
    """Sum contributions into family sub-scores and each row's ``top`` strongest positive codes.

    Parameters
    ----------
    contributions : ndarray of shape (n, n_features) (a trailing bias column is ignored)
    maps : the pair returned by :func:`reason_matrix` for the same features
    top : int
        Most codes per row.
    min_value : float
        Codes that push the log-odds towards fraud by less than this are not reasons.
    """
    to_reason, to_family = maps
    c = contributions[:, : to_reason.shape[0]]
    per_reason = _group_sums(c, to_reason)
    families = _group_sums(c, to_family)
    n, r = per_reason.shape
    k = min(top, r)
    if n == 0 or k == 0:
        return Explanation(families, np.empty(0, object), np.empty(0), np.zeros(n + 1, dtype=np.int64))
    best = np.argpartition(-per_reason, k - 1, axis=1)[:, :k]
    best_values = np.take_along_axis(per_reason, best, axis=1)
    order = np.argsort(-best_values, axis=1, kind="stable")
    best = np.take_along_axis(best, order, axis=1)
    best_values = np.take_along_axis(best_values, order, axis=1)
    keep = best_values >= min_value
    lengths = keep.sum(axis=1)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return Explanation(families, _CODES[best[keep]], best_values[keep], offsets)


def reasons_markdown() -> str:
    """docs/REASONS.md."""
    from fraudscore.features.registry import features

    lines = [
        "# Reason codes",
        "",
        "Generated from `fraudscore/reasons.py` by `python -m fraudscore.docs`; do not edit by hand.",
        "",
        "A row's reasons are the codes whose features pushed its log-odds towards fraud the most",
        "(per-feature tree-path contributions summed per code). Family sub-scores in the output are",
        "the same contributions summed per family.",
        "",
        "A `Scorer` explains the rows it flags (decision review or reject); accepted rows get no",
        "reasons and NaN sub-scores unless it is built with `reasons=\"all\"` (`fraudscore score",
        "--reasons all`). Contributions cost 3-5x the prediction, so explaining every row makes the",
        "model stage several times dearer.",
        "",
        "| code | family | meaning | features |",
        "|---|---|---|---|",
    ]
    feats = [f.name for f in features()]
    for r in REASONS:
        mine = [f for f in feats if reason_of(f).code == r.code]
        lines.append(f"| `{r.code}` | {r.family} | {r.meaning} | {', '.join(f'`{f}`' for f in mine)} |")
    return "\n".join(lines) + "\n"
