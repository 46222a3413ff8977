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

From then on the collector's full collections are rare (``FULL_COLLECTION_EVERY``). A
full collection traverses every tracked object of the process (policy memos, the
quarantine book, events waiting for current state, the pass log): about 60 ms in a
bench worker with 175,000 of them, and longer as the worker learns more subjects. By
Python's default (one every ten young-generation collections, once the objects that
survived into the old generation since the last are a quarter of it) a worker holding
children's events for ``state_lateness`` ran one every 1.2 s under live traffic, and
that pause set the adults' p99 latency (82 ms; 40 ms with this setting, same build,
``wardstream bench --rows fast-alo``). The worker's own records form no reference
cycles, so reference counting frees them; only cyclic garbage (from libraries) waits
longer for its collection.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Iterator
from contextlib import contextmanager

FULL_COLLECTION_EVERY = 1000
"""Middle-generation collections between two full ones once running (Python: 10); at a
busy worker's allocation rate about one full collection every two minutes."""


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
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)
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
