"""Typed models, converters and sync flows between the Bex ERP and the Vendre web shop.

>>> from bexvendre_mapping import ModelCode
>>> ModelCode.parse("1001_SKO_42")
ModelCode(article='1001', size_group='SKO', size='42')
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

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

try:
    __version__ = version("bexvendre-mapping")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

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
