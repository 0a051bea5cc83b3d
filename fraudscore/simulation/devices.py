"""Devices and browsers of honest respondents: a real user-agent mix with consistent hardware.

The user-agent distribution is the data file shipped by ``fake-useragent`` (real browser traffic
with a ``percent`` share per user agent, its device type, OS, browser and navigator.platform).
Hardware is drawn per device class from public market-share figures (StatCounter screen
resolutions, Apple/Android spec sheets, Steam hardware survey GPUs) so that the UA, screen, pixel
ratio, touch points, cores, memory, WebGL strings and battery of one device agree. Sources are
listed in docs/SIMULATOR.md.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
from dataclasses import dataclass

import numpy as np

from ._columns import Coded, mix64
from ._kernels import choice_cdf, weighted_choice

__all__ = ["CATEGORIES", "ENGINES", "UACatalogue", "ua_catalogue", "Devices", "draw_devices", "STANDARD_PLUGINS",
           "GPU_VENDORS", "GPU_RENDERERS", "fingerprint_hashes", "copy_devices", "ua_rows_where"]

CATEGORIES = ("iphone", "ipad", "android_phone", "android_tablet", "windows", "mac", "linux", "chromeos")
ENGINES = ("chromium", "webkit", "gecko")
IPHONE, IPAD, ANDROID, ANDROID_TAB, WINDOWS, MAC, LINUX, CHROMEOS = range(8)
CHROMIUM, WEBKIT, GECKO = range(3)
MOBILE_CATEGORIES = (IPHONE, IPAD, ANDROID, ANDROID_TAB)

#: navigator.plugins of desktop Chromium, Firefox and Safari since 2022 (a fixed PDF-viewer list);
#: mobile browsers report none.
STANDARD_PLUGINS = ("PDF Viewer", "Chrome PDF Viewer", "Chromium PDF Viewer", "Microsoft Edge PDF Viewer",
                    "WebKit built-in PDF")

_PLATFORM = {IPHONE: "iPhone", IPAD: "iPad", ANDROID: "Linux armv81", ANDROID_TAB: "Linux armv81",
             WINDOWS: "Win32", MAC: "MacIntel", LINUX: "Linux x86_64", CHROMEOS: "Linux x86_64"}

# (width, height, devicePixelRatio, share) in CSS px; StatCounter 2024 resolutions per class.
_SCREENS = {
    IPHONE: [(390, 844, 3, 25), (393, 852, 3, 20), (430, 932, 3, 14), (375, 812, 3, 9), (414, 896, 2, 9),
             (428, 926, 3, 9), (375, 667, 2, 9), (402, 874, 3, 5)],
    IPAD: [(820, 1180, 2, 35), (810, 1080, 2, 30), (768, 1024, 2, 15), (1024, 1366, 2, 20)],
    ANDROID: [(412, 915, 2.625, 25), (360, 800, 3, 20), (393, 873, 2.75, 12), (384, 854, 2.8125, 10),
              (412, 892, 2.625, 10), (360, 780, 3, 8), (432, 960, 2.5, 8), (393, 851, 2.75, 7)],
    ANDROID_TAB: [(800, 1280, 1.5, 40), (962, 601, 2, 30), (1138, 712, 2.25, 30)],
    WINDOWS: [(1920, 1080, 1, 34), (1536, 864, 1.25, 16), (1366, 768, 1, 12), (1280, 720, 1.5, 8),
              (1440, 900, 1, 6), (2560, 1440, 1, 8), (1600, 900, 1, 5), (1280, 800, 1.5, 4),
              (1680, 1050, 1, 3), (1280, 1024, 1, 2), (1745, 982, 1.1, 2)],
    MAC: [(1440, 900, 2, 30), (1512, 982, 2, 20), (1728, 1117, 2, 12), (1280, 800, 2, 10),
          (1470, 956, 2, 12), (1920, 1080, 1, 8), (2560, 1440, 1, 8)],
    LINUX: [(1920, 1080, 1, 60), (1366, 768, 1, 15), (2560, 1440, 1, 15), (1280, 800, 1, 10)],
    CHROMEOS: [(1366, 768, 1, 40), (1536, 864, 1.25, 30), (1280, 720, 1.5, 30)],
}
# Pixels the OS takes from the screen (taskbar, menu bar); avail_screen = screen minus this.
_TASKBAR = {WINDOWS: (40, 48), MAC: (25, 38), LINUX: (27, 32), CHROMEOS: (48, 48)}

# navigator.hardwareConcurrency (values, shares); Safari on iOS reports the real core count.
_CORES = {
    IPHONE: ([4, 6], [30, 70]), IPAD: ([4, 6, 8], [20, 40, 40]), ANDROID: ([8, 6, 4], [80, 8, 12]),
    ANDROID_TAB: ([8, 4], [70, 30]), WINDOWS: ([4, 8, 12, 16, 6, 2, 20], [18, 33, 16, 18, 6, 3, 6]),
    MAC: ([8, 10, 12, 4, 16], [45, 20, 20, 5, 10]), LINUX: ([4, 8, 12, 16, 2], [20, 35, 15, 20, 10]),
    CHROMEOS: ([2, 4, 8], [20, 60, 20]),
}
# navigator.deviceMemory (Chromium only; rounded and capped at 8 GiB by the browser).
_MEMORY = {
    ANDROID: ([4, 8, 2], [40, 50, 10]), ANDROID_TAB: ([4, 2, 8], [50, 30, 20]),
    WINDOWS: ([8, 4, 2], [75, 20, 5]), MAC: ([8], [100]), LINUX: ([8, 4, 2], [70, 20, 10]),
    CHROMEOS: ([4, 8, 2], [60, 20, 20]), IPHONE: ([8], [100]), IPAD: ([8], [100]),
}
# Unmasked WebGL (vendor, renderer, share) as Chromium reports it through ANGLE.
_GPUS = {
    WINDOWS: [
        ("Google Inc. (Intel)", "ANGLE (Intel, Intel(R) UHD Graphics 620 Direct3D11 vs_5_0 ps_5_0, D3D11)", 14),
        ("Google Inc. (Intel)", "ANGLE (Intel, Intel(R) Iris(R) Xe Graphics Direct3D11 vs_5_0 ps_5_0, D3D11)", 14),
        ("Google Inc. (Intel)", "ANGLE (Intel, Intel(R) UHD Graphics Direct3D11 vs_5_0 ps_5_0, D3D11)", 10),
        ("Google Inc. (NVIDIA)", "ANGLE (NVIDIA, NVIDIA GeForce RTX 3060 Direct3D11 vs_5_0 ps_5_0, D3D11)", 8),
        ("Google Inc. (NVIDIA)", "ANGLE (NVIDIA, NVIDIA GeForce GTX 1650 Direct3D11 vs_5_0 ps_5_0, D3D11)", 7),
        ("Google Inc. (NVIDIA)", "ANGLE (NVIDIA, NVIDIA GeForce RTX 4060 Direct3D11 vs_5_0 ps_5_0, D3D11)", 5),
        ("Google Inc. (NVIDIA)", "ANGLE (NVIDIA, NVIDIA GeForce GTX 1060 6GB Direct3D11 vs_5_0 ps_5_0, D3D11)", 4),
        ("Google Inc. (AMD)", "ANGLE (AMD, AMD Radeon(TM) Graphics Direct3D11 vs_5_0 ps_5_0, D3D11)", 10),
        ("Google Inc. (AMD)", "ANGLE (AMD, AMD Radeon RX 6600 Direct3D11 vs_5_0 ps_5_0, D3D11)", 4),
        ("Google Inc. (Intel)", "ANGLE (Intel, Intel(R) HD Graphics 520 Direct3D11 vs_5_0 ps_5_0, D3D11)", 6),
        # Blocklisted or missing GPU drivers and remote desktops fall back to software rendering.
        ("Google Inc. (Google)", "ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero) (0x0000C0DE)), "
         "SwiftShader driver)", 0.6),
        ("Google Inc. (Microsoft)", "ANGLE (Microsoft, Microsoft Basic Render Driver Direct3D11 vs_5_0 ps_5_0, D3D11)",
         0.6),
    ],
    MAC: [
        ("Google Inc. (Apple)", "ANGLE (Apple, ANGLE Metal Renderer: Apple M1, Unspecified Version)", 30),
        ("Google Inc. (Apple)", "ANGLE (Apple, ANGLE Metal Renderer: Apple M2, Unspecified Version)", 25),
        ("Google Inc. (Apple)", "ANGLE (Apple, ANGLE Metal Renderer: Apple M3, Unspecified Version)", 15),
        ("Google Inc. (Apple)", "ANGLE (Apple, ANGLE Metal Renderer: Apple M1 Pro, Unspecified Version)", 10),
        ("Google Inc. (Intel Inc.)", "ANGLE (Intel Inc., Intel(R) Iris(TM) Plus Graphics OpenGL Engine, OpenGL 4.1)",
         12),
        ("Google Inc. (ATI Technologies Inc.)", "ANGLE (ATI Technologies Inc., AMD Radeon Pro 5500M OpenGL Engine, "
         "OpenGL 4.1)", 8),
    ],
    LINUX: [
        ("Google Inc. (Intel)", "ANGLE (Intel, Mesa Intel(R) UHD Graphics 620 (KBL GT2), OpenGL 4.6)", 35),
        ("Google Inc. (NVIDIA Corporation)", "ANGLE (NVIDIA Corporation, NVIDIA GeForce GTX 1660/PCIe/SSE2, "
         "OpenGL 4.5.0)", 25),
        ("Google Inc. (AMD)", "ANGLE (AMD, AMD Radeon Graphics (radeonsi, renoir, LLVM 15.0.7), OpenGL 4.6)", 25),
        # Linux desktops in VMs and without drivers render in software: an honest llvmpipe minority.
        ("Google Inc. (Mesa)", "ANGLE (Mesa, llvmpipe (LLVM 15.0.7, 256 bits), OpenGL 4.5)", 8),
    ],
    CHROMEOS: [
        ("Google Inc. (Intel)", "ANGLE (Intel, Mesa Intel(R) UHD Graphics 600 (GLK 2), OpenGL ES 3.2)", 50),
        ("Google Inc. (ARM)", "ANGLE (ARM, Mali-G72, OpenGL ES 3.2)", 25),
        ("Google Inc. (AMD)", "ANGLE (AMD, AMD Radeon Graphics (radeonsi, stoney), OpenGL ES 3.2)", 25),
    ],
    ANDROID: [
        ("Qualcomm", "Adreno (TM) 610", 14), ("Qualcomm", "Adreno (TM) 619", 12), ("Qualcomm", "Adreno (TM) 650", 8),
        ("Qualcomm", "Adreno (TM) 730", 8), ("Qualcomm", "Adreno (TM) 740", 6), ("ARM", "Mali-G57 MC2", 14),
        ("ARM", "Mali-G52 MC2", 10), ("ARM", "Mali-G78 MP14", 6), ("ARM", "Mali-G68 MC4", 8),
        ("Imagination Technologies", "PowerVR Rogue GE8320", 8), ("Samsung Electronics Co., Ltd.", "Samsung Xclipse 920",
                                                                   6),
    ],
    ANDROID_TAB: [("Qualcomm", "Adreno (TM) 610", 40), ("ARM", "Mali-G52 MC2", 40),
                  ("Imagination Technologies", "PowerVR Rogue GE8320", 20)],
    IPHONE: [("Apple Inc.", "Apple GPU", 100)],
    IPAD: [("Apple Inc.", "Apple GPU", 100)],
}
# Share of the class with a battery the Battery Status API can see (laptops, every phone).
_BATTERY_SHARE = {ANDROID: 1.0, ANDROID_TAB: 1.0, WINDOWS: 0.55, MAC: 0.7, LINUX: 0.5, CHROMEOS: 1.0}
# Windows laptops with touchscreens and iPads asking for desktop sites give honest touch oddities.
_TOUCH = {IPHONE: ([5], [1]), IPAD: ([5], [1]), ANDROID: ([5, 10], [80, 20]), ANDROID_TAB: ([10, 5], [60, 40]),
          WINDOWS: ([0, 10], [88, 12]), MAC: ([0], [1]), LINUX: ([0, 10], [96, 4]), CHROMEOS: ([0, 10], [60, 40])}


# One GPU vocabulary for every block, so device draws of different rows share codes.
GPU_VENDORS: tuple[str, ...] = tuple(g[0] for c in range(len(CATEGORIES)) for g in _GPUS[c]) + ("Mozilla", "Apple Inc.")
GPU_RENDERERS: tuple[str, ...] = tuple(g[1] for c in range(len(CATEGORIES)) for g in _GPUS[c]) + ("Apple GPU",)
_GPU_OFFSET = np.cumsum([0] + [len(_GPUS[c]) for c in range(len(CATEGORIES))])


@dataclass(frozen=True)
class UACatalogue:
    """The user-agent distribution, one entry per distinct UA string.

    Attributes
    ----------
    ua : list of str, length k
    weight : ndarray of shape (k,)
        Share of traffic (sums to 1).
    category : ndarray of shape (k,)
        Index into ``CATEGORIES``.
    engine : ndarray of shape (k,)
        Index into ``ENGINES``.
    platform : list of str, length k
        navigator.platform consistent with the UA's OS.
    browser : list of str, length k
    """

    ua: list
    weight: np.ndarray
    category: np.ndarray
    engine: np.ndarray
    platform: list
    browser: list


def _category(row: dict) -> int | None:
    os_, typ = row.get("os"), row.get("type")
    if os_ == "iOS":
        return IPAD if typ == "tablet" or "iPad" in row["useragent"] else IPHONE
    if os_ == "Android":
        return ANDROID_TAB if typ == "tablet" else ANDROID
    return {"Windows": WINDOWS, "Mac OS X": MAC, "Linux": LINUX, "Ubuntu": LINUX, "Chrome OS": CHROMEOS}.get(os_)


def _engine(row: dict, category: int) -> int:
    if category in (IPHONE, IPAD):
        return WEBKIT  # every iOS browser is WebKit
    browser = row.get("browser", "")
    if "Firefox" in browser:
        return GECKO
    if browser in ("Safari", "Apple Mail"):
        return WEBKIT
    return CHROMIUM


@functools.cache
def ua_catalogue() -> UACatalogue:
    """Load and aggregate ``fake_useragent/data/browsers.jsonl`` (cached; about 7,000 lines)."""
    text = importlib.resources.files("fake_useragent").joinpath("data/browsers.jsonl").read_text()
    agg: dict[str, list] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        cat = _category(row)
        # Skip crawlers, in-app webviews with missing fields and UAs the file saw on a platform that
        # contradicts them (devtools device emulation): honest people get a consistent platform.
        if cat is None or "bot" in row["useragent"].lower():
            continue
        entry = agg.setdefault(row["useragent"], [0.0, cat, _engine(row, cat), row.get("browser", "")])
        entry[0] += float(row.get("percent", 0.0))
    ua = sorted(agg)
    weight = np.array([agg[u][0] for u in ua])
    return UACatalogue(
        ua=ua,
        weight=weight / weight.sum(),
        category=np.array([agg[u][1] for u in ua], dtype=np.int8),
        engine=np.array([agg[u][2] for u in ua], dtype=np.int8),
        platform=[_PLATFORM[agg[u][1]] for u in ua],
        browser=[agg[u][3] for u in ua],
    )


def _normalised(weights) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return p / p.sum()


@functools.cache
def _category_tables(c: int) -> dict:
    """Per device class: (values, choice table) of each hardware attribute, built once."""
    screens = np.array(_SCREENS[c], dtype=float)
    tables = {
        "screen": (screens, choice_cdf(screens[:, 3] / screens[:, 3].sum())),
        "cores": (np.asarray(_CORES[c][0]), choice_cdf(_normalised(_CORES[c][1]))),
        "memory": (np.asarray(_MEMORY[c][0]), choice_cdf(_normalised(_MEMORY[c][1]))),
        "touch": (np.asarray(_TOUCH[c][0]), choice_cdf(_normalised(_TOUCH[c][1]))),
        "gpu": (np.arange(len(_GPUS[c])), choice_cdf(_normalised([g[2] for g in _GPUS[c]]))),
    }
    if c in _TASKBAR:
        tables["taskbar"] = (np.asarray(_TASKBAR[c]), choice_cdf(_normalised([70, 30])))
    return tables


def _choice(rng: np.random.Generator, table: tuple, size: int) -> np.ndarray:
    """Values drawn by weight: ``values[rng.choice(len(p), size, p=p)]`` from a ``(values, cdf)`` table."""
    values, cdf = table
    return values[weighted_choice(rng, cdf, size)]


@functools.cache
def _ua_cdf() -> np.ndarray:
    return choice_cdf(ua_catalogue().weight)


@dataclass
class Devices:
    """Device attributes of a block, one entry per row (mutable: attack families rewrite it).

    Numeric arrays have shape (n,); NaN / -1 mean "not reported" (e.g. deviceMemory outside
    Chromium, battery outside Chromium).
    """

    ua_index: np.ndarray
    category: np.ndarray
    engine: np.ndarray
    user_agent: Coded
    platform: Coded
    screen_w: np.ndarray
    screen_h: np.ndarray
    avail_w: np.ndarray
    avail_h: np.ndarray
    color_depth: np.ndarray
    pixel_ratio: np.ndarray
    cores: np.ndarray
    memory_gb: np.ndarray
    touch_points: np.ndarray
    webgl_vendor: Coded
    webgl_renderer: Coded
    gpu_code: np.ndarray
    n_plugins: np.ndarray
    webdriver: np.ndarray
    cookies_enabled: np.ndarray
    battery_level: np.ndarray
    battery_charging: np.ndarray
    connection: Coded
    fonts_bucket: np.ndarray
    hw_seed: np.ndarray

    @property
    def n(self) -> int:
        return len(self.category)

    @property
    def is_touch_device(self) -> np.ndarray:
        """Rows whose device is a phone or tablet (pointer input is touch)."""
        return np.isin(self.category, MOBILE_CATEGORIES)


def draw_devices(rng: np.random.Generator, n: int, ua_rows: np.ndarray | None = None) -> Devices:
    """Draw ``n`` honest devices, each consistent with its user agent.

    Parameters
    ----------
    rng : numpy.random.Generator
    n : int
    ua_rows : ndarray of shape (n,), optional
        Catalogue indices to use instead of drawing from the traffic shares.
    """
    cat_ = ua_catalogue()
    idx = weighted_choice(rng, _ua_cdf(), n) if ua_rows is None else np.asarray(ua_rows)
    category = cat_.category[idx].astype(np.int64)
    engine = cat_.engine[idx].astype(np.int64)
    sw = np.zeros(n)
    sh = np.zeros(n)
    dpr = np.ones(n)
    cores = np.zeros(n)
    memory = np.full(n, np.nan)
    touch = np.zeros(n)
    taskbar = np.zeros(n)
    gpu = np.zeros(n, dtype=np.int64)
    has_battery = np.zeros(n, dtype=bool)
    for c in range(len(CATEGORIES)):
        rows = np.flatnonzero(category == c)
        if rows.size == 0:
            continue
        tables = _category_tables(c)
        picked = _choice(rng, tables["screen"], rows.size)
        sw[rows], sh[rows], dpr[rows] = picked[:, 0], picked[:, 1], picked[:, 2]
        cores[rows] = _choice(rng, tables["cores"], rows.size)
        memory[rows] = _choice(rng, tables["memory"], rows.size)
        touch[rows] = _choice(rng, tables["touch"], rows.size)
        if c in _TASKBAR:
            taskbar[rows] = _choice(rng, tables["taskbar"], rows.size)
        gpu[rows] = _GPU_OFFSET[c] + _choice(rng, tables["gpu"], rows.size)
        has_battery[rows] = rng.random(rows.size) < _BATTERY_SHARE.get(c, 0.0)
    # Desktop users who shrink the window do not change avail_screen, but some OS scalings do.
    avail_w = sw.copy()
    avail_h = sh - taskbar
    chromium = engine == CHROMIUM
    gecko = engine == GECKO
    webkit = engine == WEBKIT
    memory[~chromium] = np.nan  # deviceMemory is a Chromium-only API
    # Firefox masks the renderer vendor; Safari reports a generic Apple GPU everywhere.
    vendor = Coded(gpu.copy(), list(GPU_VENDORS))
    renderer = Coded(gpu.copy(), list(GPU_RENDERERS))
    vendor.codes[gecko] = vendor.code_of("Mozilla")
    vendor.codes[webkit] = vendor.code_of("Apple Inc.")
    renderer.codes[webkit] = renderer.code_of("Apple GPU")
    # Battery Status API: Chromium only. Desktops without a battery report 100 % and charging.
    level = np.full(n, np.nan)
    charging = np.zeros(n, dtype=np.int8) - 1
    battery_rows = chromium
    level[battery_rows] = 1.0
    charging[battery_rows] = 1
    on_battery = battery_rows & has_battery
    k = int(on_battery.sum())
    lv = np.clip(rng.beta(2.2, 1.3, size=k), 0.01, 1.0)
    ch = rng.random(k) < np.where(np.isin(category[on_battery], MOBILE_CATEGORIES), 0.22, 0.45)
    # Plugged-in devices sit at full charge a good part of the time.
    lv = np.where(ch & (rng.random(k) < 0.35), 1.0, np.round(lv, 2))
    level[on_battery] = lv
    charging[on_battery] = ch
    mobile = np.isin(category, MOBILE_CATEGORIES)
    connection = Coded(np.full(n, -1), ["4g", "3g", "wifi"])
    # Network Information API is Chromium-only; effectiveType is "4g" on nearly every connection.
    connection.codes[chromium] = np.where(rng.random(int(chromium.sum())) < 0.94, 0, 1)
    platform = Coded(np.asarray(idx, dtype=np.int64).copy(), list(cat_.platform))
    return Devices(
        ua_index=np.asarray(idx),
        category=category,
        engine=engine,
        user_agent=Coded(np.asarray(idx, dtype=np.int64).copy(), list(cat_.ua)),
        platform=platform,
        screen_w=sw, screen_h=sh, avail_w=avail_w, avail_h=avail_h,
        color_depth=np.where(rng.random(n) < 0.97, 24.0, 30.0),
        pixel_ratio=dpr,
        cores=cores,
        memory_gb=memory,
        touch_points=touch,
        webgl_vendor=vendor,
        webgl_renderer=renderer,
        gpu_code=gpu,
        n_plugins=np.where(mobile, 0, len(STANDARD_PLUGINS)).astype(np.int64),
        webdriver=np.zeros(n, dtype=bool),
        cookies_enabled=rng.random(n) < 0.995,
        battery_level=level,
        battery_charging=charging,
        connection=connection,
        fonts_bucket=np.where(mobile, 0, rng.integers(1, 200, size=n)),
        hw_seed=rng.integers(0, 2**62, size=n),
    )


def fingerprint_hashes(d: Devices) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Canvas, audio and fonts hashes, each shape (n,) uint64.

    Canvas output depends on GPU, OS and browser engine, so identical phones share it; audio on
    the engine and OS; fonts on the OS and what the user installed (``fonts_bucket``).
    """
    canvas = mix64(d.category, d.engine, d.gpu_code, d.webgl_renderer.codes)
    audio = mix64(d.category, d.engine, np.full(d.n, 7))
    fonts = mix64(d.category, d.fonts_bucket, np.full(d.n, 11))
    return canvas, audio, fonts


def copy_devices(dst: Devices, rows: np.ndarray, src: Devices, src_rows: np.ndarray | None = None) -> None:
    """Overwrite ``dst`` at ``rows`` with ``src`` (at ``src_rows``); both drawn by :func:`draw_devices`."""
    take = slice(None) if src_rows is None else src_rows
    for name in Devices.__dataclass_fields__:
        a, b = getattr(dst, name), getattr(src, name)
        if isinstance(a, Coded):
            codes = b.codes[take].copy()
            if not (b.vocab is a.vocab or a.vocab[: len(b.vocab)] == b.vocab):
                # Vocabularies diverged (an attack appended strings): map through the strings.
                codes = np.array([a.code_of(b.vocab[c]) if c >= 0 else -1 for c in codes], dtype=np.int64)
            a.codes[rows] = codes
        else:
            a[rows] = b[take]


def ua_rows_where(mask: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    """Catalogue indices drawn by traffic share among entries where ``mask`` holds, shape (size,)."""
    cat = ua_catalogue()
    w = np.where(mask, cat.weight, 0.0)
    return weighted_choice(rng, choice_cdf(w / w.sum()), size)
