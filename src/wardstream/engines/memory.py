"""Memory freed during the state's first read goes back to the system.

A worker's first read of the state topics allocates and frees millions of
records and the client's fetch buffers; the allocator keeps what was freed in
its free lists, where it still counts against the worker's memory limit (at a
million subjects, about as much as the state itself). Once, after that read,
``give_back`` asks glibc to return it (``malloc_trim``); elsewhere (musl, macOS)
it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)


def give_back() -> None:
    """Return the allocator's free memory to the system, where the C library can."""
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        trim = None
    if trim is None:
        return
    trim(0)
    log.debug("freed memory returned to the system after the state's first read")
