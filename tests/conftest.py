"""Shared test set-up: Hypothesis profiles and the example data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from bexvendre_mapping import Lookups

# A quick profile for local runs, a thorough one for CI (HYPOTHESIS_PROFILE=ci).
settings.register_profile("dev", max_examples=60, deadline=None)
settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

# Type-checked by mypy, never run.
collect_ignore = ["typing"]

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="session")
def examples() -> Path:
    """The folder of shipped example documents."""
    return EXAMPLES


@pytest.fixture(scope="session")
def lookups() -> Lookups:
    """The example shop's code tables."""
    return Lookups.from_toml(EXAMPLES / "lookups.toml")
