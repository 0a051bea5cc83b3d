"""Keep freed memory in the process: the C allocator's tuning for batch scoring.

numpy takes every array from the C library's ``malloc``. glibc hands the top of its heap back to
the operating system once more than ``M_TRIM_THRESHOLD`` of it is free (128 KiB, raised to twice
the largest mapped block freed so far, at most 64 MiB), and the feature stage frees a dozen
block-sized temporaries (0.3-1 MB each) after every block of ~64k pointer events. So blocks
fault their scratch pages back in from the kernel, zero-filled: up to 4,600 page faults per
20k-row ``transform`` (how many depends on what the process allocated before) and ~14,000 per
100k-row one, which cost up to 19 % and 5 % of its time on this project's virtual machine
(benchmarks/README.md, "Retaining freed memory").

:func:`retain_freed_memory` raises the trim threshold and fixes the mmap threshold, so that freed
memory stays in the heap for the next block. It changes ``malloc`` for everything in the process,
so the library never calls it behind its caller's back: the ``fraudscore`` command calls it for
itself, and a service opts in. The cost is memory: up to ``trim_threshold`` of freed heap stays
resident.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys

__all__ = ["retain_freed_memory"]

#: ``mallopt`` parameters (glibc's malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
#: The largest mmap threshold glibc accepts on 64-bit systems (``HEAP_MAX_SIZE / 2``), and the default.
MMAP_THRESHOLD_MAX = 32 << 20
#: Freed heap kept by default (:func:`retain_freed_memory`, and in Dask workers).
TRIM_THRESHOLD = 256 << 20
#: Environment variables through which an operator has already chosen malloc's thresholds.
_OPERATOR_SETTINGS = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES")


def retain_freed_memory(trim_threshold: int = TRIM_THRESHOLD, mmap_threshold: int = MMAP_THRESHOLD_MAX, *,
                        override_environment: bool = False) -> bool:
    """Keep up to ``trim_threshold`` bytes of freed heap in the process (glibc only).

    Allocations under ``mmap_threshold`` come from the heap and their memory is reused instead of
    being returned to the operating system and faulted back in. Equivalent to starting the
    process with ``MALLOC_TRIM_THRESHOLD_`` and ``MALLOC_MMAP_THRESHOLD_`` set.

    Parameters
    ----------
    trim_threshold : int
        Free bytes at the top of the heap that glibc keeps (default 256 MiB).
    mmap_threshold : int
        Allocations of at least this many bytes are mapped on their own (at most 32 MiB, glibc's
        limit); larger arrays are returned to the system when freed.
    override_environment : bool
        Apply the setting even when the environment sets malloc's thresholds: for processes whose
        environment someone else chose, such as Dask workers (their nanny sets
        ``MALLOC_TRIM_THRESHOLD_``; see :func:`fraudscore.dask.retain_freed_memory_on_workers`).

    Returns
    -------
    bool
        Whether the setting was applied: ``False`` on a C library other than glibc (musl, macOS,
        Windows), and when the environment already sets malloc's thresholds (the operator's choice
        wins) unless ``override_environment``.
    """
    check_thresholds(trim_threshold, mmap_threshold)
    mallopt = _glibc_mallopt()
    if mallopt is None or (not override_environment and any(name in os.environ for name in _OPERATOR_SETTINGS)):
        return False
    # Setting either also ends glibc's dynamic adjustment of both (it moves them with the
    # largest mapped block freed so far), so the two values stay as set.
    return bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(mallopt(_M_TRIM_THRESHOLD, trim_threshold))


def check_thresholds(trim_threshold: int, mmap_threshold: int) -> None:
    """ValueError unless both thresholds are values ``mallopt`` takes."""
    if not 0 <= trim_threshold < 1 << 31 or not 0 <= mmap_threshold <= MMAP_THRESHOLD_MAX:
        raise ValueError(f"trim_threshold must be in [0, 2**31) and mmap_threshold in [0, {MMAP_THRESHOLD_MAX}]; "
                         f"got {trim_threshold} and {mmap_threshold}")


@functools.cache
def _glibc_mallopt():
    """glibc's ``mallopt``, or None (other C libraries have none, or one that ignores these)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # only glibc has it (musl's mallopt is a stub)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return None
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return mallopt
