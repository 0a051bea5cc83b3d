"""Where respondents are: IP addresses, time zones, languages, carriers and GPS per country.

IP addresses are drawn uniformly from a country's residential (non-hosting) or from hosting IPv4
networks of :class:`fraudscore.enrich.ip.IPDatabase` (geoip2fast's shipped data plus the hosting
ASN list), the same data the network features read. Time zones come from the IANA ``zone.tab``
shipped by ``tzdata``, weighted by population for countries with several zones.
"""

from __future__ import annotations

import functools
import importlib.resources
from dataclasses import dataclass
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._kernels import choice_cdf, weighted_choice

__all__ = ["COUNTRIES", "Locale", "country_index", "draw_ips", "ip_strings", "tz_offsets", "tz_country",
           "LANGUAGE_PROFILES", "profile_strings",
           "EMPTY_PROFILE", "ZONES", "UTC_ZONE", "draw_zone", "draw_profile", "draw_countries", "profile_index",
           "FRAUD_ORIGINS", "TRAVEL_DESTINATIONS", "IMMIGRANT_ORIGINS", "IMMIGRANT_SHARE"]


@dataclass(frozen=True)
class Locale:
    """One country as the simulator needs it.

    Parameters
    ----------
    code : str
        ISO 3166-1 alpha-2.
    zones : tuple of (str, float)
        IANA zones and population shares.
    profiles : tuple of (tuple of str, float)
        navigator.languages lists and their shares.
    lat, lon : float
        Population centre, degrees.
    spread_deg : float
        Standard deviation of GPS positions around it.
    carriers : tuple of str
        Mobile carriers.
    """

    code: str
    zones: tuple
    profiles: tuple
    lat: float
    lon: float
    spread_deg: float
    carriers: tuple


_L = Locale
COUNTRIES: tuple[Locale, ...] = (
    _L("US", (("America/New_York", .47), ("America/Chicago", .29), ("America/Denver", .05), ("America/Phoenix", .03),
              ("America/Los_Angeles", .14), ("America/Anchorage", .01), ("Pacific/Honolulu", .01)),
       ((("en-US",), .55), (("en-US", "en"), .37), (("es-US", "es", "en-US"), .05), (("en-US", "es"), .03)),
       37.8, -92.0, 6.0, ("Verizon", "T-Mobile", "AT&T")),
    _L("GB", (("Europe/London", 1.0),), ((("en-GB",), .5), (("en-GB", "en"), .35), (("en-US",), .15)),
       52.5, -1.5, 1.2, ("EE", "Vodafone UK", "O2 - UK", "Three")),
    _L("CA", (("America/Toronto", .62), ("America/Vancouver", .14), ("America/Edmonton", .15),
              ("America/Winnipeg", .05), ("America/Halifax", .04)),
       ((("en-CA", "en"), .45), (("en-US",), .25), (("fr-CA", "fr", "en-CA"), .2), (("en-CA", "fr-CA"), .1)),
       45.5, -79.0, 3.0, ("Rogers", "Bell", "Telus")),
    _L("AU", (("Australia/Sydney", .42), ("Australia/Melbourne", .3), ("Australia/Brisbane", .15),
              ("Australia/Perth", .09), ("Australia/Adelaide", .04)),
       ((("en-AU",), .45), (("en-AU", "en"), .3), (("en-US",), .25)), -33.0, 149.0, 3.0, ("Telstra", "Optus")),
    _L("DE", (("Europe/Berlin", 1.0),), ((("de-DE", "de", "en-US", "en"), .5), (("de-DE",), .3), (("de",), .2)),
       50.9, 9.5, 1.5, ("Telekom.de", "Vodafone.de", "o2 - de")),
    _L("FR", (("Europe/Paris", 1.0),), ((("fr-FR", "fr", "en-US", "en"), .5), (("fr-FR",), .35), (("fr",), .15)),
       47.0, 2.3, 1.8, ("Orange F", "SFR", "Bouygues Telecom")),
    _L("ES", (("Europe/Madrid", .95), ("Atlantic/Canary", .05)),
       ((("es-ES", "es"), .6), (("es-ES",), .3), (("ca-ES", "es-ES"), .1)), 40.2, -3.7, 1.8, ("Movistar", "Vodafone ES")),
    _L("MX", (("America/Mexico_City", .8), ("America/Monterrey", .1), ("America/Tijuana", .1)),
       ((("es-MX", "es"), .6), (("es-419", "es"), .3), (("en-US",), .1)), 21.0, -100.0, 2.5, ("Telcel", "AT&T MX")),
    _L("BR", (("America/Sao_Paulo", .9), ("America/Manaus", .05), ("America/Fortaleza", .05)),
       ((("pt-BR", "pt"), .6), (("pt-BR",), .35), (("pt-BR", "en-US"), .05)), -20.0, -46.0, 4.0, ("Vivo", "Claro BR")),
    _L("IN", (("Asia/Kolkata", 1.0),), ((("en-IN", "en"), .45), (("en-US",), .3), (("hi-IN", "en-IN"), .25)),
       22.0, 79.0, 5.0, ("Jio", "Airtel", "Vi India")),
    _L("NL", (("Europe/Amsterdam", 1.0),), ((("nl-NL", "nl", "en-US", "en"), .7), (("nl",), .3)),
       52.2, 5.3, 0.5, ("KPN", "Vodafone NL")),
    _L("IT", (("Europe/Rome", 1.0),), ((("it-IT", "it", "en-US", "en"), .6), (("it-IT",), .4)),
       42.5, 12.5, 2.0, ("TIM", "Vodafone IT")),
    _L("PL", (("Europe/Warsaw", 1.0),), ((("pl-PL", "pl", "en-US", "en"), .6), (("pl",), .4)),
       52.0, 19.5, 1.5, ("Play", "Orange PL")),
    _L("PH", (("Asia/Manila", 1.0),), ((("en-US",), .55), (("en-PH", "fil-PH"), .3), (("fil-PH", "en"), .15)),
       13.0, 122.0, 2.5, ("Globe", "Smart")),
    _L("NG", (("Africa/Lagos", 1.0),), ((("en-US",), .5), (("en-NG", "en"), .4), (("en-GB",), .1)),
       8.0, 6.0, 2.5, ("MTN NG", "Airtel NG", "Glo")),
    _L("BD", (("Asia/Dhaka", 1.0),), ((("en-US",), .5), (("bn-BD", "en-US"), .4), (("bn",), .1)),
       23.7, 90.3, 1.0, ("Grameenphone", "Robi")),
    _L("VN", (("Asia/Ho_Chi_Minh", .6), ("Asia/Bangkok", .4)), ((("vi-VN", "vi", "en-US"), .7), (("en-US",), .3)),
       16.0, 106.5, 3.0, ("Viettel", "Mobifone")),
    _L("PK", (("Asia/Karachi", 1.0),), ((("en-US",), .6), (("en-PK", "ur-PK"), .4)), 29.0, 70.0, 3.0,
       ("Jazz", "Zong")),
    _L("KE", (("Africa/Nairobi", 1.0),), ((("en-US",), .5), (("en-KE", "sw-KE"), .5)), -1.0, 37.0, 1.0,
       ("Safaricom",)),
    _L("JP", (("Asia/Tokyo", 1.0),), ((("ja-JP", "ja"), .6), (("ja",), .4)), 35.5, 137.0, 2.0,
       ("NTT DOCOMO", "au", "SoftBank")),
)
del _L

#: Countries click farms and geo fraudsters operate from (published incidence in the panel-fraud
#: literature and industry reports) and their relative weights.
FRAUD_ORIGINS = (("BD", .22), ("VN", .14), ("IN", .18), ("PK", .12), ("NG", .14), ("PH", .12), ("KE", .08))
#: Where honest travellers and expats are: rich-world countries, roughly by outbound travel.
TRAVEL_DESTINATIONS = (("GB", .16), ("DE", .12), ("FR", .12), ("ES", .14), ("MX", .12), ("CA", .12), ("IT", .1),
                       ("US", .12))

#: Where residents born abroad come from, roughly by migrant stock in rich-world countries (UN DESA
#: International Migrant Stock 2020; US: Mexico, India, Philippines, Vietnam lead). The fraud-origin
#: countries are real diasporas too, so a foreign locale is not a fraud tell on its own.
IMMIGRANT_ORIGINS = (("MX", .30), ("IN", .12), ("PH", .10), ("VN", .07), ("GB", .05), ("DE", .05), ("CA", .05),
                     ("BR", .05), ("PL", .04), ("NG", .04), ("PK", .04), ("JP", .03), ("FR", .03), ("IT", .03),
                     ("BD", .02), ("KE", .02), ("ES", .02))
#: Share of honest residents whose browser prefers the locale of another country (their country of
#: birth or a bilingual household's other language): ~14 % of US residents are foreign-born (ACS
#: 2022), about half of them keep a native-language or native-region browser.
IMMIGRANT_SHARE = 0.08

_NOT_RESIDENTIAL = np.array([13335, 15169, 8075, 16509, 14618, 396982, 8068, 8069, 36459, 54113, 20940])

_INDEX = {c.code: i for i, c in enumerate(COUNTRIES)}

#: Every navigator.languages profile of every country, one vocabulary.
LANGUAGE_PROFILES: tuple[tuple[str, ...], ...] = tuple(dict.fromkeys(
    [p for c in COUNTRIES for p, _ in c.profiles] + [()]))
EMPTY_PROFILE = len(LANGUAGE_PROFILES) - 1  # headless browsers may report no languages
_PROFILE_INDEX = {p: i for i, p in enumerate(LANGUAGE_PROFILES)}
#: Every zone of every country, plus UTC (servers), one vocabulary.
ZONES: tuple[str, ...] = tuple(dict.fromkeys([z for c in COUNTRIES for z, _ in c.zones] + ["Etc/UTC"]))
_ZONE_INDEX = {z: i for i, z in enumerate(ZONES)}
UTC_ZONE = _ZONE_INDEX["Etc/UTC"]


def country_index(code: str) -> int:
    """Index of ``code`` in :data:`COUNTRIES`; unknown countries raise ValueError."""
    try:
        return _INDEX[code]
    except KeyError:
        raise ValueError(f"the simulator has no locale for country {code!r}; known: {sorted(_INDEX)}") from None


def profile_index(profile: tuple[str, ...]) -> int:
    return _PROFILE_INDEX[profile]


@functools.cache
def _country_table(kind: str, ci: int) -> tuple[np.ndarray, np.ndarray]:
    """(codes, choice table) of one country's time zones or language profiles."""
    choices = COUNTRIES[ci].zones if kind == "zones" else COUNTRIES[ci].profiles
    return _codes_and_cdf(choices, _ZONE_INDEX if kind == "zones" else _PROFILE_INDEX)


def _codes_and_cdf(table, index: dict) -> tuple[np.ndarray, np.ndarray]:
    """Codes (``index`` of each name) and choice table of a ``((name, weight), ...)`` table."""
    p = np.array([w for _, w in table])
    return np.array([index[name] for name, _ in table]), choice_cdf(p / p.sum())


def _draw_per_country(rng: np.random.Generator, country: np.ndarray, kind: str) -> np.ndarray:
    """For each row, one code drawn from its country's weighted zones or profiles."""
    out = np.empty(len(country), dtype=np.int64)
    for ci in np.unique(country):
        rows = np.flatnonzero(country == ci)
        codes, cdf = _country_table(kind, int(ci))
        out[rows] = codes[weighted_choice(rng, cdf, rows.size)]
    return out


def draw_zone(rng: np.random.Generator, country: np.ndarray) -> np.ndarray:
    """Time-zone codes (into :data:`ZONES`) for rows living in ``country`` (indices), shape (n,)."""
    return _draw_per_country(rng, country, "zones")


def draw_profile(rng: np.random.Generator, country: np.ndarray) -> np.ndarray:
    """Language-profile codes (into :data:`LANGUAGE_PROFILES`) for people from ``country``, shape (n,)."""
    return _draw_per_country(rng, country, "profiles")


@functools.cache
def _table_cdf(table: tuple) -> tuple[np.ndarray, np.ndarray]:
    return _codes_and_cdf(table, _INDEX)


def draw_countries(rng: np.random.Generator, table, n: int) -> np.ndarray:
    """Country indices drawn from a ``((code, weight), ...)`` table, shape (n,)."""
    codes, cdf = _table_cdf(tuple(table))
    return codes[weighted_choice(rng, cdf, n)]


@functools.cache
def _ranges(country: str | None, hosting: bool) -> tuple[np.ndarray, np.ndarray]:
    from fraudscore.enrich.ip import IPDatabase

    start, end, asn = IPDatabase.default().ipv4_ranges(country, hosting=hosting)
    # Unattributed space (no ASN) is mostly unrouted or reserved: nobody browses from it. CDN and
    # cloud networks not on the hosting list (Cloudflare WARP, Google, Microsoft, Amazon) are not
    # where residential users are either.
    known = asn != 0
    if not hosting:
        known &= ~np.isin(asn, _NOT_RESIDENTIAL)
    if known.any():
        start, end = start[known], end[known]
    size = end.astype(np.int64) - start.astype(np.int64) + 1
    return start.astype(np.int64), np.cumsum(size)


def draw_ips(rng: np.random.Generator, country: np.ndarray, hosting: np.ndarray) -> np.ndarray:
    """IPv4 addresses as uint32, shape (n,), uniform over the chosen networks.

    Parameters
    ----------
    country : ndarray of shape (n,)
        Country indices; -1 = any country (only with ``hosting``).
    hosting : ndarray of bool, shape (n,)
        True: a hosting / VPN network; False: residential, mobile or business networks.
    """
    out = np.zeros(len(country), dtype=np.uint32)
    keys = country.astype(np.int64) * 2 + hosting
    for key in np.unique(keys):
        rows = np.flatnonzero(keys == key)
        ci, host = divmod(int(key), 2)
        start, cum = _ranges(COUNTRIES[ci].code if ci >= 0 else None, bool(host))
        if cum.size == 0:  # a country without hosting ranges: use any hosting network
            start, cum = _ranges(None, bool(host))
        u = rng.integers(0, cum[-1], size=rows.size)
        j = np.searchsorted(cum, u, side="right")
        prev = np.where(j > 0, cum[j - 1], 0)
        out[rows] = (start[j] + (u - prev)).astype(np.uint32)
    return out


def ip_strings(ips: np.ndarray) -> pa.Array:
    """Dotted-quad strings of uint32 addresses, shape (n,)."""
    ips = ips.astype(np.uint32)
    octets = [pc.cast(pa.array((ips >> np.uint32(s)) & np.uint32(255)), pa.string()) for s in (24, 16, 8, 0)]
    return pc.binary_join_element_wise(*octets, ".")


@functools.cache
def _zone_infos() -> tuple[ZoneInfo, ...]:
    # ZoneInfo keeps only a few zones in its strong cache: re-reading ~40 tzdata files for each
    # new hour cost ~20 ms a block.
    return tuple(ZoneInfo(z) for z in ZONES)


@functools.cache
def _offset_table(at_ms: int) -> np.ndarray:
    at = datetime.fromtimestamp(at_ms / 1000, tz=timezone.utc)
    return np.array([int(at.astimezone(z).utcoffset().total_seconds() // 60) for z in _zone_infos()])


def tz_offsets(zone: np.ndarray, at_ms: int) -> np.ndarray:
    """UTC offsets in minutes east of UTC of zone codes at one instant, shape (n,)."""
    return _offset_table(int(at_ms) // 3_600_000 * 3_600_000)[zone]


@functools.cache
def _zone_countries() -> dict[str, str]:
    text = importlib.resources.files("tzdata").joinpath("zoneinfo/zone.tab").read_text()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            parts = line.split("\t")
            out[parts[2]] = parts[0]
    return out


def tz_country(zones) -> np.ndarray:
    """ISO2 country of IANA zone names (``""`` for UTC or unknown), shape (n,) object."""
    table = _zone_countries()
    return np.array([table.get(z, "") if isinstance(z, str) else "" for z in zones], dtype=object)


def profile_strings() -> tuple[pa.Array, pa.Array]:
    """(navigator.languages lists, Accept-Language headers) per profile code, each shape (k,)."""
    langs = pa.array([list(p) for p in LANGUAGE_PROFILES], type=pa.list_(pa.string()))
    headers = []
    for p in LANGUAGE_PROFILES:
        if not p:
            headers.append("")
            continue
        parts = [p[0]] + [f"{lang};q={max(0.1, 0.9 - 0.1 * i):.1f}" for i, lang in enumerate(p[1:])]
        headers.append(",".join(parts))
    return langs, pa.array(headers, type=pa.string())
