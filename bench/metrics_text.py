"""Reading the app's Prometheus exposition (`/api/metrics`) in the benches: push latency above all.

`push_latency(before, after)` is what the live and load benches print next to
the latency their pages measured: the server's own view (an event's
publication to its push applied in the app process), from the difference of
two scrapes of `imgapp_push_latency_seconds`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

_SAMPLE = re.compile(r"^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def samples(exposition: str, name: str) -> list[tuple[dict[str, str], float]]:
    """Every sample of metric `name` (a full sample name: `..._bucket`), with its labels."""
    found = []
    for line in exposition.splitlines():
        match = _SAMPLE.match(line)
        if match and match.group(1) == name:
            labels = dict(_LABEL.findall(match.group(2) or ""))
            found.append((labels, float(match.group(3))))
    return found


def buckets(exposition: str, histogram: str) -> dict[float, float]:
    """Cumulative count per upper bound (`le`), summed over any other labels."""
    counts: Counter[float] = Counter()
    for labels, value in samples(exposition, histogram + "_bucket"):
        counts[float(labels["le"])] += value
    return dict(counts)


def quantile(counts: dict[float, float], q: float) -> float | None:
    """As PromQL's histogram_quantile: linear inside the bucket; None without observations."""
    bounds = sorted(counts)
    if not bounds or counts[bounds[-1]] <= 0:
        return None
    rank = q * counts[bounds[-1]]
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = counts[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower  # beyond the largest finite bucket: its bound is all we know
            return lower + (bound - lower) * (rank - below) / max(count - below, 1e-12)
        lower, below = bound, count
    return lower


def push_latency(before: str, after: str) -> dict[str, Any]:
    """The timed phase's push latencies: the histogram's difference, p50/p95 interpolated."""
    start = buckets(before, "imgapp_push_latency_seconds")
    end = buckets(after, "imgapp_push_latency_seconds")
    phase = {bound: end[bound] - start.get(bound, 0.0) for bound in end}
    p50, p95 = quantile(phase, 0.5), quantile(phase, 0.95)
    return {
        "pushes": int(phase.get(math.inf, 0)),
        "p50_ms": None if p50 is None else round(p50 * 1000, 1),
        "p95_ms": None if p95 is None else round(p95 * 1000, 1),
    }
