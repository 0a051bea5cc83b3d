"""Shared timing helpers for the benchmark suite.

Gates compare two measurements taken in the same run (ours vs a reference on the same input),
never an absolute time: the machines are shared and noisy. ``best_of`` takes the minimum of
several repeats because noise only ever adds time.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable

__all__ = ["best_of", "quick_mode", "machine", "emit"]


def quick_mode() -> bool:
    """True under pytest/CI (small inputs); ``FRAUDSCORE_BENCH_FULL=1`` asks for full sizes."""
    return os.environ.get("FRAUDSCORE_BENCH_FULL", "") != "1"


def best_of(fn: Callable[[], object], repeat: int = 5, number: int = 1) -> float:
    """Best wall-clock seconds of one call of ``fn`` over ``repeat`` rounds of ``number`` calls."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def best_cpu(fn: Callable[[], object], repeat: int = 5) -> float:
    """Best process CPU seconds of one call of ``fn`` over ``repeat`` calls.

    CPU time of this process is less moved than wall time by other work sharing the cores.
    """
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def machine() -> dict:
    """What the figures were measured on."""
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
    }


def emit(name: str, figures: dict) -> dict:
    """Print one benchmark's figures as a JSON line (collected by ``fraudscore bench``) and return them."""
    record = {"benchmark": name, **figures, "machine": machine()}
    print(json.dumps(record, default=float))
    return record
