"""Helpers the tests of several subjects share; they need the core only (no extras)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bexvendre_mapping import MappingError
from bexvendre_mapping.cli import main

ROOT = Path(__file__).resolve().parent.parent


def problems_of(error: MappingError) -> list[tuple[str, str]]:
    """Each problem of ``error`` as ``(path, message)``."""
    return [(p.path, p.message) for p in error.problems]


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """The command line in-process: exit status, standard output and standard error."""
    try:
        status = main(list(argv))
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def run(*args: str, **options: Any) -> subprocess.CompletedProcess[str]:
    """Run the command line in a fresh interpreter, as a user would."""
    settings: dict[str, Any] = {"capture_output": True, **options}
    return subprocess.run(  # noqa: S603 - this interpreter, our own command
        [sys.executable, *args], text=True, check=False, cwd=ROOT, timeout=60, **settings
    )


def usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The message of a usage error (exit status 2) of ``bexvendre argv``."""
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    return capsys.readouterr().err
