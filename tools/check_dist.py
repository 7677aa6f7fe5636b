"""Check that the built distributions hold what users and packagers expect."""

from __future__ import annotations

import sys
import tarfile
import zipfile

SDIST_NEEDS = ("tests/", "docs/", "examples/", "src/bexvendre_mapping/py.typed", "CHANGELOG.md")
WHEEL_NEEDS = (
    "bexvendre_mapping/py.typed",
    "bexvendre_mapping/examples/lookups.toml",
    "bexvendre_mapping/examples/vendre-order.json",
)


def main(paths: list[str]) -> int:
    """Exit 1, naming what is missing, when a distribution lacks a required file."""
    missing: list[str] = []
    for path in paths:
        if path.endswith(".tar.gz"):
            with tarfile.open(path) as sdist:
                names = [name.split("/", 1)[1] for name in sdist.getnames() if "/" in name]
            missing += [
                f"{path}: {need}"
                for need in SDIST_NEEDS
                if not any(n.startswith(need) for n in names)
            ]
        elif path.endswith(".whl"):
            with zipfile.ZipFile(path) as wheel:
                names = wheel.namelist()
            missing += [f"{path}: {need}" for need in WHEEL_NEEDS if need not in names]
    for line in missing:
        print(f"missing {line}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
