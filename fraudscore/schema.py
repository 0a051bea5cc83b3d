"""The input contract: every field a submission may carry, as data.

One :class:`Field` per leaf of the nested submission JSON (see docs/SCHEMA.md, generated from
this module). Flat inputs (pandas, Arrow, Parquet) use the same dotted names as columns.

The catalogue drives validation (:mod:`fraudscore.batch`), consent masking (a field gated by
``usage`` or ``analytics`` is never read without that consent), privacy (fields marked
``never_store_raw`` only ever reach a store as keyed hashes) and the model's schema hash.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from types import MappingProxyType

__all__ = [
    "Field",
    "FIELDS",
    "FIELD_BY_NAME",
    "SERIES",
    "KIND_VOCABULARIES",
    "GROUPS",
    "CONSENTS",
    "schema_hash",
    "schema_markdown",
]

GROUPS = ("identity", "consent", "network", "device", "telemetry", "answers")
CONSENTS = ("none", "usage", "analytics")

#: Logical types. Every numeric scalar is held as float64 (NaN = missing) once validated.
DTYPES = {
    "string": "text; longer values are truncated to ``max_len`` characters",
    "timestamp": "ISO-8601 with offset (``2026-05-01T10:00:00+02:00``) or epoch milliseconds",
    "float": "finite number",
    "int": "whole number",
    "bool": "true / false",
    "int_pair": "[width, height] of whole numbers",
    "string_list": "list of text",
    "float_list": "list of finite numbers (a telemetry series or per-item values)",
    "kind_list": "list of event kinds from a fixed vocabulary",
    "likert_list": "list of whole numbers or null (skipped item)",
}


@dataclass(frozen=True)
class Field:
    """One input field.

    Parameters
    ----------
    name : str
        Dotted path in the nested submission (``device.battery.level``).
    dtype : str
        Logical type, a key of ``DTYPES``.
    group : str
        One of ``GROUPS``.
    consent : str
        ``"usage"`` or ``"analytics"`` when the privacy policy requires that consent before the
        field may be read, else ``"none"``.
    description : str
        One line: what the field holds.
    unit : str
        Physical unit, or ``""``.
    required : bool
        A row without it gets an error code and is not scored.
    never_store_raw : bool
        Personal identifier or free text: history and results hold keyed hashes only.
    min, max : float or None
        Valid closed range of a numeric value (each element of a numeric list).
    max_len : int or None
        Longest text kept, in characters; longer text is truncated with a warning.
    max_items : int or None
        Longest list kept; longer lists are truncated with a warning.
    """

    name: str
    dtype: str
    group: str
    consent: str
    description: str
    unit: str = ""
    required: bool = False
    never_store_raw: bool = False
    min: float | None = None
    max: float | None = None
    max_len: int | None = None
    max_items: int | None = None

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"{self.name}: unknown dtype {self.dtype!r}")
        if self.group not in GROUPS:
            raise ValueError(f"{self.name}: unknown group {self.group!r}")
        if self.consent not in CONSENTS:
            raise ValueError(f"{self.name}: unknown consent {self.consent!r}")


# Limits are generous for real traffic and small enough that one hostile row cannot take
# the memory or time of a batch: a 10-minute survey with 60 Hz pointer sampling is 36,000 events.
_TEXT = 512
_LONG_TEXT = 10_000
_EVENTS = 50_000
_ITEMS = 1_000

_F = Field
FIELDS: tuple[Field, ...] = (
    # identity
    _F("submission_id", "string", "identity", "none", "Unique id of this submission", required=True, max_len=128),
    _F("survey_id", "string", "identity", "none", "Survey the submission answers", required=True, max_len=128),
    _F("respondent_id", "string", "identity", "none", "Panel id of the respondent, when the panel has one",
       never_store_raw=True, max_len=128),
    _F("started_at", "timestamp", "identity", "none", "When the respondent opened the survey", unit="ms since epoch",
       required=True),
    _F("submitted_at", "timestamp", "identity", "none", "When the submission was sent", unit="ms since epoch",
       required=True),
    # consent (missing = false)
    _F("consent.usage", "bool", "consent", "none", "Consent to process usage data (network, device); missing = false"),
    _F("consent.analytics", "bool", "consent", "none",
       "Consent to analytics of pointer, scrolling and typing; missing = false"),
    # network
    _F("network.ip", "string", "network", "usage", "Client IP address (IPv4 or IPv6)", never_store_raw=True, max_len=64),
    _F("network.accept_language", "string", "network", "usage", "HTTP Accept-Language header", max_len=_TEXT),
    _F("network.referrer", "string", "network", "usage", "Referring page URL", never_store_raw=True, max_len=2048),
    # device
    _F("device.user_agent", "string", "device", "usage", "Browser user-agent string", never_store_raw=True,
       max_len=2048),
    _F("device.platform", "string", "device", "usage", "navigator.platform", max_len=_TEXT),
    _F("device.screen", "int_pair", "device", "usage", "Screen size [width, height]", unit="CSS px", min=1, max=100_000),
    _F("device.avail_screen", "int_pair", "device", "usage", "Available screen size [width, height]", unit="CSS px",
       min=1, max=100_000),
    _F("device.color_depth", "int", "device", "usage", "Screen colour depth", unit="bits", min=1, max=64),
    _F("device.pixel_ratio", "float", "device", "usage", "devicePixelRatio", min=0.1, max=16),
    _F("device.hardware_concurrency", "int", "device", "usage", "Logical CPU cores reported", min=1, max=1024),
    _F("device.device_memory_gb", "float", "device", "usage", "navigator.deviceMemory", unit="GiB", min=0.125,
       max=4096),
    _F("device.touch_points", "int", "device", "usage", "navigator.maxTouchPoints", min=0, max=256),
    _F("device.timezone", "string", "device", "usage", "IANA time zone (Intl.DateTimeFormat)", max_len=64),
    _F("device.tz_offset_min", "int", "device", "usage", "UTC offset, minutes east of UTC", unit="min", min=-840,
       max=840),
    _F("device.languages", "string_list", "device", "usage", "navigator.languages, in order", max_len=64, max_items=32),
    _F("device.webgl_vendor", "string", "device", "usage", "Unmasked WebGL vendor", max_len=_TEXT),
    _F("device.webgl_renderer", "string", "device", "usage", "Unmasked WebGL renderer", max_len=_TEXT),
    _F("device.canvas_hash", "string", "device", "usage", "Hash of a canvas rendering", never_store_raw=True,
       max_len=128),
    _F("device.audio_hash", "string", "device", "usage", "Hash of an audio-stack rendering", never_store_raw=True,
       max_len=128),
    _F("device.fonts_hash", "string", "device", "usage", "Hash of the detected font list", never_store_raw=True,
       max_len=128),
    _F("device.plugins", "string_list", "device", "usage", "navigator.plugins names", max_len=_TEXT, max_items=64),
    _F("device.webdriver", "bool", "device", "usage", "navigator.webdriver (automation flag)"),
    _F("device.cookies_enabled", "bool", "device", "usage", "navigator.cookieEnabled"),
    _F("device.cookie_id", "string", "device", "usage", "First-party cookie id set by the survey platform",
       never_store_raw=True, max_len=128),
    _F("device.battery.level", "float", "device", "usage", "Battery charge", unit="fraction 0-1", min=0, max=1),
    _F("device.battery.charging", "bool", "device", "usage", "Battery is charging"),
    _F("device.connection", "string", "device", "usage", "Network Information effectiveType (4g, wifi, ...)",
       max_len=32),
    _F("device.carrier", "string", "device", "usage", "Mobile carrier name", max_len=_TEXT),
    _F("device.gps.lat", "float", "device", "usage", "GPS latitude", unit="degrees", min=-90, max=90,
       never_store_raw=True),
    _F("device.gps.lon", "float", "device", "usage", "GPS longitude", unit="degrees", min=-180, max=180,
       never_store_raw=True),
    _F("device.gps.accuracy_m", "float", "device", "usage", "GPS accuracy radius", unit="m", min=0, max=1e7),
    # telemetry (analytics consent); t is ms since the survey page loaded
    _F("telemetry.pointer.t", "float_list", "telemetry", "analytics", "Pointer event times", unit="ms",
       max_items=_EVENTS),
    _F("telemetry.pointer.x", "float_list", "telemetry", "analytics", "Pointer x", unit="CSS px", max_items=_EVENTS),
    _F("telemetry.pointer.y", "float_list", "telemetry", "analytics", "Pointer y", unit="CSS px", max_items=_EVENTS),
    _F("telemetry.pointer.kind", "kind_list", "telemetry", "analytics", "Pointer event kind", max_items=_EVENTS),
    _F("telemetry.scroll.t", "float_list", "telemetry", "analytics", "Scroll event times", unit="ms",
       max_items=_EVENTS),
    _F("telemetry.scroll.dy", "float_list", "telemetry", "analytics", "Vertical scroll delta", unit="CSS px",
       max_items=_EVENTS),
    _F("telemetry.keys.t", "float_list", "telemetry", "analytics", "Key event times", unit="ms", max_items=_EVENTS),
    _F("telemetry.keys.kind", "kind_list", "telemetry", "analytics", "Key event kind (never the key itself)",
       max_items=_EVENTS),
    _F("telemetry.focus.t", "float_list", "telemetry", "analytics", "Focus change times", unit="ms",
       max_items=_EVENTS),
    _F("telemetry.focus.kind", "kind_list", "telemetry", "analytics", "Focus change kind", max_items=_EVENTS),
    _F("telemetry.item_ms", "float_list", "telemetry", "analytics", "Time spent on each item or page", unit="ms",
       min=0, max=86_400_000, max_items=_ITEMS),
    # answers
    _F("answers.likert", "likert_list", "answers", "none", "Likert answers in item order; null = skipped",
       min=-1000, max=1000, max_items=_ITEMS),
    _F("answers.text", "string_list", "answers", "none", "Open-text answers in item order", never_store_raw=True,
       max_len=_LONG_TEXT, max_items=64),
    _F("answers.honeypot", "string", "answers", "none", "Hidden field humans never see; bots fill it",
       never_store_raw=True, max_len=_TEXT),
)
del _F

FIELD_BY_NAME = MappingProxyType({f.name: f for f in FIELDS})

#: Telemetry series whose arrays are parallel: one shared offsets array, the first member is time.
SERIES: MappingProxyType = MappingProxyType({
    "telemetry.pointer": ("telemetry.pointer.t", "telemetry.pointer.x", "telemetry.pointer.y",
                          "telemetry.pointer.kind"),
    "telemetry.scroll": ("telemetry.scroll.t", "telemetry.scroll.dy"),
    "telemetry.keys": ("telemetry.keys.t", "telemetry.keys.kind"),
    "telemetry.focus": ("telemetry.focus.t", "telemetry.focus.kind"),
})

#: Event kinds, coded as int8 by position; an unknown kind is coded -1.
KIND_VOCABULARIES: MappingProxyType = MappingProxyType({
    "telemetry.pointer.kind": ("move", "down", "up", "click"),
    "telemetry.keys.kind": ("keydown", "keyup", "backspace", "paste"),
    "telemetry.focus.kind": ("blur", "focus"),
})


def schema_hash() -> str:
    """Return the sha256 of the canonical field catalogue.

    A model stores this hash; loading a model refuses a mismatch, because a feature computed from
    a field whose meaning changed is a silent error.
    """
    payload = {
        "fields": [asdict(f) for f in FIELDS],
        "series": dict(SERIES),
        "kinds": {k: list(v) for k, v in KIND_VOCABULARIES.items()},
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _range(f: Field) -> str:
    if f.min is None and f.max is None:
        return ""
    return f"[{f.min:g}, {f.max:g}]"


def schema_markdown() -> str:
    """Render the catalogue as the Markdown of docs/SCHEMA.md."""
    lines = [
        "# Input schema",
        "",
        "Generated from `fraudscore/schema.py` by `python -m fraudscore.docs`; do not edit by hand.",
        "",
        "A submission is a nested JSON object; flat tables (pandas, Arrow, Parquet) use the dotted names",
        "as column names. Consent `usage` or `analytics` means the field is not read unless the",
        "submission's `consent.usage` / `consent.analytics` is true. *Never stored raw* fields reach",
        "history only as keyed hashes (installation secret).",
        "",
        f"Schema hash: `{schema_hash()}`",
        "",
        "| field | type | unit | group | consent | required | never stored raw | valid range | limit | meaning |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for f in FIELDS:
        limit = []
        if f.max_len is not None:
            limit.append(f"{f.max_len} chars")
        if f.max_items is not None:
            limit.append(f"{f.max_items} items")
        lines.append(
            f"| `{f.name}` | {f.dtype} | {f.unit} | {f.group} | {f.consent} | {'yes' if f.required else ''} | "
            f"{'yes' if f.never_store_raw else ''} | {_range(f)} | {', '.join(limit)} | {f.description} |"
        )
    lines += ["", "## Types", "", "| type | accepts |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in DTYPES.items()]
    lines += ["", "## Telemetry series", "",
              "Arrays of one series are parallel (same length, one event each) and sorted by time.", ""]
    lines += [f"- `{name}`: " + ", ".join(f"`{m}`" for m in members) for name, members in SERIES.items()]
    lines += ["", "## Event kinds", ""]
    lines += [f"- `{name}`: " + ", ".join(f"`{k}`" for k in kinds) for name, kinds in KIND_VOCABULARIES.items()]
    return "\n".join(lines) + "\n"
