"""Giving freed memory back to the system after a large, short-lived allocation."""

from __future__ import annotations

import functools


def give_back_freed_memory() -> None:
    """Return the C heap's freed pages to the system (glibc's ``malloc_trim``; nothing where the
    C library has none). Without it, the freed token matrices of each slice of a long document
    stay in the process, fragmented, and its size grows with every slice."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim():
    import ctypes
    import ctypes.util

    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None
