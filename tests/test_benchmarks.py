"""The benchmarks' own measuring: what they report must be the measured program's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BALLAST_MB = 256


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM is Linux's")
def test_a_child_peak_rss_is_its_own_not_its_large_parents() -> None:
    """A push runs in a subprocess of the benchmark, whose sandbox may hold hundreds of MB.
    Linux keeps ``ru_maxrss`` across ``execve``, so a child reading it reported its
    parent's size (200 MB for a 48 MB push); ``VmHWM`` is the child's own."""
    ballast = bytearray(BALLAST_MB * 1024 * 1024)
    ballast[::4096] = b"x" * len(ballast[::4096])  # every page resident
    child = subprocess.run(  # noqa: S603 - this interpreter, our own script
        [sys.executable, str(ROOT / "benchmarks" / "memory.py")],
        capture_output=True,
        text=True,
        check=True,
    )
    peak_mb = int(child.stdout) / 1024
    del ballast
    assert 1 < peak_mb < BALLAST_MB / 4
