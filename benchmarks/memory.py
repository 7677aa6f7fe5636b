"""The peak resident set size of this process, for the benchmarks' subprocesses.

On Linux it is ``VmHWM`` from ``/proc/self/status``: the high-water mark of this program's
own memory. ``getrusage``'s ``ru_maxrss`` is not: Linux keeps it across ``execve``, so a
child started by a large parent (``subprocess`` forks, then executes) reports at least
the parent's size. Elsewhere ``ru_maxrss`` is all there is.
"""

from __future__ import annotations

import sys


def status_kb(field: str) -> int | None:
    """A ``kB`` field of ``/proc/self/status`` (``VmRSS``, ``VmHWM``); ``None`` off Linux."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_rss_kb() -> int:
    """This process's peak resident set size, in KiB."""
    peak = status_kb("VmHWM")
    if peak is None:  # not Linux: ru_maxrss is in KiB on Linux, bytes on macOS
        import resource  # noqa: PLC0415

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak = peak // 1024 if sys.platform == "darwin" else peak
    return peak


if __name__ == "__main__":
    print(peak_rss_kb())
