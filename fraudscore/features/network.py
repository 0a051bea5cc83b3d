"""Network family: where the submission really comes from, against where it claims to be.

Datacenter and VPN addresses, an IP country other than the survey's, a time zone that does not
belong to the IP's country or disagrees with the reported UTC offset, browser languages that are
not the survey's, and GPS that contradicts the time zone are the classic geo-fraud tells
(respondents faking eligibility for a country's panel). A preferred locale (``vi-VN``) or a
mobile carrier of another country adds what a VPN does not move; both are common among honest
immigrants and travellers too, so they count only together with the others.
"""

from __future__ import annotations

import functools
import importlib.resources
import zoneinfo
from datetime import datetime

import numpy as np
import pandas as pd

from fraudscore.features._unique import _missing, is_member, isin, per_unique, per_value
from fraudscore.features.context import FeatureContext
from fraudscore.features.registry import one_row_columns, register

__all__ = ["preferred_regions"]

_NAN = float("nan")


@functools.lru_cache(maxsize=1)
def _zone_countries() -> dict[str, frozenset]:
    """IANA zone -> countries it is used in, from tzdata's zone.tab and zone1970.tab (offline)."""
    out: dict[str, set] = {}
    root = importlib.resources.files("tzdata") / "zoneinfo"
    for name in ("zone.tab", "zone1970.tab"):
        for line in (root / name).read_text(encoding="utf-8").splitlines():
            if line.startswith("#") or not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) >= 3:
                out.setdefault(parts[2], set()).update(parts[0].split(","))
    out.setdefault("UTC", set())
    return {k: frozenset(v) for k, v in out.items()}


_DAY_MS = 86_400_000
_QUARTER_MS = 900_000


@functools.lru_cache(maxsize=4096)  # a scoring service asks about the same zones and days all day
def _offset_min(zone: str, ms: float) -> float:
    # Convert the instant into the zone; ZoneInfo.utcoffset(dt) would read dt as local wall time.
    return datetime.fromtimestamp(ms / 1000.0, tz=zoneinfo.ZoneInfo(zone)).utcoffset().total_seconds() / 60.0


def _zone_offsets_min(tz: np.ndarray, submitted_ms: np.ndarray) -> np.ndarray:
    """The UTC offset (minutes) each row's zone had when the row was submitted, DST included.

    Per distinct (zone, UTC day); on the rare days a zone changes offset, per distinct (zone,
    quarter hour), the resolution of every zone's transitions. A row's value depends on its own
    time only, never on the other rows of its batch.
    """
    day = np.floor(submitted_ms / _DAY_MS)
    start = per_unique(lambda z, d: _offset_min(z, d * _DAY_MS), tz, day)
    end = per_unique(lambda z, d: _offset_min(z, (d + 1) * _DAY_MS - 1), tz, day)
    changes = np.flatnonzero(start != end)  # NaN != NaN: rows without a zone or time come too
    changes = changes[~np.isnan(start[changes])]
    if len(changes):
        quarter = np.floor(submitted_ms[changes] / _QUARTER_MS)
        start[changes] = per_unique(lambda z, q: _offset_min(z, q * _QUARTER_MS), tz[changes], quarter)
    return start


def _primary_language(tag) -> str:
    return str(tag).split(",")[0].split(";")[0].strip().split("-")[0].lower()


@register("geo", "network", "usage", [
    ("hosting", "IP belongs to a datacenter, cloud or VPN network"),
    ("private_ip", "IP is private, loopback or otherwise not routable (proxied or spoofed)"),
    ("ip_country_mismatch", "IP country differs from the survey's country"),
    ("tz_country_mismatch", "the browser time zone is not used in the IP's country"),
    ("tz_offset_mismatch_h", "hours between the reported UTC offset and the time zone's actual offset"),
    ("language_mismatch", "the browser's first language is none of the survey's languages"),
    ("header_language_mismatch", "Accept-Language and navigator.languages disagree on the first language"),
    ("gps_tz_mismatch_h", "hours between GPS longitude / 15 and the time zone's UTC offset"),
])
def geo(ctx: FeatureContext, state) -> dict:
    if ctx.n == 1:
        return _geo_one(ctx)
    b, ip = ctx.batch, ctx.ip
    valid = ip.valid
    country = ip.country
    known_country = valid & (country != "")
    survey_country = ctx.survey_value("country")
    has_survey = pd.notna(survey_country)
    ip_mismatch = np.where(known_country & has_survey, country != survey_country, np.nan)

    tz = b.column("device.timezone")
    zones = _zone_countries()
    tz_mismatch = per_unique(lambda z, c: float(bool(zones[z]) and c not in zones[z]), tz, country,
                             mask=known_country & isin(tz, list(zones)))

    actual_min = _zone_offsets_min(tz, b.submitted_at_ms)
    offset_gap = np.abs(b.column("device.tz_offset_min") - actual_min) / 60.0

    languages = b.column("device.languages")
    first_lang = np.full(ctx.n, None, dtype=object)
    has_lang = languages.lengths > 0
    first_lang[has_lang] = languages.values[languages.offsets[:-1][has_lang]]
    lang_mismatch = per_unique(lambda lang, allowed: float(_primary_language(lang) not in allowed),
                               first_lang, ctx.survey_value("languages"))
    header_mismatch = per_unique(lambda header, lang: float(_primary_language(header) != _primary_language(lang)),
                                 b.column("network.accept_language"), first_lang)

    lon = b.column("device.gps.lon")
    gps_gap = np.abs(lon / 15.0 - actual_min / 60.0)
    gps_gap = np.minimum(gps_gap, 24.0 - gps_gap)  # around the date line

    return {
        "network.hosting": np.where(valid, ip.is_hosting, np.nan),
        "network.private_ip": np.where(valid, ip.is_private, np.nan),
        "network.ip_country_mismatch": ip_mismatch,
        "network.tz_country_mismatch": tz_mismatch,
        "network.tz_offset_mismatch_h": offset_gap,
        "network.language_mismatch": lang_mismatch,
        "network.header_language_mismatch": header_mismatch,
        "network.gps_tz_mismatch_h": gps_gap,
    }


def _zone_offset_one(zone, ms: float) -> float:
    """:func:`_zone_offsets_min` of one row."""
    if _missing(zone) or ms != ms:  # per_unique leaves out missing zones and times
        return _NAN
    day = float(np.floor(ms / _DAY_MS))
    start = _offset_min(zone, day * _DAY_MS)
    if start != _offset_min(zone, (day + 1) * _DAY_MS - 1):
        start = _offset_min(zone, float(np.floor(ms / _QUARTER_MS)) * _QUARTER_MS)
    return start


_GEO_NAMES = ("network.hosting", "network.private_ip", "network.ip_country_mismatch", "network.tz_country_mismatch",
              "network.tz_offset_mismatch_h", "network.language_mismatch", "network.header_language_mismatch",
              "network.gps_tz_mismatch_h")


def _geo_one(ctx: FeatureContext) -> dict:
    """:func:`geo` of a batch of one row (``score_one``) on the row's values as Python scalars:
    the same tests and float64 arithmetic, without ~60 numpy calls sized for columns."""
    b, ip = ctx.batch, ctx.ip
    valid, country = bool(ip.valid[0]), ip.country[0]
    known_country = valid and country != ""
    survey_country = ctx.survey_value("country")[0]
    ip_mismatch = float(country != survey_country) if known_country and not _missing(survey_country) else _NAN
    zone = b.column("device.timezone")[0]
    zones = _zone_countries()
    tz_mismatch = per_value(lambda z, c: float(bool(zones[z]) and c not in zones[z]), zone, country,
                            mask=known_country and is_member(zone, zones))
    actual_min = _zone_offset_one(zone, float(b.submitted_at_ms[0]))
    offset_gap = abs(float(b.column("device.tz_offset_min")[0]) - actual_min) / 60.0
    languages = b.column("device.languages")
    first_lang = languages.values[0] if len(languages.values) else None
    lang_mismatch = per_value(lambda lang, allowed: float(_primary_language(lang) not in allowed), first_lang,
                              ctx.survey_value("languages")[0])
    header_mismatch = per_value(lambda header, lang: float(_primary_language(header) != _primary_language(lang)),
                                b.column("network.accept_language")[0], first_lang)
    gps_gap = abs(float(b.column("device.gps.lon")[0]) / 15.0 - actual_min / 60.0)
    gps_gap = _nan_min(gps_gap, 24.0 - gps_gap)
    return one_row_columns(_GEO_NAMES, [
        float(ip.is_hosting[0]) if valid else _NAN, float(ip.is_private[0]) if valid else _NAN, ip_mismatch,
        tz_mismatch, offset_gap, lang_mismatch, header_mismatch, gps_gap])


def _nan_min(a: float, b: float) -> float:
    """``np.minimum`` of two floats: NaN if either is."""
    return b if b < a or b != b else a


def _region(tag) -> str:
    """The country (region subtag) of a BCP 47 language tag: ``"en-IN"`` -> ``"IN"``, ``""`` if none.

    Script subtags (``zh-Hant-TW``) are skipped; UN M.49 numeric regions (``es-419``) name no
    country and give ``""``.
    """
    for sub in str(tag).split(";")[0].strip().replace("_", "-").split("-")[1:]:
        if len(sub) == 2 and sub.isalpha():
            return sub.upper()
    return ""


def preferred_regions(languages, factorized: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Per row, the region of the first ``navigator.languages`` entry that names one (None if none).

    Parameters
    ----------
    languages : Ragged
        ``device.languages`` (object values).
    factorized : (codes, uniques), optional
        ``languages.values`` already factorized (:meth:`fraudscore.batch.SubmissionBatch.factorized`).

    Returns
    -------
    ndarray of shape (n,), object
    """
    from fraudscore.enrich._factorize import factorize_objects

    codes, uniques = factorize_objects(languages.values) if factorized is None else factorized
    regions = np.array([_region(u) for u in uniques] + [""], dtype=object)[codes]  # code -1 (missing) -> ""
    position = np.where(regions != "", np.arange(len(regions), dtype=np.float64), np.inf)
    first = languages.mins(position)  # NaN: no languages; inf: none of them names a region
    out = np.full(len(languages), None, dtype=object)
    named = np.isfinite(first)
    out[named] = regions[first[named].astype(np.int64)]
    return out


@register("locale", "network", "usage", [
    ("language_region_mismatch", "the browser's preferred locale names another country than the survey's "
                                 "(vi-VN in a US survey); NaN when no language names a country"),
    ("language_region_ip_mismatch", "the preferred locale's country is not the IP's country"),
    ("language_tz_mismatch", "the browser time zone is not used in the preferred locale's country"),
])
def locale(ctx: FeatureContext, state) -> dict:
    # Weak alone: immigrants, expats and browsers left at en-US defaults abroad all show a foreign
    # locale; together with the IP and the zone it separates "lives here" from "claims to".
    if ctx.n == 1:
        return _locale_one(ctx)
    b, ip = ctx.batch, ctx.ip
    region = preferred_regions(b.column("device.languages"), factorized=b.factorized("device.languages"))
    known_country = ip.valid & (ip.country != "")
    tz = b.column("device.timezone")
    zones = _zone_countries()
    return {
        "network.language_region_mismatch": per_unique(lambda r, c: float(r != c), region,
                                                       ctx.survey_value("country")),
        "network.language_region_ip_mismatch": per_unique(lambda r, c: float(r != c), region, ip.country,
                                                          mask=known_country),
        "network.language_tz_mismatch": per_unique(lambda z, r: float(bool(zones[z]) and r not in zones[z]),
                                                   tz, region, mask=isin(tz, list(zones))),
    }


_LOCALE_NAMES = ("network.language_region_mismatch", "network.language_region_ip_mismatch",
                 "network.language_tz_mismatch")


def _locale_one(ctx: FeatureContext) -> dict:
    """:func:`locale` of a batch of one row, on the row's values as Python scalars."""
    b, ip = ctx.batch, ctx.ip
    # preferred_regions of one row: the first language (not missing) that names a region.
    region = next((r for v in b.column("device.languages").values if not _missing(v) and (r := _region(v))), None)
    country = ip.country[0]
    known_country = bool(ip.valid[0]) and country != ""
    zone = b.column("device.timezone")[0]
    zones = _zone_countries()
    return one_row_columns(_LOCALE_NAMES, [
        per_value(lambda r, c: float(r != c), region, ctx.survey_value("country")[0]),
        per_value(lambda r, c: float(r != c), region, country, mask=known_country),
        per_value(lambda z, r: float(bool(zones[z]) and r not in zones[z]), zone, region, mask=is_member(zone, zones)),
    ])


_CARRIER_NAMES = ("network.carrier_country_mismatch", "network.carrier_ip_mismatch")


@register("carrier", "network", "usage", [
    ("carrier_country_mismatch", "the mobile carrier is one of another country than the survey's (NaN when the "
                                 "carrier is unknown)"),
    ("carrier_ip_mismatch", "the mobile carrier's country is not the IP's country (roaming, VPN or proxy)"),
])
def carrier(ctx: FeatureContext, state) -> dict:
    # Travellers roam, expats and dual-SIM immigrants carry a foreign SIM: a tell only together
    # with the others.
    from fraudscore.features._carriers import carrier_country

    ip = ctx.ip
    if ctx.n == 1:  # score_one: the same tests on the row's values as Python scalars
        name = ctx.batch.column("device.carrier")[0]
        cc = "" if _missing(name) else carrier_country(name)
        known = cc != ""
        known_ip = known and bool(ip.valid[0]) and ip.country[0] != ""
        return one_row_columns(_CARRIER_NAMES, [
            per_value(lambda cc, c: float(cc != c), cc, ctx.survey_value("country")[0], mask=known),
            per_value(lambda cc, c: float(cc != c), cc, ip.country[0], mask=known_ip)])
    # The carrier's country once per distinct name ("" when unknown or missing).
    codes, names = ctx.batch.factorized("device.carrier")
    country = np.array([carrier_country(name) for name in names] + [""], dtype=object)[codes]
    known = country != ""
    known_ip = known & ip.valid & (ip.country != "")
    return {
        "network.carrier_country_mismatch": per_unique(lambda cc, c: float(cc != c), country,
                                                       ctx.survey_value("country"), mask=known),
        "network.carrier_ip_mismatch": per_unique(lambda cc, c: float(cc != c), country, ip.country, mask=known_ip),
    }
