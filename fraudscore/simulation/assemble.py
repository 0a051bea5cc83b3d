"""Turn a block's parameters into one Arrow table in the input schema (nested structs) plus labels.

Everything is generated column-wise: telemetry as one values array per field plus row offsets,
wrapped with ``pa.ListArray.from_arrays`` — no per-row Python.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fraudscore.schema import KIND_VOCABULARIES

from . import network as net
from ._columns import hex_ids, mix64
from ._knobs import FAMILIES
from fraudscore.ragged import segment_index
from .answers import draw_answers
from .devices import STANDARD_PLUGINS, fingerprint_hashes
from .keystrokes import plan_keys
from .pointer import plan_targets, pointer_events
from .population import REFERRERS, Block
from .text import compose_texts
from .timeline import plan_timeline, scroll_events

__all__ = ["block_table", "LABEL_FIELDS"]

LABEL_FIELDS = ("is_fraud", "family", "subtype", "person_id", "device_key")
_FAMILY_NAMES = ("honest",) + FAMILIES


def _offsets(counts: np.ndarray) -> pa.Array:
    off = np.zeros(len(counts) + 1, dtype=np.int32)
    np.cumsum(counts, out=off[1:])
    return pa.array(off)


def _list(counts: np.ndarray | pa.Array, values: pa.Array | np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """List array of ``len(counts)`` rows from flat values; ``mask`` True = null row.

    ``counts`` may already be offsets from :func:`_offsets` (series of one kind share them).
    """
    values = values if isinstance(values, pa.Array) else pa.array(values)
    off = counts if isinstance(counts, pa.Array) else _offsets(counts)
    if mask is not None and mask.any():
        return pa.ListArray.from_arrays(off, values, mask=pa.array(mask))
    return pa.ListArray.from_arrays(off, values)


def _kinds(name: str, codes: np.ndarray) -> pa.Array:
    # Dictionary-encoded: the values read as the vocabulary's strings, without copying a string per event.
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int8)), pa.array(KIND_VOCABULARIES[name]))


def _struct(fields: dict, mask: np.ndarray | None = None) -> pa.StructArray:
    names = list(fields)
    arrays = [fields[k] if isinstance(fields[k], pa.Array) else pa.array(fields[k]) for k in names]
    if mask is not None and mask.any():
        return pa.StructArray.from_arrays(arrays, names=names, mask=pa.array(mask))
    return pa.StructArray.from_arrays(arrays, names=names)


def _nan_to_null(values: np.ndarray, dtype=None) -> pa.Array:
    return pa.array(values, mask=np.isnan(values), type=dtype)


def block_table(rng: np.random.Generator, blk: Block, seed: int) -> pa.Table:
    """Generate every column of a block (after the attack families rewrote it).

    Returns
    -------
    pyarrow.Table of ``blk.n`` rows: the input-schema columns as nested structs and a ``label``
    struct (``is_fraud``, ``family``, ``subtype``, ``person_id``, ``device_key``).
    """
    n, spec = blk.n, blk.spec
    L, T = spec.n_likert, spec.n_text
    answers = draw_answers(rng, blk)
    capitalize = (blk.text_seed % 5) < 2
    texts = compose_texts(blk.text_style, blk.text_seed, T, spec.languages[0], capitalize)
    text_len = pc.utf8_length(texts).to_numpy(zero_copy_only=False).reshape(n, T)
    keys = plan_keys(rng, blk, text_len)
    targets = plan_targets(rng, blk, answers)
    tl = plan_timeline(rng, blk, targets, keys)
    p_counts, p_t, p_x, p_y, p_kind = pointer_events(rng, blk, targets, tl.click_t)
    s_counts, s_t, s_dy = scroll_events(rng, blk, tl)
    k_counts = keys.counts.reshape(n, T).sum(axis=1)
    key_t = keys.rel_t + np.repeat(tl.key_start.ravel(), keys.counts)

    no_analytics = ~blk.consent_analytics
    # One offsets array per series, shared by its fields.
    p_off, s_off, k_off, f_off = (_offsets(c) for c in (p_counts, s_counts, k_counts, tl.focus_counts))
    telemetry = _struct({
        "pointer": _struct({
            "t": _list(p_off, p_t), "x": _list(p_off, p_x), "y": _list(p_off, p_y),
            "kind": _list(p_off, _kinds("telemetry.pointer.kind", p_kind))}),
        "scroll": _struct({"t": _list(s_off, s_t), "dy": _list(s_off, s_dy)}),
        "keys": _struct({"t": _list(k_off, key_t),
                         "kind": _list(k_off, _kinds("telemetry.keys.kind", keys.kind))}),
        "focus": _struct({"t": _list(f_off, tl.focus_t),
                          "kind": _list(f_off, _kinds("telemetry.focus.kind", tl.focus_kind))}),
        "item_ms": _list(np.full(n, L + T), tl.item_ms.ravel()),
    }, mask=no_analytics)

    likert = pa.array(answers.ravel(), mask=answers.ravel() < 0, type=pa.int64())
    honeypot_vocab = pa.array(["", "John Smith", "http://example.com", "test@test.com", "1"], type=pa.string())
    answers_s = _struct({
        "likert": _list(np.full(n, L), likert),
        "text": _list(np.full(n, T), texts),
        "honeypot": honeypot_vocab.take(pa.array(blk.honeypot.astype(np.int64))),
    })

    d = blk.devices
    canvas, audio, fonts = fingerprint_hashes(d)
    langs, headers = net.profile_strings()
    battery_known = ~np.isnan(d.battery_level)
    gps_lat = np.array([net.COUNTRIES[c].lat for c in range(len(net.COUNTRIES))])[blk.gps_country]
    gps_lon = np.array([net.COUNTRIES[c].lon for c in range(len(net.COUNTRIES))])[blk.gps_country]
    spread = np.array([c.spread_deg for c in net.COUNTRIES])[blk.gps_country]
    lat = np.clip(gps_lat + spread * rng.standard_normal(n), -89.9, 89.9)
    lon = np.clip(gps_lon + spread * rng.standard_normal(n), -179.9, 179.9)
    acc = 5.0 + 60.0 * rng.random(n)
    gps_mask = ~blk.gps
    carrier_names = [c.carriers for c in net.COUNTRIES]
    carrier_vocab = sorted({x for cs in carrier_names for x in cs})
    carrier_code = np.full(n, -1)
    for ci, cs in enumerate(carrier_names):
        rows = (blk.carrier_country == ci) & (blk.carrier >= 0)
        if rows.any():
            carrier_code[rows] = np.array([carrier_vocab.index(x) for x in cs])[blk.carrier[rows] % len(cs)]
    plugin_names = pa.array(STANDARD_PLUGINS, type=pa.string())
    plugins = _list(d.n_plugins, plugin_names.take(pa.array(segment_index(d.n_plugins)[1])))
    started = blk.started_at
    zones = pa.array(net.ZONES, type=pa.string())
    cookie = hex_ids(mix64(blk.device_key, blk.cookie_epoch, np.full(n, seed)))
    cookie = pc.if_else(pa.array(d.cookies_enabled), cookie, pa.nulls(n, pa.string()))
    device = _struct({
        "user_agent": d.user_agent.to_arrow(),
        "platform": d.platform.to_arrow(),
        "screen": _list(np.full(n, 2), np.column_stack([d.screen_w, d.screen_h]).ravel().astype(np.int64)),
        "avail_screen": _list(np.full(n, 2), np.column_stack([d.avail_w, d.avail_h]).ravel().astype(np.int64)),
        "color_depth": d.color_depth.astype(np.int64),
        "pixel_ratio": d.pixel_ratio,
        "hardware_concurrency": d.cores.astype(np.int64),
        "device_memory_gb": _nan_to_null(d.memory_gb),
        "touch_points": d.touch_points.astype(np.int64),
        "timezone": zones.take(pa.array(blk.zone)),
        "tz_offset_min": pa.array(net.tz_offsets(blk.zone, int(np.median(started))).astype(np.int64)),
        "languages": langs.take(pa.array(blk.profile)),
        "webgl_vendor": d.webgl_vendor.to_arrow(),
        "webgl_renderer": d.webgl_renderer.to_arrow(),
        "canvas_hash": hex_ids(canvas),
        "audio_hash": hex_ids(audio, 12),
        "fonts_hash": hex_ids(fonts),
        "plugins": plugins,
        "webdriver": d.webdriver,
        "cookies_enabled": d.cookies_enabled,
        "cookie_id": cookie,
        "battery": _struct({"level": _nan_to_null(d.battery_level),
                            "charging": pa.array(d.battery_charging > 0, mask=~battery_known)}, mask=~battery_known),
        "connection": d.connection.to_arrow(),
        "carrier": pa.array(carrier_vocab, type=pa.string()).take(pa.array(carrier_code, mask=carrier_code < 0)),
        "gps": _struct({"lat": pa.array(np.round(lat, 5)), "lon": pa.array(np.round(lon, 5)),
                        "accuracy_m": pa.array(np.round(acc, 1))}, mask=gps_mask),
    }, mask=~blk.consent_usage)

    network = _struct({
        "ip": net.ip_strings(blk.ip),
        "accept_language": headers.take(pa.array(blk.profile)),
        "referrer": pa.array(REFERRERS, type=pa.string()).take(pa.array(blk.referrer)),
    }, mask=~blk.consent_usage)

    row_ids = pc.cast(pa.array(blk.row_id), pa.string())
    submission_id = pc.binary_join_element_wise(pa.scalar(f"s{seed}"), row_ids, "-")
    respondent = pc.binary_join_element_wise(pa.scalar("r"), pc.cast(pa.array(mix64(blk.respondent, np.full(n, seed))
                                                                               % np.uint64(10**12)), pa.string()), "")
    respondent = pc.if_else(pa.array(blk.respondent >= 0), respondent, pa.nulls(n, pa.string()))
    label = _struct({
        "is_fraud": blk.family > 0,
        "family": pa.array(_FAMILY_NAMES, type=pa.string()).take(pa.array(blk.family)),
        "subtype": blk.subtype.to_arrow(),
        "person_id": blk.person_id.astype(np.int64),
        "device_key": blk.device_key.astype(np.int64),
    })
    return pa.table({
        "submission_id": submission_id,
        "survey_id": pa.array(np.full(n, spec.survey_id, dtype=object), type=pa.string()),
        "respondent_id": respondent,
        "started_at": pa.array(started.astype(np.int64)),
        "submitted_at": pa.array((started + np.rint(tl.duration_ms)).astype(np.int64)),
        "consent": _struct({"usage": blk.consent_usage, "analytics": blk.consent_analytics}),
        "network": network,
        "device": device,
        "telemetry": telemetry,
        "answers": answers_s,
        "label": label,
    })
