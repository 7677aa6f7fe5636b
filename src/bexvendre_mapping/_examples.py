"""Where the shipped example documents are: in the wheel, or in a source checkout."""

from __future__ import annotations

from pathlib import Path

__all__ = ["examples_dir"]


def examples_dir() -> Path:
    """The folder of example documents and code tables.

    Raises:
        FileNotFoundError: neither an installed copy nor a source checkout has them.
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / "examples", here.parent.parent / "examples"):
        if (candidate / "lookups.toml").is_file():
            return candidate
    msg = "the example documents are not installed with this copy of bexvendre-mapping"
    raise FileNotFoundError(msg)
