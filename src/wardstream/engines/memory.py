"""The process's memory around the state's first read.

A worker's first read of the state topics allocates millions of short-lived
records (and holds thousands at a time on their way to the store), none of them
in a reference cycle. While it lasts (``first_read_begins``): what start-up built
moves out of the cyclic collector's sight (``gc.freeze``), and the collector
pauses, since its collections, triggered by those allocations, would traverse
every record held each time (a fifth of a full read's CPU at ten million
subjects). Once it is done (``first_read_done``): the collector runs again, and
the memory the read freed, which the allocator keeps in its free lists where it
still counts against the worker's memory limit (at a million subjects about as
much as the state itself), goes back to the system: glibc's ``malloc_trim``;
elsewhere (musl, macOS) nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """``first_read_begins`` for a bulk load that ends with the block (a snapshot's)."""
    was = gc.isenabled()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def first_read_begins() -> None:
    gc.freeze()
    gc.disable()


def first_read_done() -> None:
    gc.enable()
    give_back()


def give_back() -> None:
    """Return the allocator's free memory to the system, where the C library can."""
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        trim = None
    if trim is not None:
        trim(0)
