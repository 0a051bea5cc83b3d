"""History family: how often this device, cookie, network, respondent and text were seen before.

Duplicates and velocity are where incentive fraud pays: the same device or link answering again,
one respondent on many devices, one device for many respondents, the same open text pasted by a
farm. The counts come from a history store (:mod:`fraudscore.history`), observed for the batch
before features are computed; without a store the columns are NaN (unknown), never 0.
"""

from __future__ import annotations

import numpy as np

from fraudscore.features.context import FeatureContext
from fraudscore.features.registry import register

__all__ = ["HISTORY_COLUMNS"]

_WINDOWS = {"1h": "in the last hour", "24h": "in the last 24 hours", "survey": "in this survey"}
_KINDS_USAGE = {"device": "device id", "link": "linked device", "cookie": "cookie", "ip": "IP address",
                "ip_prefix": "IP network (/24 or /48)"}
_KINDS_NONE = {"respondent": "respondent id", "text": "normalised open text"}


def _columns(kinds: dict) -> list[tuple[str, str]]:
    return [(f"prior_{kind}_{window}", f"earlier submissions with the same {label} {span}")
            for kind, label in kinds.items() for window, span in _WINDOWS.items()]


_USAGE_FEATURES = _columns(_KINDS_USAGE) + [
    ("respondents_per_device", "distinct respondents on this device id, this submission included (1 = clean)"),
    ("respondents_per_link", "distinct respondents on this linked device, this submission included"),
]
_NONE_FEATURES = _columns(_KINDS_NONE) + [
    ("devices_per_respondent", "distinct device ids of this respondent, this submission included"),
]
#: History store columns read by this family.
HISTORY_COLUMNS = tuple(name for name, _ in _USAGE_FEATURES + _NONE_FEATURES)


def _read(ctx: FeatureContext, names) -> dict:
    if ctx.history is None:
        unknown = np.empty(ctx.n)
        unknown.fill(np.nan)
        unknown.flags.writeable = False  # one column shared by every feature of the group
        return {f"history.{name}": unknown for name, _ in names}
    if len(ctx.history) != ctx.n:
        raise ValueError(f"history counts have {len(ctx.history)} rows for a batch of {ctx.n}")
    return {f"history.{name}": ctx.history[name].astype(np.float64) for name, _ in names}


@register("device_history", "history", "usage", _USAGE_FEATURES)
def device_history(ctx: FeatureContext, state) -> dict:
    return _read(ctx, _USAGE_FEATURES)


@register("respondent_history", "history", "none", _NONE_FEATURES)
def respondent_history(ctx: FeatureContext, state) -> dict:
    return _read(ctx, _NONE_FEATURES)
