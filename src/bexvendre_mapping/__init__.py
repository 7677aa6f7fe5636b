"""Typed models, converters and sync flows between the Bex ERP and the Vendre web shop.

>>> from bexvendre_mapping import ModelCode
>>> ModelCode.parse("1001_SKO_42")
ModelCode(article='1001', size_group='SKO', size='42')
"""

from __future__ import annotations

from typing import Any

from bexvendre_mapping import bex, convert, fieldmap, money, vendre
from bexvendre_mapping._errors import (
    LookupsError,
    MappingError,
    ModelCodeError,
    Problem,
    TotalsMismatchError,
    UnknownCodeError,
)
from bexvendre_mapping._lookups import CodeTable, Lookups, Settings
from bexvendre_mapping._modelcode import ModelCode


def __getattr__(name: str) -> Any:
    # importlib.metadata costs more to import than the rest of the package: only on demand.
    if name == "__version__":
        from importlib.metadata import version  # noqa: PLC0415

        return version("bexvendre-mapping")
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


__all__ = [
    "CodeTable",
    "Lookups",
    "LookupsError",
    "MappingError",
    "ModelCode",
    "ModelCodeError",
    "Problem",
    "Settings",
    "TotalsMismatchError",
    "UnknownCodeError",
    "__version__",
    "bex",
    "convert",
    "fieldmap",
    "money",
    "vendre",
]
