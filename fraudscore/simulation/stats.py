"""Simple per-row statistics of submissions, for the realism report and the separability check.

This is *not* the feature library (``fraudscore.features``): it computes a few textbook
quantities straight from a generated Arrow table so the simulator can be checked on its own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fraudscore.features import careless
from fraudscore.survey import SurveySpec

from .network import tz_country
from .simulate import flatten

__all__ = ["row_stats", "feature_auc_table"]


def _ragged(col: pa.ChunkedArray | pa.Array):
    """(row of each value, values, valid rows) of a list column."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    valid = arr.is_valid().to_numpy(zero_copy_only=False)
    offsets = arr.offsets.to_numpy()
    counts = np.diff(offsets)
    counts = np.where(valid, counts, 0)
    start = offsets[:-1]
    values = arr.values
    if pa.types.is_dictionary(values.type):
        values = values.cast(pa.string())
    idx = np.repeat(start, counts) + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
    vals = values.take(pa.array(idx)).to_numpy(zero_copy_only=False)
    rows = np.repeat(np.arange(len(counts)), counts)
    return rows, vals, valid


def _by_row(rows, values, n, how="sum"):
    s = np.bincount(rows, weights=values, minlength=n)
    if how == "sum":
        return s
    c = np.bincount(rows, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s / c
    if how == "mean":
        return mean
    sq = np.bincount(rows, weights=values**2, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.maximum(sq / c - mean**2, 0)
        return np.sqrt(var) / mean  # coefficient of variation


def _dup_count(*cols) -> np.ndarray:
    """How many rows share this row's combination of values (1 = unique)."""
    frame = pd.DataFrame({i: pd.Series(c, dtype=object).astype(str) for i, c in enumerate(cols)})
    return frame.groupby(list(frame.columns), sort=False)[0].transform("size").to_numpy()


def row_stats(table: pa.Table, spec: SurveySpec, ip_lookup: bool = True,
              reference: np.ndarray | None = None) -> pd.DataFrame:
    """Per-row statistics, shape (n, ~40); NaN where a row lacks the data (no consent, no events).

    Parameters
    ----------
    table : pyarrow.Table
        Nested or flat submissions (labels may be present; they are ignored).
    spec : SurveySpec
    ip_lookup : bool
        Look IPs up with :class:`fraudscore.enrich.ip.IPDatabase` for hosting / country checks.
    reference : ndarray of bool of shape (n,), optional
        Rows whose Likert answers define the item means and covariance of the Mahalanobis
        distance (default: every row). The model fits them on calibration data that is mostly
        honest; pass the honest rows to measure what it sees.
    """
    t = flatten(table)
    n = t.num_rows
    col = t.column
    out: dict[str, np.ndarray] = {}
    start = col("started_at").to_numpy().astype(float)
    end = col("submitted_at").to_numpy().astype(float)
    out["duration_s"] = (end - start) / 1000

    rows, item_ms, valid = _ragged(col("telemetry.item_ms"))
    out["item_mean_s"] = np.where(valid, _by_row(rows, item_ms.astype(float), n, "mean") / 1000, np.nan)
    out["items_under_1s"] = np.where(valid, _by_row(rows, (item_ms < 1000).astype(float), n, "mean"), np.nan)
    out["item_cv"] = np.where(valid, _by_row(rows, item_ms.astype(float), n, "cv"), np.nan)

    # Pointer: straightness and speed over consecutive move events (teleports and taps have none).
    prow, pt, _ = _ragged(col("telemetry.pointer.t"))
    _, px, _ = _ragged(col("telemetry.pointer.x"))
    _, py, pvalid = _ragged(col("telemetry.pointer.y"))
    _, pkind, _ = _ragged(col("telemetry.pointer.kind"))
    px, py, pt = px.astype(float), py.astype(float), pt.astype(float)
    move = pkind == "move"
    step_ok = (prow[1:] == prow[:-1]) & move[1:] & move[:-1]
    step = np.hypot(np.diff(px), np.diff(py))
    dt = np.diff(pt)
    srow = prow[1:][step_ok]
    path = np.bincount(srow, weights=step[step_ok], minlength=n)
    # Chord: from the first to the last move before each click (the movement's net displacement).
    down = pkind == "down"
    mv_idx = np.flatnonzero(move)
    seg_id = np.cumsum(down) - down  # movement number = downs seen before this event
    key = prow * 1_000_000 + seg_id
    mk = key[mv_idx]
    first = np.r_[True, mk[1:] != mk[:-1]]
    last = np.r_[mk[1:] != mk[:-1], True]
    fi, li = mv_idx[first], mv_idx[last]
    chord = np.hypot(px[li] - px[fi], py[li] - py[fi])
    chord_row = np.bincount(prow[fi], weights=chord, minlength=n)
    n_moves = np.bincount(prow[move], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["straightness"] = np.where(path > 0, np.minimum(chord_row / path, 1.0), np.nan)
        out["pointer_speed"] = np.where(path > 0, path / np.bincount(srow, weights=dt[step_ok], minlength=n), np.nan)
    out["move_dt_cv"] = np.where(n_moves > 2, _by_row(srow, dt[step_ok], n, "cv"), np.nan)
    out["moves_per_click"] = np.where(pvalid, n_moves / np.maximum(np.bincount(prow[down], minlength=n), 1), np.nan)
    up = pkind == "up"
    # Press duration: up minus the preceding down.
    d_idx, u_idx = np.flatnonzero(down), np.flatnonzero(up)
    m = min(len(d_idx), len(u_idx))
    press = pt[u_idx[:m]] - pt[d_idx[:m]]
    out["press_ms"] = np.where(pvalid, _by_row(prow[d_idx[:m]], press, n, "mean"), np.nan)

    krow, kt, kvalid = _ragged(col("telemetry.keys.t"))
    _, kkind, _ = _ragged(col("telemetry.keys.kind"))
    kt = kt.astype(float)
    kd = kkind == "keydown"
    kidx = np.flatnonzero(kd)
    same = krow[kidx][1:] == krow[kidx][:-1]
    iki = np.diff(kt[kidx])[same]
    irow = krow[kidx][1:][same]
    ok = iki < 5_000  # between-field gaps are not typing intervals
    out["iki_mean"] = np.where(kvalid, _by_row(irow[ok], iki[ok], n, "mean"), np.nan)
    out["iki_cv"] = np.where(kvalid, _by_row(irow[ok], iki[ok], n, "cv"), np.nan)
    n_kd = np.bincount(krow[kd], minlength=n)
    n_bs = np.bincount(krow[kkind == "backspace"], minlength=n)
    out["backspace_rate"] = np.where(kvalid & (n_kd > 0), n_bs / np.maximum(n_kd, 1), np.nan)
    out["paste_count"] = np.where(kvalid, np.bincount(krow[kkind == "paste"], minlength=n), np.nan)
    srow_, _, svalid = _ragged(col("telemetry.scroll.t"))
    out["scroll_count"] = np.where(svalid, np.bincount(srow_, minlength=n), np.nan)
    frow, fkind, fvalid = _ragged(col("telemetry.focus.kind"))
    out["blur_count"] = np.where(fvalid, np.bincount(frow[fkind == "blur"], minlength=n), np.nan)

    # Text.
    trow, texts, _ = _ragged(col("answers.text"))
    tlen = np.array([len(x) if isinstance(x, str) else 0 for x in texts], dtype=float)
    text_chars = np.bincount(trow, weights=tlen, minlength=n)
    out["text_chars"] = text_chars
    out["text_minus_keys"] = np.where(kvalid, text_chars - n_kd + n_bs, np.nan)
    joined = pd.Series(texts).groupby(trow).agg(" | ".join).reindex(range(n), fill_value="").to_numpy()
    out["text_dup_count"] = np.where(text_chars > 0, _dup_count(joined), 1)

    # Careless-responding indices (Curran 2016): longstring, IRV, attention checks.
    lrow, lik, _ = _ragged(col("answers.likert"))
    lik = np.where(pd.isna(lik), np.nan, lik).astype(float)
    L = spec.n_likert
    mat = np.full((n, L), np.nan)
    pos = np.arange(len(lrow)) - np.repeat(np.r_[0, np.cumsum(np.bincount(lrow, minlength=n))[:-1]],
                                           np.bincount(lrow, minlength=n))
    mat[lrow, pos] = lik
    run = np.ones(n)
    best = np.ones(n)
    for j in range(1, L):
        run = np.where(mat[:, j] == mat[:, j - 1], run + 1, 1)
        best = np.maximum(best, run)
    out["longstring"] = best
    out["irv"] = np.nanstd(mat, axis=1)
    ref = careless.CarelessReference().fit(mat if reference is None else mat[reference])
    with np.errstate(invalid="ignore", divide="ignore"):
        out["mahad_per_item"] = careless.mahad(mat, ref.mean_, ref.precision_) / np.sum(~np.isnan(mat), axis=1)
    checks = spec.attention_checks
    out["attention_failures"] = sum((mat[:, i] != v).astype(float) for i, v in checks.items()) if checks else 0.0
    hp = col("answers.honeypot").to_numpy(zero_copy_only=False)
    out["honeypot_filled"] = np.array([bool(x) for x in hp], dtype=float)

    # Device.
    ua = col("device.user_agent").to_numpy(zero_copy_only=False)
    usage = pd.notna(ua)
    uas = pd.Series(ua, dtype=object).fillna("")
    wd = col("device.webdriver").to_numpy(zero_copy_only=False)
    out["webdriver"] = np.where(usage, pd.Series(wd).fillna(False).astype(float), np.nan)
    plugins = pc.list_value_length(col("device.plugins").combine_chunks()).to_numpy(zero_copy_only=False)
    out["plugins_count"] = np.where(usage, plugins, np.nan)
    langs = pc.list_value_length(col("device.languages").combine_chunks()).to_numpy(zero_copy_only=False)
    out["languages_count"] = np.where(usage, langs, np.nan)
    out["headless_ua"] = np.where(usage, uas.str.contains("HeadlessChrome").astype(float), np.nan)
    renderer = pd.Series(col("device.webgl_renderer").to_numpy(zero_copy_only=False), dtype=object).fillna("")
    out["software_renderer"] = np.where(usage, renderer.str.contains("SwiftShader|llvmpipe|Emulator|Basic Render")
                                        .astype(float), np.nan)
    level = pd.Series(col("device.battery.level").to_numpy(zero_copy_only=False), dtype=float)
    charging = pd.Series(col("device.battery.charging").to_numpy(zero_copy_only=False), dtype=object)
    out["battery_full_charging"] = np.where(usage, ((level >= 1.0) & (charging == True)).astype(float), np.nan)  # noqa: E712
    touch = pd.Series(col("device.touch_points").to_numpy(zero_copy_only=False), dtype=float)
    mobile_ua = uas.str.contains("iPhone|iPad|Android").to_numpy()
    out["touch_mismatch"] = np.where(usage, (mobile_ua & (touch.to_numpy() == 0)) | (~mobile_ua & (touch.to_numpy() > 0)),
                                     np.nan).astype(float)
    platform = pd.Series(col("device.platform").to_numpy(zero_copy_only=False), dtype=object).fillna("")
    expect = np.select([uas.str.contains("Windows"), uas.str.contains("iPhone"), uas.str.contains("Macintosh"),
                        uas.str.contains("Android")], ["Win", "iPhone", "Mac", "Linux arm"], "Linux")
    out["platform_mismatch"] = np.where(usage, [not p.startswith(e) for p, e in zip(platform, expect)], np.nan).astype(float)
    out["cores"] = col("device.hardware_concurrency").to_numpy(zero_copy_only=False).astype(float)
    screen = col("device.screen").combine_chunks()
    sw = pc.list_element(screen, 0).to_numpy(zero_copy_only=False).astype(float)
    out["screen_width"] = sw
    tz = col("device.timezone").to_numpy(zero_copy_only=False)
    tzc = tz_country(tz)
    out["tz_mismatch"] = np.where(usage, tzc != spec.country, np.nan).astype(float)
    first_lang = [x[0] if x else "" for x in col("device.languages").to_pylist()]
    primary = pd.Series(first_lang, dtype=object).fillna("").str.split("-").str[0].to_numpy()
    out["language_mismatch"] = np.where(usage, ~np.isin(primary, list(spec.languages)), np.nan).astype(float)
    fp = [col(c).to_numpy(zero_copy_only=False) for c in ("device.user_agent", "device.webgl_renderer",
                                                          "device.canvas_hash", "device.fonts_hash",
                                                          "device.timezone", "device.hardware_concurrency")]
    out["device_dup_count"] = np.where(usage, _dup_count(*fp, sw), np.nan)
    cookie = col("device.cookie_id").to_numpy(zero_copy_only=False)
    out["cookie_dup_count"] = np.where(pd.notna(cookie), _dup_count(cookie), np.nan)
    ip = col("network.ip").to_numpy(zero_copy_only=False)
    prefix = pd.Series(ip, dtype=object).fillna("").str.rsplit(".", n=1).str[0].to_numpy()
    out["ip24_dup_count"] = np.where(usage, _dup_count(prefix), np.nan)
    if ip_lookup:
        from fraudscore.enrich.ip import IPDatabase

        info = IPDatabase.default().lookup(ip)
        out["ip_hosting"] = np.where(usage, info.is_hosting, np.nan).astype(float)
        out["ip_country_mismatch"] = np.where(usage, info.country != spec.country, np.nan).astype(float)
        out["tz_vs_ip_country"] = np.where(usage, tzc != info.country, np.nan).astype(float)
    return pd.DataFrame(out)


def feature_auc_table(difficulty, n: int = 8_000, seed: int = 101) -> pd.DataFrame:
    """ROC AUC, max(AUC, 1 - AUC), of each :func:`row_stats` column alone, per attack family.

    Each family is scored against the honest rows of one simulated sample (half fraud). Missing
    statistics count as the value -1: "no consent" or "no events" is information too.

    Returns
    -------
    DataFrame of shape (n_statistics, n_families)
    """
    from sklearn.metrics import roc_auc_score

    from fraudscore.simulation import FAMILIES, simulate

    sim = simulate(n, fraud_rate=0.5, seed=seed, difficulty=difficulty, output="arrow")
    family = sim.labels.family.to_numpy()
    stats = row_stats(sim.data, sim.survey, reference=family == "honest")
    out = {}
    for f in FAMILIES:
        keep = (family == f) | (family == "honest")
        y = family[keep] == f
        row = {}
        for col in stats.columns:
            a = roc_auc_score(y, np.nan_to_num(stats[col].to_numpy()[keep], nan=-1.0))
            row[col] = max(a, 1 - a)
        out[f] = row
    return pd.DataFrame(out)

