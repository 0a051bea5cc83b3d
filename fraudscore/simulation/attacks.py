"""The eight attack families: each rewrites the per-row parameters of its rows in a Block.

Every family has *tells* (a headless user agent, a hosting IP, a straight mouse path, a constant
typing rhythm, ...). Each tell of each row is hidden independently with probability equal to the
row's sophistication ``s``, drawn around the ``difficulty`` knob (0 = crude: every tell shows;
1 = human-mimicking: almost every tell is hidden). A hidden behavioural tell keeps the honest
parameter the row was drawn with, so hidden means "indistinguishable on that feature alone".
"""

from __future__ import annotations

import numpy as np

from . import network as net
from ._knobs import FAMILIES, Knobs
from .devices import (ANDROID, CHROMIUM, GPU_RENDERERS, LINUX, WINDOWS, copy_devices, draw_devices,
                      ua_catalogue, ua_rows_where)
from .population import (ANSWER_FIXED, ANSWER_LATENT, ANSWER_UNIFORM, POINTER_MOUSE, POINTER_TELEPORT,
                         POINTER_TOUCH, SCROLL_NONE, SCROLL_SCRIPTED, TYPE_INJECT, TYPE_PASTE, Block,
                         local_start_times)
from .text import CARELESS as TEXT_CARELESS, COPIED, JUNK, LLM

__all__ = ["SUBTYPES", "assign_families", "apply_attacks"]

#: Subtypes per family, with shares.
SUBTYPES = {
    "naive_bot": (("selenium", .4), ("puppeteer", .4), ("http_post", .2)),
    "stealth_bot": (("linear_mouse", .5), ("bezier_mouse", .5)),
    "llm_agent": (("cloud_browser", .6), ("local_browser", .4)),
    "click_farm": (("farm", 1.0),),
    "duplicate": (("cleared_cookies", .3), ("incognito", .25), ("browser_update", .2), ("vpn", .25)),
    "careless": (("straightline", .3), ("random", .2), ("pattern", .15), ("extreme", .15), ("speeder", .2)),
    "geo_fraud": (("vpn", .4), ("residential_proxy", .35), ("hosting", .25)),
    "emulator_farm": (("emulator", 1.0),),
}

_SOFTWARE_RENDERERS = (
    ("Google Inc. (Google)", "ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero) (0x0000C0DE)), SwiftShader driver)"),
    ("Google Inc. (Mesa)", "ANGLE (Mesa, llvmpipe (LLVM 15.0.7, 256 bits), OpenGL 4.5)"),
    ("Google Inc.", "Google SwiftShader"),
)
_EMULATOR_RENDERERS = (
    ("Google Inc.", "Android Emulator OpenGL ES Translator (Google SwiftShader)"),
    ("Google Inc. (Google)", "ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero) (0x0000C0DE)), SwiftShader driver)"),
    ("Google Inc. (NVIDIA)", "ANGLE (NVIDIA, NVIDIA GeForce GTX 1660 Direct3D11 vs_5_0 ps_5_0, D3D11)"),
    ("Qualcomm", "Adreno (TM) 640"),  # BlueStacks' spoofed GPU, the same on every instance
)


def assign_families(rng: np.random.Generator, m: int, knobs: Knobs) -> tuple[np.ndarray, np.ndarray]:
    """Family (0 = honest, 1 + index into FAMILIES) and subtype index of each of ``m`` rows."""
    expected = m * knobs.fraud_rate
    n_fraud = int(np.floor(expected) + (rng.random() < expected - np.floor(expected)))
    family = np.zeros(m, dtype=np.int64)
    subtype = np.zeros(m, dtype=np.int64)
    rows = rng.permutation(m)[:n_fraud]
    fam_codes = np.array([1 + FAMILIES.index(f) for f in knobs.families])
    family[rows] = fam_codes[rng.integers(0, len(fam_codes), n_fraud)]
    for f in knobs.families:
        sel = np.flatnonzero(family == 1 + FAMILIES.index(f))
        shares = np.array([w for _, w in SUBTYPES[f]])
        subtype[sel] = rng.choice(len(shares), sel.size, p=shares / shares.sum())
    return family, subtype


def _show(rng: np.random.Generator, s: np.ndarray) -> np.ndarray:
    """True where a tell shows (is not hidden), one coin per row."""
    return rng.random(len(s)) >= s


def _set(arr: np.ndarray, rows: np.ndarray, mask: np.ndarray, value) -> None:
    """``arr[rows[mask]] = value`` (value broadcast or already per masked row)."""
    if np.ndim(value) and len(value) == len(rows):
        value = np.asarray(value)[mask]
    arr[rows[mask]] = value


def _renderer(blk: Block, rows: np.ndarray, table, pick: np.ndarray | None = None) -> None:
    """Set the WebGL strings of ``rows`` to entries of ``table`` (cycled, or ``pick`` indices)."""
    d = blk.devices
    pick = np.arange(len(rows)) % len(table) if pick is None else np.asarray(pick) % len(table)
    vendor = np.array([d.webgl_vendor.code_of(v) for v, _ in table])
    renderer = np.array([d.webgl_renderer.code_of(r) for _, r in table])
    d.webgl_vendor.codes[rows] = vendor[pick]
    d.webgl_renderer.codes[rows] = renderer[pick]
    d.gpu_code[rows] = len(GPU_RENDERERS) + 100 + pick


def _headless_ua(blk: Block, rows: np.ndarray) -> None:
    """Replace 'Chrome/' by 'HeadlessChrome/' in each row's user agent (per distinct UA)."""
    ua = blk.devices.user_agent
    codes = ua.codes[rows]
    for c in np.unique(codes):
        text = ua.vocab[c]
        new = text.replace("Chrome/", "HeadlessChrome/") if "Chrome/" in text else text + " HeadlessChrome"
        ua.codes[rows[codes == c]] = ua.code_of(new)


def _server_devices(rng: np.random.Generator, blk: Block, rows: np.ndarray) -> None:
    """Desktop Chromium on Linux or Windows (where bots run), copied into ``rows``."""
    cat = ua_catalogue()
    mask = np.isin(cat.category, (LINUX, WINDOWS)) & (cat.engine == CHROMIUM)
    dev = draw_devices(rng, len(rows), ua_rows=ua_rows_where(mask, rng, len(rows)))
    copy_devices(blk.devices, rows, dev)
    _input_follows_device(blk, rows)


def _input_follows_device(blk: Block, rows: np.ndarray) -> None:
    """After a device swap: touch input on phones and tablets, a mouse elsewhere, no carrier on desktops."""
    touch = blk.devices.is_touch_device[rows]
    blk.pointer_mode[rows] = np.where(touch, POINTER_TOUCH, POINTER_MOUSE)
    blk.carrier[rows[~touch]] = -1  # desktops report no mobile carrier


def _bot_behaviour(rng: np.random.Generator, blk: Block, rows: np.ndarray, s: np.ndarray, mouse: str) -> None:
    """Scripted pointer, typing, scrolling and timing; each tell hidden with probability ``s``."""
    k = len(rows)
    if mouse == "teleport":
        _set(blk.pointer_mode, rows, _show(rng, s), POINTER_TELEPORT)
    else:
        # A scripted mouse path: constant speed, no corrective submovement, no tremor, exact hits,
        # regular sampling. One coin for the path's shape, one for its timing: a script author
        # either models human paths or does not.
        _input_follows_device(blk, rows)
        shape = _show(rng, s)
        _set(blk.min_jerk, rows, shape, 0.0)
        _set(blk.overshoot, rows, shape, 0.0)
        _set(blk.path_noise, rows, shape, rng.uniform(0.0, 0.3, k))
        _set(blk.curvature, rows, shape, 0.0 if mouse == "linear" else rng.uniform(0.05, 0.25, k))
        _set(blk.target_sd, rows, shape, 0.0)
        timing = _show(rng, s)
        _set(blk.dt_jitter, rows, timing, rng.uniform(0.0, 0.03, k))
        _set(blk.pause_p, rows, timing, 0.0)
        _set(blk.fitts_b, rows, timing, rng.uniform(0, 30, k))
        _set(blk.sample_dt, rows, timing, rng.choice([16.7, 50.0, 100.0], k))
    _set(blk.press_ms, rows, _show(rng, s), rng.uniform(1, 20, k))
    _set(blk.scroll_mode, rows, _show(rng, s), rng.choice([SCROLL_NONE, SCROLL_SCRIPTED], k))
    _set(blk.blur_rate, rows, _show(rng, s), 0.0)
    # Constant-rhythm typing (a fixed delay per character) or injected text.
    typing = _show(rng, s)
    _set(blk.iki_sigma, rows, typing, rng.uniform(0.0, 0.08, k))
    _set(blk.iki_ms, rows, typing, rng.choice([10.0, 50.0, 100.0, 150.0], k))
    _set(blk.backspace_rate, rows, typing, 0.0)
    _set(blk.think_pause_p, rows, typing, 0.0)
    _set(blk.type_mode, rows, _show(rng, s), np.where(rng.random(k) < 0.5, TYPE_INJECT, TYPE_PASTE))
    # Timing: fixed or uniform random delays that ignore item length.
    timing = _show(rng, s)
    _set(blk.ms_per_word, rows, timing, rng.uniform(0, 40, k))
    _set(blk.decision_ms, rows, timing, rng.uniform(200, 2_500, k))
    _set(blk.item_sigma, rows, timing, rng.uniform(0.0, 0.15, k))
    _set(blk.pre_ms, rows, timing, rng.uniform(300, 3_000, k))


def _naive_bot(rng, blk: Block, rows, s, sub):
    k = len(rows)
    d = blk.devices
    _server_devices(rng, blk, rows)
    _headless = _show(rng, s)
    _headless_ua(blk, rows[_headless])
    d.platform.codes[rows[_headless]] = d.platform.code_of("Linux x86_64")
    _set(d.webdriver, rows, _show(rng, s), True)
    _set(d.n_plugins, rows, _show(rng, s), 0)
    software = _show(rng, s)
    _renderer(blk, rows[software], _SOFTWARE_RENDERERS)
    _set(blk.profile, rows, _show(rng, s), net.EMPTY_PROFILE)
    small = _show(rng, s)
    for arr, v in ((d.screen_w, 800), (d.screen_h, 600), (d.avail_w, 800), (d.avail_h, 600)):
        _set(arr, rows, small, v)
    _set(d.touch_points, rows, np.ones(k, bool), 0)
    hosting = _show(rng, s)
    _reip(rng, blk, rows, hosting, country=-1)
    _set(blk.zone, rows, _show(rng, s), net.UTC_ZONE)
    _set(blk.referrer, rows, _show(rng, s), 0)
    _bot_behaviour(rng, blk, rows, s, "teleport")
    # Crude bots answer every item in a fraction of a second.
    _set(blk.speed, rows, _show(rng, s), rng.uniform(0.02, 0.15, k))
    _set(blk.answer_mode, rows, _show(rng, s), np.where(rng.random(k) < 0.7, ANSWER_UNIFORM, ANSWER_FIXED))
    _set(blk.attention_p, rows, _show(rng, s), 0.0)
    _set(blk.honeypot, rows, _show(rng, s), rng.integers(1, 5, k))
    _set(blk.text_style, rows, _show(rng, s), JUNK)
    blk.consent_usage[rows] = True
    blk.consent_analytics[rows] = True
    post = sub == 2  # a scripted HTTP POST runs no JavaScript: no telemetry, no device data
    blk.consent_analytics[rows[post]] = False
    blk.consent_usage[rows[post & (rng.random(k) < 0.7)]] = False


def _stealth_bot(rng, blk: Block, rows, s, sub):
    k = len(rows)
    d = blk.devices
    # Spoofed UA from the real traffic mix on the bot's Linux/Windows host (usually disagrees with
    # its hardware), or, hidden, full device emulation (UA, screen, touch, pixel ratio all consistent,
    # as puppeteer's page.emulate does) that keeps the honest device drawn for the row.
    spoof = _show(rng, s)
    _server_devices(rng, blk, rows[spoof])
    cat = ua_catalogue()
    d.user_agent.codes[rows[spoof]] = rng.choice(len(cat.ua), int(spoof.sum()), p=cat.weight)
    _set(d.cores, rows, _show(rng, s), rng.choice([2, 4], k))
    _renderer(blk, rows[_show(rng, s) & (rng.random(k) < 0.6)], _SOFTWARE_RENDERERS)
    _set(d.webdriver, rows, _show(rng, s) & (rng.random(k) < 0.25), True)
    _reip(rng, blk, rows, _show(rng, s), country=-1)
    _set(blk.zone, rows, _show(rng, s), net.UTC_ZONE)
    _bot_behaviour(rng, blk, rows, s, "bezier")
    lin = (sub == 0) & (blk.min_jerk[rows] == 0)
    blk.curvature[rows[lin]] = 0.0
    _set(blk.answer_mode, rows, _show(rng, s), ANSWER_UNIFORM)
    _set(blk.attention_p, rows, _show(rng, s), 0.2)
    _set(blk.honeypot, rows, _show(rng, s) & (rng.random(k) < 0.3), 1)
    _set(blk.text_style, rows, _show(rng, s), np.where(rng.random(k) < 0.5, JUNK, LLM))
    blk.consent_usage[rows] = True
    blk.consent_analytics[rows] = True


def _llm_agent(rng, blk: Block, rows, s, sub):
    k = len(rows)
    d = blk.devices
    cloud = sub == 0
    crow = rows[cloud]
    if crow.size:
        _server_devices(rng, blk, crow)
        cs = s[cloud]
        _renderer(blk, crow[_show(rng, cs)], _SOFTWARE_RENDERERS[1:2])
        _set(d.webdriver, crow, _show(rng, cs), True)
        _reip(rng, blk, crow, _show(rng, cs), country=-1)
        _set(blk.zone, crow, _show(rng, cs), net.UTC_ZONE)
    _bot_behaviour(rng, blk, rows, s, "teleport")
    # Every step waits for a model call: slow, regular, independent of item length.
    slow = _show(rng, s)
    _set(blk.decision_ms, rows, slow, rng.uniform(2_500, 7_000, k))
    _set(blk.ms_per_word, rows, slow, rng.uniform(0, 30, k))
    _set(blk.item_sigma, rows, slow, rng.uniform(0.08, 0.2, k))
    # Coherent, central, agreeable answers: models answer more consistently and less variably
    # than people (Bisbee et al. 2024, "Synthetic replacements for human survey data?"). A
    # persona-prompted agent that adds human-like noise hides it, so like every other tell it
    # shows with the row's sophistication; hidden, the row keeps the honest answer style drawn
    # for it.
    blk.answer_mode[rows] = ANSWER_LATENT
    coherent = _show(rng, s)
    _set(blk.loading, rows, coherent, rng.uniform(0.85, 0.95, k))
    _set(blk.extremity, rows, coherent, rng.uniform(0.6, 0.9, k))
    _set(blk.acquiescence, rows, coherent, rng.normal(0.2, 0.1, k))
    blk.attention_p[rows] = 0.99
    blk.skip_p[rows] = 0.0
    _set(blk.text_style, rows, _show(rng, s), LLM)
    _set(blk.honeypot, rows, _show(rng, s) & (rng.random(k) < 0.3), 1)  # the DOM shows hidden inputs
    blk.consent_usage[rows] = True
    blk.consent_analytics[rows] = True


def _groups(rng, rows: np.ndarray, size: float) -> np.ndarray:
    """Split ``rows`` into consecutive groups of about ``size``; group index per row."""
    n_groups = max(1, int(round(len(rows) / size)))
    return np.sort(rng.integers(0, n_groups, len(rows)))


def _first_row_of(groups: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Global row id of the first row of each row's group, shape (len(rows),)."""
    _, first, inverse = np.unique(groups, return_index=True, return_inverse=True)
    return rows[first][inverse]


def _reip(rng, blk: Block, rows: np.ndarray, hosting_mask: np.ndarray, country) -> None:
    """Give ``rows[hosting_mask]`` a hosting IP (``country`` index, -1 = anywhere)."""
    r = rows[hosting_mask]
    if r.size:
        blk.ip_hosting[r] = True
        blk.ip_country[r] = country
        blk.ip[r] = net.draw_ips(rng, blk.ip_country[r], blk.ip_hosting[r])


def _click_farm(rng, blk: Block, rows, s, sub):
    k = len(rows)
    survey = net.country_index(blk.spec.country)
    farm = _groups(rng, rows, 30)
    origin_of_farm = net.draw_countries(rng, net.FRAUD_ORIGINS, farm.max() + 1)
    origin = origin_of_farm[farm]
    # A handful of devices per farm, each used by one worker for many submissions.
    device = farm * 8 + rng.integers(0, rng.integers(2, 7), k)
    device_row = _first_row_of(device, np.arange(k))
    dev = draw_devices(rng, k)
    copy_devices(blk.devices, rows, dev, device_row)
    _input_follows_device(blk, rows)
    blk.device_key[rows] = blk.row_id[rows][device_row]
    blk.person_id[rows] = blk.device_key[rows]
    blk.home[rows] = origin
    blk.carrier_country[rows] = origin
    blk.carrier[rows[~_show(rng, s)]] = -1  # skilled farms keep phones on Wi-Fi: no carrier reported
    blk.cookie_epoch[rows] = np.where(_show(rng, 1 - s), blk.row_id[rows], 0)  # skilled farms clear cookies
    # The farm's own /24 (its ISP line) or residential proxies in the survey country.
    own = _show(rng, s)
    farm_ip = net.draw_ips(rng, origin_of_farm, np.zeros(len(origin_of_farm), bool))
    blk.ip[rows[own]] = (farm_ip[farm[own]] & np.uint32(0xFFFFFF00)) | rng.integers(1, 255, int(own.sum())).astype(np.uint32)
    blk.ip[rows[~own]] = net.draw_ips(rng, np.full(int((~own).sum()), survey), np.zeros(int((~own).sum()), bool))
    blk.ip_country[rows] = np.where(own, origin, survey)
    tz_show = _show(rng, s)
    origin_zone = net.draw_zone(rng, origin)
    _set(blk.zone, rows, tz_show, origin_zone)
    # Workers keep their own day shift (night in the survey country) unless they work its hours.
    _set(blk.started_at, rows, _show(rng, s), local_start_times(rng, origin_zone))
    _set(blk.profile, rows, _show(rng, s), net.draw_profile(rng, origin))
    # Real people, in a hurry, copying answers from a shared sheet.
    _set(blk.speed, rows, _show(rng, s), rng.uniform(0.2, 0.5, k))
    _set(blk.careless, rows, _show(rng, s) & (rng.random(k) < 0.5), rng.choice([1, 2], k))
    blk.onset[rows] = rng.uniform(0.0, 0.5, k)
    blk.careless_speed[rows] = 1.0
    blk.attention_p[rows] = 0.8
    copied = _show(rng, s)
    blk.text_style[rows[copied]] = COPIED
    blk.text_seed[rows[copied]] = (farm[copied] * 3 + rng.integers(0, 3, int(copied.sum()))) * 7_919 + blk.row_id[rows[0]]
    _set(blk.type_mode, rows, copied & _show(rng, s), TYPE_PASTE)
    blk.respondent[rows] = blk.row_id[rows]  # bought or farmed panel accounts


_PARAMS_OF_A_PERSON = ("pre_ms", "ms_per_word", "decision_ms", "item_sigma", "fitts_a", "fitts_b", "path_noise",
                       "curvature", "primary_share", "overshoot", "target_sd", "pause_p", "press_ms", "iki_ms",
                       "iki_sigma", "backspace_rate", "think_pause_p", "theta", "loading", "acquiescence", "extremity",
                       "attention_p", "home", "zone", "profile", "gps", "gps_country", "carrier", "carrier_country",
                       "sample_dt", "dt_jitter", "scroll_mode", "pointer_mode", "ip", "ip_country", "ip_hosting",
                       "referrer")


def _duplicate(rng, blk: Block, rows, s, sub):
    k = len(rows)
    honest = np.flatnonzero(blk.family == 0)
    # Each repeat copies an earlier submission of the same person: an honest row when there is one
    # (the first submission is legitimate), otherwise another row of this family.
    pool = honest[: max(1, len(honest) // 4)] if len(honest) else rows[: max(1, k // 4)]
    orig = pool[rng.integers(0, len(pool), k)]
    if not len(honest):  # the first quarter of the family's rows are the people's first entries
        orig[: len(pool)] = pool
    copy_devices(blk.devices, rows, blk.devices, orig)
    for name in _PARAMS_OF_A_PERSON:
        arr = getattr(blk, name)
        arr[rows] = arr[orig]
    blk.person_id[rows] = blk.person_id[orig]
    blk.device_key[rows] = blk.device_key[orig]
    # A repeat comes after the submission it repeats: minutes to days later (log-uniform), so
    # "seen before" counts land on the duplicate, not on the honest original.
    delay_ms = np.exp(rng.uniform(np.log(5 * 60_000), np.log(3 * 86_400_000), k))
    blk.started_at[rows] = blk.started_at[orig] + delay_ms.astype(np.int64)
    blk.speed[rows] = blk.speed[orig] * rng.uniform(0.55, 0.95, k)  # they know the survey now
    blk.respondent[rows] = np.where(_show(rng, s) & (rng.random(k) < 0.3), blk.respondent[orig], blk.row_id[rows])
    # Same text again, or lightly reworded.
    same_text = _show(rng, s)
    blk.text_seed[rows] = np.where(same_text, blk.text_seed[orig], blk.text_seed[rows])
    blk.text_style[rows] = blk.text_style[orig]
    # Home broadband changes address now and then.
    moved = rng.random(k) < 0.4
    blk.ip[rows[moved]] = net.draw_ips(rng, blk.ip_country[rows[moved]], blk.ip_hosting[rows[moved]])
    blk.cookie_epoch[rows] = blk.row_id[rows]  # cleared, incognito or a new browser profile
    update = rows[sub == 2]
    if update.size:
        _update_browser(rng, blk, update)
        keep = rng.random(update.size) < 0.5  # an update keeps cookies
        blk.cookie_epoch[update[keep]] = blk.cookie_epoch[orig[sub == 2][keep]]
    vpn = sub == 3
    _reip(rng, blk, rows, vpn, country=-1)


def _update_browser(rng, blk: Block, rows: np.ndarray) -> None:
    """Move each row to another version of the same browser on the same device class."""
    cat = ua_catalogue()
    ua = blk.devices.user_agent
    for c in np.unique(ua.codes[rows]):
        if c >= len(cat.ua):
            continue
        same = (cat.category == cat.category[c]) & (np.array(cat.browser) == cat.browser[c])
        same[c] = False
        if not same.any():
            continue
        sel = rows[ua.codes[rows] == c]
        ua.codes[sel] = ua_rows_where(same, rng, sel.size)


def _careless(rng, blk: Block, rows, s, sub):
    k = len(rows)
    blk.careless[rows] = sub + 1
    # Harder: later onset (fewer careless items) and less speeding.
    blk.onset[rows] = rng.uniform(0.0, 0.6, k) + 0.35 * s
    blk.careless_speed[rows] = np.exp(np.log(rng.uniform(0.15, 0.5, k)) * (1 - s))
    _set(blk.text_style, rows, _show(rng, s), TEXT_CARELESS)
    _set(blk.attention_p, rows, _show(rng, s), rng.uniform(0.3, 0.8, k))


def _geo_fraud(rng, blk: Block, rows, s, sub):
    k = len(rows)
    survey = net.country_index(blk.spec.country)
    origin = net.draw_countries(rng, net.FRAUD_ORIGINS, k)
    blk.home[rows] = origin
    blk.gps_country[rows] = origin
    blk.carrier_country[rows] = origin
    # Phones keep their carrier slot; its name now comes from the origin country's carriers. A VPN
    # moves neither the SIM nor the GPS fix: careful fraudsters use Wi-Fi and turn location off.
    careful = ~_show(rng, s)
    blk.carrier[rows[careful]] = -1
    blk.gps[rows[careful]] = False
    # Exit: a VPN or hosting exit (shows) or a residential proxy in the survey country (hidden).
    exit_hosting = _show(rng, s) & (sub != 1)
    blk.ip_hosting[rows] = exit_hosting
    blk.ip_country[rows] = np.where(exit_hosting & (sub == 2), -1, survey)
    blk.ip[rows] = net.draw_ips(rng, blk.ip_country[rows], blk.ip_hosting[rows])
    origin_zone = net.draw_zone(rng, origin)
    _set(blk.zone, rows, _show(rng, s), origin_zone)
    _set(blk.started_at, rows, _show(rng, s), local_start_times(rng, origin_zone))  # awake at home
    _set(blk.profile, rows, _show(rng, s), net.draw_profile(rng, origin))
    _set(blk.speed, rows, _show(rng, s), rng.uniform(0.4, 0.8, k))
    _set(blk.type_mode, rows, _show(rng, s) & (rng.random(k) < 0.4), TYPE_PASTE)
    blk.attention_p[rows] = rng.uniform(0.7, 0.95, k)


def _emulator_farm(rng, blk: Block, rows, s, sub):
    k = len(rows)
    d = blk.devices
    farm = _groups(rng, rows, 40)
    template = _first_row_of(farm, np.arange(k))
    # The operator configures every instance of a farm alike, so each tell shows farm-wide.
    s_farm = s[template]

    def show():
        coins = rng.random(farm.max() + 1) >= s_farm[np.unique(farm, return_index=True)[1]]
        return coins[farm]

    cat = ua_catalogue()
    android = (cat.category == ANDROID) & (cat.engine == CHROMIUM)
    dev = draw_devices(rng, k, ua_rows=ua_rows_where(android, rng, k))
    # Identical hardware on every instance of a farm (shows) or a fresh profile per instance.
    same = show()
    src = np.where(same, template, np.arange(k))
    copy_devices(d, rows, dev, src)
    blk.device_key[rows] = blk.row_id[rows]
    blk.person_id[rows] = blk.row_id[rows][template]
    blk.pointer_mode[rows] = POINTER_TOUCH
    x86 = show()
    d.platform.codes[rows[x86]] = d.platform.code_of("Linux x86_64")
    gl = show()
    _renderer(blk, rows[gl], _EMULATOR_RENDERERS, pick=farm[gl])
    full = show()
    _set(d.battery_level, rows, full, 1.0)
    _set(d.battery_charging, rows, full, 1)
    _set(d.touch_points, rows, show(), (farm % 2).astype(float))
    _reip(rng, blk, rows, show(), country=-1)
    _set(blk.zone, rows, show(), net.UTC_ZONE)
    _set(blk.press_ms, rows, show(), rng.uniform(1, 15, k))
    timing = show()
    _set(blk.ms_per_word, rows, timing, rng.uniform(0, 40, k))
    _set(blk.item_sigma, rows, timing, rng.uniform(0.0, 0.12, k))
    _set(blk.decision_ms, rows, timing, rng.uniform(400, 2_000, k))
    _set(blk.type_mode, rows, show(), TYPE_INJECT)
    _set(blk.scroll_mode, rows, show(), SCROLL_SCRIPTED)
    _set(blk.blur_rate, rows, show(), 0.0)
    _set(blk.answer_mode, rows, show(), ANSWER_UNIFORM)
    _set(blk.attention_p, rows, show(), 0.5)
    _set(blk.text_style, rows, show(), JUNK)
    blk.consent_usage[rows] = True
    blk.consent_analytics[rows] = True


_APPLY = {
    "naive_bot": _naive_bot, "stealth_bot": _stealth_bot, "llm_agent": _llm_agent, "click_farm": _click_farm,
    "duplicate": _duplicate, "careless": _careless, "geo_fraud": _geo_fraud, "emulator_farm": _emulator_farm,
}


def apply_attacks(rng: np.random.Generator, blk: Block, family: np.ndarray, subtype: np.ndarray, knobs: Knobs) -> None:
    """Rewrite the rows of every attack family in ``blk`` (in place) and set their labels."""
    blk.family[:] = family
    d = knobs.difficulty
    # Attackers differ in skill: sophistication spreads around the difficulty knob.
    blk.sophistication = np.clip(d + 0.2 * rng.standard_normal(blk.n) * (1 - abs(2 * d - 1) * 0.6), 0.0, 1.0)
    names = [""]
    for f in knobs.families:  # fixed order: FAMILIES order filtered by the knob
        code = 1 + FAMILIES.index(f)
        rows = np.flatnonzero(family == code)
        sub_names = [name for name, _ in SUBTYPES[f]]
        offset = len(names)
        names += sub_names
        blk.subtype.codes[rows] = offset + subtype[rows]
        if rows.size:
            _APPLY[f](rng, blk, rows, blk.sophistication[rows], subtype[rows])
    blk.subtype.vocab[:] = names
