"""The garbage collector during a long piece of work that keeps what it makes (an import's rows and models)."""

import contextlib
import gc
import threading

# Objects allocated (less those freed) between two collections of the youngest generation while ``collected_rarely``
# holds: Python's default is 700.
RARELY = 50_000

_lock = threading.Lock()
_holders = 0
_threshold_before: tuple[int, ...] = ()


@contextlib.contextmanager
def collected_rarely():
    """Collect the youngest generation every ``RARELY`` allocations rather than every 700, for the duration.

    An import holds every row it read and every model it built until it ends: hundreds of thousands of objects that
    are garbage to no one. With the default threshold the collector ran a full collection each time the heap had
    grown by a quarter, walking all of them again: 14-16 full collections and 2.8-3.4 s of the demo's import into an
    empty database on SQLite (15.8-18.4 s), 10 and 3 s of importing it again (issue 15). Raised, it runs no full
    collection, the peak memory is the same, and garbage in cycles is still collected. The threshold is the
    process's: nested or concurrent holders (two imports in two threads) share one change, undone when the last one
    leaves."""
    global _holders, _threshold_before
    with _lock:
        if _holders == 0:
            _threshold_before = gc.get_threshold()
            gc.set_threshold(RARELY, *_threshold_before[1:])
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0:
                gc.set_threshold(*_threshold_before)
