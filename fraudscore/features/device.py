"""Device family: does the device look real and consistent, or automated or emulated?

Signals from the fingerprinting literature (Vastel et al. 2020 on headless/inconsistent
fingerprints): the automation flag, headless and crawler user agents, software WebGL renderers
(SwiftShader, llvmpipe) and emulator GPUs, no plugins or languages, a UA that claims a phone on
hardware without touch, a platform string from another OS, and a battery that is always full.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from fraudscore.features._unique import isin, per_unique
from fraudscore.features.context import FeatureContext
from fraudscore.features.registry import one_row_columns, register

__all__: list[str] = []

_SOFTWARE_RENDERER = re.compile(r"swiftshader|llvmpipe|softpipe|software|mesa offscreen|microsoft basic render",
                                re.IGNORECASE)
_EMULATOR_RENDERER = re.compile(r"emulator|android sdk|gfxstream|translator|bluestacks|virtualbox|vmware|parallels",
                                re.IGNORECASE)
_CLASSES = ("desktop", "phone", "tablet")
_MOBILE = ("phone", "tablet")
_MOBILE_OS = ("iOS", "Android")
#: navigator.platform prefixes each OS family reports (iPadOS reports MacIntel on purpose).
_PLATFORMS = {
    "Windows": ("win",), "Mac OS X": ("mac",), "iOS": ("iphone", "ipad", "ipod", "mac"),
    "Android": ("linux arm", "linux aarch", "android", "linux armv", "linux i686", "linux x86_64"),
    "Linux": ("linux",), "Ubuntu": ("linux",), "Fedora": ("linux",), "Chrome OS": ("linux", "cros"),
}


def _contains(values: np.ndarray, regex: re.Pattern) -> np.ndarray:
    """Regex search per row: 1.0 / 0.0, NaN where the text is missing."""
    return per_unique(lambda text: float(regex.search(text) is not None), values)


def _platform_mismatch(os_family: np.ndarray, platform: np.ndarray) -> np.ndarray:
    return per_unique(lambda os_name, plat: float(not plat.lower().startswith(_PLATFORMS[os_name])),
                      os_family, platform, mask=isin(os_family, list(_PLATFORMS)))


def _flag(values: np.ndarray) -> np.ndarray:
    return values.astype(np.float64)


@register("automation", "device", "usage", [
    ("webdriver", "navigator.webdriver is set (browser under automation)"),
    ("crawler_ua", "user agent of a known crawler, HTTP library or headless browser"),
    ("software_renderer", "WebGL renders in software (SwiftShader, llvmpipe): typical of headless browsers"),
    ("emulator_renderer", "WebGL renderer of an emulator or virtual machine"),
    ("plugins", "number of browser plugins reported"),
    ("languages", "number of navigator.languages entries (automation often reports none)"),
    ("cookies_disabled", "cookies are disabled"),
    ("no_cookie", "no first-party cookie id (cleared cookies or private window)"),
])
def automation(ctx: FeatureContext, state) -> dict:
    if ctx.n == 1:
        return _automation_one(ctx)
    b = ctx.batch
    renderer = b.column("device.webgl_renderer")
    cookies = b.column("device.cookies_enabled")
    ua_present = ctx.ua.present
    return {
        "device.webdriver": b.column("device.webdriver"),
        "device.crawler_ua": np.where(ua_present, _flag(ctx.ua.is_crawler), np.nan),
        "device.software_renderer": _contains(renderer, _SOFTWARE_RENDERER),
        "device.emulator_renderer": _contains(renderer, _EMULATOR_RENDERER),
        "device.plugins": b.column("device.plugins").lengths.astype(np.float64),
        "device.languages": b.column("device.languages").lengths.astype(np.float64),
        "device.cookies_disabled": np.where(np.isnan(cookies), np.nan, 1.0 - cookies),
        "device.no_cookie": pd.isna(b.column("device.cookie_id")).astype(np.float64),
    }


@register("consistency", "device", "usage", [
    ("mobile", "user agent says phone or tablet"),
    ("touch_mismatch", "a phone/tablet user agent on hardware with no touch points, or the reverse on iOS/Android"),
    ("platform_mismatch", "navigator.platform belongs to another OS than the user agent's"),
    ("screen_mismatch", "screen size impossible for the device class the user agent claims"),
    ("battery_full_charging", "battery at 100 % and charging (emulators and device farms)"),
    ("browser_major", "browser major version (automation stacks lag behind)"),
    ("hardware_concurrency", "logical CPU cores reported"),
    ("device_memory_gb", "device memory reported, GiB"),
    ("pixel_ratio", "devicePixelRatio"),
])
def consistency(ctx: FeatureContext, state) -> dict:
    if ctx.n == 1:
        return _consistency_one(ctx)
    b = ctx.batch
    device_class = ctx.ua.device_class
    known_class = isin(device_class, _CLASSES)
    mobile = isin(device_class, _MOBILE)
    touch = b.column("device.touch_points")
    touch_known = known_class & ~np.isnan(touch)
    mobile_os = isin(ctx.ua.os_family, _MOBILE_OS)
    touch_mismatch = np.where(touch_known, (mobile & (touch == 0)) | (mobile_os & (touch == 0)), np.nan)
    width = np.nanmax(b.column("device.screen"), axis=1, initial=-np.inf)
    width = np.where(np.isfinite(width), width, np.nan)
    with np.errstate(invalid="ignore"):
        screen_bad = (mobile & ((width > 1400) | (width < 240))) | ((device_class == "desktop") & (width < 600))
    level = b.column("device.battery.level")
    charging = b.column("device.battery.charging")
    with np.errstate(invalid="ignore"):
        full = np.where(np.isnan(level) | np.isnan(charging), np.nan, (level >= 1.0) & (charging == 1.0))
    return {
        "device.mobile": np.where(known_class, mobile, np.nan),
        "device.touch_mismatch": touch_mismatch,
        "device.platform_mismatch": _platform_mismatch(ctx.ua.os_family, b.column("device.platform")),
        "device.screen_mismatch": np.where(known_class & ~np.isnan(width), screen_bad, np.nan),
        "device.battery_full_charging": full,
        "device.browser_major": ctx.ua.browser_major,
        "device.hardware_concurrency": b.column("device.hardware_concurrency"),
        "device.device_memory_gb": b.column("device.device_memory_gb"),
        "device.pixel_ratio": b.column("device.pixel_ratio"),
    }


# ------------------------------------------------------------------------------ one row (score_one)

_AUTOMATION_COMPUTED = ("device.crawler_ua", "device.software_renderer", "device.emulator_renderer", "device.plugins",
                        "device.languages", "device.cookies_disabled", "device.no_cookie")
_CONSISTENCY_COMPUTED = ("device.mobile", "device.touch_mismatch", "device.platform_mismatch", "device.screen_mismatch",
                         "device.battery_full_charging")


def _automation_one(ctx: FeatureContext) -> dict:
    """:func:`automation` of a batch of one row: the same tests on the row's values (the text
    checks through :func:`per_unique`'s one-row path), one array for the computed columns."""
    b = ctx.batch
    renderer = b.column("device.webgl_renderer")
    cookies = float(b.column("device.cookies_enabled")[0])
    out = one_row_columns(_AUTOMATION_COMPUTED, [
        float(ctx.ua.is_crawler[0]) if ctx.ua.present[0] else math.nan,
        _contains(renderer, _SOFTWARE_RENDERER)[0],
        _contains(renderer, _EMULATOR_RENDERER)[0],
        b.column("device.plugins").lengths[0],
        b.column("device.languages").lengths[0],
        math.nan if cookies != cookies else 1.0 - cookies,
        bool(pd.isna(b.column("device.cookie_id")[0])),  # the cookie id column holds str or None
    ])
    out["device.webdriver"] = b.column("device.webdriver")
    return out


def _consistency_one(ctx: FeatureContext) -> dict:
    """:func:`consistency` of a batch of one row: its comparisons on the row's values as floats (a
    NaN compares false, as in the arrays), one array for the computed columns."""
    b = ctx.batch
    ua = ctx.ua
    device_class = ua.device_class
    known_class = bool(isin(device_class, _CLASSES)[0])
    mobile = bool(isin(device_class, _MOBILE)[0])
    touch = float(b.column("device.touch_points")[0])
    if known_class and touch == touch:
        touch_mismatch = touch == 0 and (mobile or bool(isin(ua.os_family, _MOBILE_OS)[0]))
    else:
        touch_mismatch = math.nan
    # np.nanmax(screen, initial=-inf), NaN unless finite
    width = max((v for v in b.column("device.screen")[0].tolist() if v == v), default=-math.inf)
    if known_class and math.isfinite(width):
        screen_mismatch = ((mobile and (width > 1400 or width < 240))
                           or (device_class[0] == "desktop" and width < 600))
    else:
        screen_mismatch = math.nan
    level = float(b.column("device.battery.level")[0])
    charging = float(b.column("device.battery.charging")[0])
    full = math.nan if level != level or charging != charging else level >= 1.0 and charging == 1.0
    out = one_row_columns(_CONSISTENCY_COMPUTED, [
        mobile if known_class else math.nan,
        touch_mismatch,
        _platform_mismatch(ua.os_family, b.column("device.platform"))[0],
        screen_mismatch,
        full,
    ])
    out["device.browser_major"] = ua.browser_major
    out["device.hardware_concurrency"] = b.column("device.hardware_concurrency")
    out["device.device_memory_gb"] = b.column("device.device_memory_gb")
    out["device.pixel_ratio"] = b.column("device.pixel_ratio")
    return out
