"""Device family: does the device look real and consistent, or automated or emulated?

Signals from the fingerprinting literature (Vastel et al. 2020 on headless/inconsistent
fingerprints): the automation flag, headless and crawler user agents, software WebGL renderers
(SwiftShader, llvmpipe) and emulator GPUs, no plugins or languages, a UA that claims a phone on
hardware without touch, a platform string from another OS, and a battery that is always full.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from fraudscore.features._unique import isin, per_unique
from fraudscore.features.context import FeatureContext
from fraudscore.features.registry import register

__all__: list[str] = []

_SOFTWARE_RENDERER = r"swiftshader|llvmpipe|softpipe|software|mesa offscreen|microsoft basic render"
_EMULATOR_RENDERER = r"emulator|android sdk|gfxstream|translator|bluestacks|virtualbox|vmware|parallels"
#: navigator.platform prefixes each OS family reports (iPadOS reports MacIntel on purpose).
_PLATFORMS = {
    "Windows": ("win",), "Mac OS X": ("mac",), "iOS": ("iphone", "ipad", "ipod", "mac"),
    "Android": ("linux arm", "linux aarch", "android", "linux armv", "linux i686", "linux x86_64"),
    "Linux": ("linux",), "Ubuntu": ("linux",), "Fedora": ("linux",), "Chrome OS": ("linux", "cros"),
}


def _contains(values: np.ndarray, pattern: str) -> np.ndarray:
    """Case-insensitive regex search per row: 1.0 / 0.0, NaN where the text is missing."""
    regex = re.compile(pattern, re.IGNORECASE)
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
    b = ctx.batch
    device_class = ctx.ua.device_class
    known_class = isin(device_class, ["desktop", "phone", "tablet"])
    mobile = isin(device_class, ["phone", "tablet"])
    touch = b.column("device.touch_points")
    touch_known = known_class & ~np.isnan(touch)
    mobile_os = isin(ctx.ua.os_family, ["iOS", "Android"])
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
