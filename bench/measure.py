"""Measures the benchmarks share: the peak resident memory of a block of code."""

import json
import os
import threading
import time
from collections.abc import Callable


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


class PeakRss:
    """The peak resident memory during a block, in KiB: the kernel's high-water mark reset at the start (Linux), else
    the highest of samples taken every 5 ms."""

    def __enter__(self):
        self.start = _status_kib("VmRSS")
        try:
            with open("/proc/self/clear_refs", "w") as clear:
                clear.write("5")  # reset VmHWM to the current RSS
            self.kernel = True
        except OSError:
            self.kernel = False
        self.sampled = self.start
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self):
        while self.running:
            self.sampled = max(self.sampled, _status_kib("VmRSS"))
            time.sleep(0.005)

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()
        self.peak = _status_kib("VmHWM") if self.kernel else self.sampled
        return False


def in_child(measure: Callable[[], dict]) -> dict:
    """Run ``measure`` in a forked process that starts from this process's state (its database writes stay), and
    return what it returns (a dict that JSON can carry); an exception in the child is raised here."""
    from django.db import connections

    connections.close_all()  # the child opens its own connection
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_end)
        try:
            result = measure()
            connections.close_all()
        except Exception as error:  # reported by the parent
            result = {"error": repr(error)}
        with os.fdopen(write_end, "w") as pipe:
            pipe.write(json.dumps(result))
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    result = json.loads(data or '{"error": "the child died"}')
    if "error" in result:
        raise RuntimeError(result["error"])
    return result
