"""Wall time and peak resident memory per stage, for the benchmark scripts."""

from __future__ import annotations

import os
import resource
import threading
import time
from contextlib import contextmanager

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


class Stages:
    """Times stages and samples this process's RSS every 20 ms to report each stage's peak."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, float, float]] = []

    @contextmanager
    def stage(self, name: str):
        peak = [rss_bytes()]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.02):
                peak[0] = max(peak[0], rss_bytes())

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        start = time.perf_counter()
        try:
            yield
        finally:
            seconds = time.perf_counter() - start
            stop.set()
            thread.join()
            peak[0] = max(peak[0], rss_bytes())
            self.rows.append((name, seconds, peak[0] / 2**30))
            print(f"  {name:<28} {seconds:8.1f} s   peak RSS {peak[0] / 2**30:5.2f} GB", flush=True)

    def report(self, title: str) -> None:
        total = sum(r[1] for r in self.rows)
        peak = max(r[2] for r in self.rows)
        max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        print(f"{title}: total {total:.1f} s, peak RSS {peak:.2f} GB (ru_maxrss {max_rss:.2f} GB)")
