"""Process memory as Linux reports it: current RSS, and a peak RSS that can be reset per repetition.

Writing ``5`` to ``/proc/self/clear_refs`` resets ``VmHWM`` (the RSS high-water mark), so a worker
that runs several repetitions still reports each repetition's own peak. Elsewhere the lifetime
peak from ``getrusage`` is the fallback (then only the first repetition's figure is exact).
"""

from __future__ import annotations

import resource
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
MIB = 1024 * 1024


def _status_kib(field: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def current_rss() -> int:
    """Resident set size now, in bytes."""
    kib = _status_kib("VmRSS")
    if kib is None:
        return peak_rss()
    return kib * 1024


def peak_rss() -> int:
    """Highest resident set size since the last :func:`reset_peak` (or process start), in bytes."""
    kib = _status_kib("VmHWM")
    if kib is None:
        kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib * 1024


def reset_peak() -> bool:
    """Start a new peak-RSS measurement; False where the kernel does not allow it."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True
