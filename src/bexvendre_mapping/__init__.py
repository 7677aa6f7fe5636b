"""Typed models, converters and sync flows between the Bex ERP and the Vendre web shop.

>>> from bexvendre_mapping import ModelCode
>>> ModelCode.parse("1001_SKO_42")
ModelCode(article='1001', size_group='SKO', size='42')
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from bexvendre_mapping._errors import (
    LookupsError,
    MappingError,
    ModelCodeError,
    Problem,
    TotalsMismatchError,
    UnknownCodeError,
)

if TYPE_CHECKING:
    import cattrs

    from bexvendre_mapping import bex, convert, fieldmap, money, vendre
    from bexvendre_mapping._converter import make_converter
    from bexvendre_mapping._examples import example_path, examples_dir
    from bexvendre_mapping._lookups import CodeTable, Lookups, Settings
    from bexvendre_mapping._modelcode import ModelCode
    from bexvendre_mapping._wire import json_engine

    converter: cattrs.Converter

# Loaded on first use (PEP 562), so that `import bexvendre_mapping` stays cheap for programs
# that need only part of the library (the command line, a sync worker, a converter).
_SUBMODULES = frozenset({"bex", "convert", "fieldmap", "money", "vendre"})
_NAMES = {
    "CodeTable": "_lookups",
    "Lookups": "_lookups",
    "Settings": "_lookups",
    "ModelCode": "_modelcode",
    "example_path": "_examples",
    "examples_dir": "_examples",
    "converter": "_converter",
    "make_converter": "_converter",
    "json_engine": "_wire",
}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _NAMES:
        value = getattr(importlib.import_module(f"{__name__}.{_NAMES[name]}"), name)
        globals()[name] = value
        return value
    if name == "__version__":
        from importlib.metadata import version  # noqa: PLC0415

        return version("bexvendre-mapping")
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


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
    "converter",
    "example_path",
    "examples_dir",
    "fieldmap",
    "json_engine",
    "make_converter",
    "money",
    "vendre",
]
