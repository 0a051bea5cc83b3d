"""Honest respondents: who they are, where they are, and how they behave (per-row parameters).

A :class:`Block` holds every per-row parameter of one block of submissions as arrays. Honest
values are drawn here; :mod:`~fraudscore.simulation.attacks` rewrites the rows of each attack
family; the telemetry, answer and text generators then read only these arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fraudscore.survey import SurveySpec

from . import network as net
from ._columns import Coded
from ._kernels import choice_cdf, weighted_choice
from .devices import CATEGORIES, Devices, draw_devices

__all__ = ["Block", "draw_honest", "local_start_times", "HOURLY_ACTIVITY", "REFERRERS", "POINTER_MOUSE", "POINTER_TOUCH", "POINTER_TELEPORT",
           "SCROLL_WHEEL", "SCROLL_SMOOTH", "SCROLL_NONE", "SCROLL_SCRIPTED", "TYPE_KEYS", "TYPE_PASTE",
           "TYPE_INJECT", "CARELESS_KINDS", "ANSWER_LATENT", "ANSWER_UNIFORM", "ANSWER_FIXED"]

POINTER_MOUSE, POINTER_TOUCH, POINTER_TELEPORT = 0, 1, 2
SCROLL_WHEEL, SCROLL_SMOOTH, SCROLL_NONE, SCROLL_SCRIPTED = 0, 1, 2, 3
TYPE_KEYS, TYPE_PASTE, TYPE_INJECT = 0, 1, 2
ANSWER_LATENT, ANSWER_UNIFORM, ANSWER_FIXED = 0, 1, 2
CARELESS_KINDS = ("none", "straightline", "random", "pattern", "extreme", "speeder")

REFERRERS = ("", "https://www.prolific.com/", "https://app.cint.com/", "https://mail.google.com/",
             "https://outlook.live.com/", "https://www.facebook.com/", "https://t.co/", "https://panel.example.org/")
_REFERRER_SHARE = (0.35, 0.15, 0.15, 0.12, 0.08, 0.07, 0.03, 0.05)

#: Start of the simulated fielding window (2026-06-01T00:00Z, no DST change inside) and its length.
WINDOW_START_MS = 1_780_272_000_000
WINDOW_MS = 7 * 86_400_000
_DAY_MS = 86_400_000

#: Relative share of submissions per local hour 0-23: quiet at night, peaks at lunch and in the
#: evening (the usual shape of web and panel traffic); night owls and shift workers keep ~6 % of
#: submissions between midnight and 6 am.
HOURLY_ACTIVITY = np.array([2.0, 1.2, 0.8, 0.6, 0.6, 0.8, 1.6, 3.0, 4.4, 5.2, 5.6, 5.8,
                            6.0, 5.8, 5.6, 5.4, 5.4, 5.6, 6.0, 6.6, 7.0, 6.6, 5.0, 3.4])
_HOURLY_CDF = choice_cdf(HOURLY_ACTIVITY / HOURLY_ACTIVITY.sum())


def local_start_times(rng: np.random.Generator, zone: np.ndarray) -> np.ndarray:
    """Start instants (epoch ms) in the fielding window, at hours people are awake in ``zone``.

    Parameters
    ----------
    zone : ndarray of shape (k,)
        Zone codes (into :data:`~.network.ZONES`) of where each person lives.

    Returns
    -------
    ndarray of shape (k,), int64
    """
    k = len(zone)
    day = rng.integers(0, WINDOW_MS // _DAY_MS, k)
    local_ms = ((weighted_choice(rng, _HOURLY_CDF, k) + rng.random(k)) * 3_600_000).astype(np.int64)
    return WINDOW_START_MS + day * _DAY_MS + local_ms - net.tz_offsets(zone, WINDOW_START_MS).astype(np.int64) * 60_000


@dataclass
class Block:
    """Every per-row parameter of one block of ``n`` submissions; arrays have shape (n,).

    Rows are honest until an attack family rewrites them. ``family`` is 0 for honest people and
    1 + the index into :data:`~fraudscore.simulation._knobs.FAMILIES` for attacks.
    """

    n: int
    spec: SurveySpec
    row_id: np.ndarray  # global row number: block * BLOCK_ROWS + position
    family: np.ndarray
    subtype: Coded
    person_id: np.ndarray
    device_key: np.ndarray
    sophistication: np.ndarray
    devices: Devices
    # where
    home: np.ndarray  # country index of the person's home
    ip_country: np.ndarray
    ip_hosting: np.ndarray
    ip: np.ndarray  # uint32 IPv4 address
    zone: np.ndarray
    profile: np.ndarray
    gps: np.ndarray  # has a GPS fix
    gps_country: np.ndarray
    carrier: np.ndarray  # index into the carriers of carrier_country, -1 = none
    carrier_country: np.ndarray  # country of the SIM
    referrer: np.ndarray
    cookie_epoch: np.ndarray  # new value = cleared cookies / incognito
    respondent: np.ndarray  # panel account number, -1 = no panel id
    consent_usage: np.ndarray
    consent_analytics: np.ndarray
    started_at: np.ndarray
    # timing
    pre_ms: np.ndarray
    ms_per_word: np.ndarray
    decision_ms: np.ndarray
    item_sigma: np.ndarray
    speed: np.ndarray
    # pointer
    pointer_mode: np.ndarray
    fitts_a: np.ndarray
    fitts_b: np.ndarray
    path_noise: np.ndarray
    curvature: np.ndarray
    primary_share: np.ndarray
    overshoot: np.ndarray
    min_jerk: np.ndarray  # 1 = minimum-jerk velocity profile, 0 = constant speed
    sample_dt: np.ndarray
    dt_jitter: np.ndarray
    target_sd: np.ndarray
    pause_p: np.ndarray
    press_ms: np.ndarray
    # scrolling and focus
    scroll_mode: np.ndarray
    blur_rate: np.ndarray
    # typing
    type_mode: np.ndarray
    iki_ms: np.ndarray
    iki_sigma: np.ndarray
    backspace_rate: np.ndarray
    think_pause_p: np.ndarray
    # answers
    answer_mode: np.ndarray
    theta: np.ndarray  # shape (n, n_scales + 1); the last column drives items outside any scale
    loading: np.ndarray
    acquiescence: np.ndarray
    extremity: np.ndarray
    skip_p: np.ndarray
    attention_p: np.ndarray
    careless: np.ndarray
    onset: np.ndarray
    careless_speed: np.ndarray
    # text
    text_style: np.ndarray
    text_seed: np.ndarray
    honeypot: np.ndarray
    extras: dict = field(default_factory=dict)

    @property
    def n_items(self) -> int:
        return self.spec.n_likert + self.spec.n_text


def _lognormal(rng, median, sigma, size):
    return median * np.exp(sigma * rng.standard_normal(size))


def draw_honest(rng: np.random.Generator, n: int, spec: SurveySpec, row_id: np.ndarray) -> Block:
    """Draw ``n`` honest respondents for ``spec``'s survey.

    Location minorities follow published shares of online panels: most people take a national
    survey at home, a few percent are travelling, live abroad or use a VPN, and some residents'
    browsers prefer another language or another country's locale (``network.IMMIGRANT_SHARE``).
    """
    survey_country = net.country_index(spec.country)
    devices = draw_devices(rng, n)
    touch = devices.is_touch_device
    home = np.full(n, survey_country)
    ip_country = home.copy()
    ip_hosting = np.zeros(n, dtype=bool)
    zone = net.draw_zone(rng, home)
    profile = net.draw_profile(rng, home)
    situation = rng.choice(4, size=n, p=[0.915, 0.025, 0.02, 0.04])  # home, travelling, expat, honest VPN
    travel = situation == 1
    expat = situation == 2
    vpn = situation == 3
    abroad = travel | expat
    ip_country[abroad] = net.draw_countries(rng, net.TRAVEL_DESTINATIONS, int(abroad.sum()))
    # Phones follow the local zone; laptops of travellers usually keep home time.
    local_zone = expat | (travel & touch)
    zone[local_zone] = net.draw_zone(rng, ip_country[local_zone])
    ip_hosting[vpn] = True
    # Half of VPN users pick an exit in their own country, the rest wherever the app defaults to.
    ip_country[vpn] = np.where(rng.random(int(vpn.sum())) < 0.5, survey_country, -1)
    # Residents born abroad (or in a bilingual household) often keep their origin's browser locale
    # (e.g. ``vi-VN`` or ``en-IN`` in a US survey) while living, and taking the survey, at home.
    migrant = (situation == 0) & (rng.random(n) < net.IMMIGRANT_SHARE)
    origin = net.draw_countries(rng, net.IMMIGRANT_ORIGINS, int(migrant.sum()))
    foreign = origin != survey_country
    profile[np.flatnonzero(migrant)[foreign]] = net.draw_profile(rng, origin[foreign])
    # A GPS fix is where the phone is. Expats use a local SIM, travellers roam on their home one,
    # and some immigrants keep their origin's SIM (dual-SIM phones), so a foreign carrier is not
    # a fraud tell on its own either.
    gps_country = home.copy()
    gps_country[abroad] = ip_country[abroad]
    carrier_country = home.copy()
    carrier_country[expat] = ip_country[expat]
    kept_sim = np.flatnonzero(migrant)[foreign]
    keep = rng.random(kept_sim.size) < 0.25
    carrier_country[kept_sim[keep]] = origin[foreign][keep]
    gps = touch & (rng.random(n) < 0.08)
    carriers = np.where(touch & (rng.random(n) < 0.35), rng.integers(0, 3, size=n), -1)
    n_scales = len(spec.scales)
    # Reading speed: silent reading of survey items ~200-300 wpm (Brysbaert 2019), decision time
    # ~1 s (Yan & Tourangeau 2008), with a long fast tail of skimmers.
    ms_per_word = _lognormal(rng, 240, 0.38, n)
    # Mouse versus touch pointing; Fitts' law a and b from MacKenzie (1992) mouse experiments.
    pointer_mode = np.where(touch, POINTER_TOUCH, POINTER_MOUSE)
    mac_or_touch = touch | (devices.category == CATEGORIES.index("mac")) | (rng.random(n) < 0.3)
    scroll_mode = np.where(mac_or_touch, SCROLL_SMOOTH, SCROLL_WHEEL)
    # Desktop typists ~240 ms mean IKI (Dhakal et al. 2018); phones ~275 ms (Palin et al. 2019).
    iki = _lognormal(rng, 180, 0.28, n) * np.where(touch, 1.15, 1.0)
    blk = Block(
        n=n, spec=spec, row_id=row_id,
        family=np.zeros(n, dtype=np.int64),
        subtype=Coded(np.full(n, 0), [""]),
        person_id=row_id.copy(), device_key=row_id.copy(),
        sophistication=np.ones(n),
        devices=devices,
        home=home, ip_country=ip_country, ip_hosting=ip_hosting, ip=net.draw_ips(rng, ip_country, ip_hosting),
        zone=zone, profile=profile, gps=gps, gps_country=gps_country, carrier=carriers,
        carrier_country=carrier_country,
        referrer=rng.choice(len(REFERRERS), size=n, p=_REFERRER_SHARE),
        cookie_epoch=np.zeros(n, dtype=np.int64),
        respondent=np.where(rng.random(n) < 0.7, row_id, -1),
        consent_usage=rng.random(n) < 0.97,
        consent_analytics=rng.random(n) < 0.93,
        started_at=local_start_times(rng, zone),
        pre_ms=_lognormal(rng, 9_000, 0.6, n),
        ms_per_word=ms_per_word,
        decision_ms=_lognormal(rng, 1_100, 0.4, n),
        item_sigma=rng.uniform(0.25, 0.45, n),
        speed=np.ones(n),
        pointer_mode=pointer_mode,
        fitts_a=np.clip(rng.normal(180, 50, n), 40, None),
        fitts_b=np.clip(rng.normal(170, 35, n), 60, None),
        path_noise=rng.uniform(0.8, 3.0, n),
        curvature=np.abs(rng.normal(0.0, 0.07, n)) + 0.02,
        primary_share=rng.uniform(0.65, 0.85, n),
        overshoot=rng.normal(0.05, 0.03, n),
        min_jerk=np.ones(n),
        sample_dt=rng.uniform(40, 75, n),  # analytics recorders throttle mousemove to ~13-25 Hz
        dt_jitter=rng.uniform(0.15, 0.35, n),
        target_sd=rng.uniform(3, 8, n),
        pause_p=rng.uniform(0.05, 0.25, n),
        press_ms=_lognormal(rng, 95, 0.25, n),
        scroll_mode=scroll_mode,
        blur_rate=_lognormal(rng, 0.25, 0.8, n),
        type_mode=np.full(n, TYPE_KEYS),
        iki_ms=iki,
        iki_sigma=rng.uniform(0.35, 0.55, n),
        backspace_rate=np.clip(rng.beta(2.0, 30.0, n), 0, 0.3),
        think_pause_p=rng.uniform(0.002, 0.015, n),
        answer_mode=np.full(n, ANSWER_LATENT),
        theta=rng.standard_normal((n, n_scales + 1)),
        loading=rng.uniform(0.68, 0.8, n),
        acquiescence=rng.normal(0.0, 0.25, n),
        extremity=_lognormal(rng, 1.0, 0.2, n),
        skip_p=np.where(rng.random(n) < 0.1, 0.03, 0.0),
        attention_p=rng.beta(25, 1.3, n),
        careless=np.zeros(n, dtype=np.int64),
        onset=np.ones(n),
        careless_speed=np.ones(n),
        text_style=np.zeros(n, dtype=np.int64),
        text_seed=rng.integers(0, 2**62, size=n),
        honeypot=np.where(rng.random(n) < 0.004, 1, 0),  # browser autofill fills hidden fields
    )
    blk.devices.webdriver[:] = rng.random(n) < 0.004  # accessibility and test-automation tools
    # Honest people who move through surveys fast: a few percent are habitual skimmers.
    skim = rng.random(n) < 0.06
    blk.ms_per_word[skim] *= rng.uniform(0.25, 0.5, int(skim.sum()))
    blk.decision_ms[skim] *= rng.uniform(0.3, 0.6, int(skim.sum()))
    # Honest people who never scroll (about 12 % of desktops): a tall window or a paginated
    # layout, keyboard (Tab) navigation. Phones always scroll. Drawn from the text seed's low
    # digits so that every other draw keeps its random stream.
    blk.scroll_mode[~touch & (blk.text_seed % 1000 < 120)] = SCROLL_NONE
    blk.extras["honest_situation"] = situation
    blk.extras["foreign_locale"] = migrant
    return blk
