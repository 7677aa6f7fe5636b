"""``bexvendre_mapping.converter``: a cattrs converter that knows every model of both sides.

The generated loaders and dumpers of the models are registered as its structure and
unstructure hooks (and a model code's text as a :class:`ModelCode`), so that a user's own
attrs classes that hold our models (an envelope, a queue message) structure and unstructure
with it, at the speed and with the errors of ``load_<x>`` and ``dump_<x>``::

    @attrs.frozen
    class Envelope:
        shop: str
        order: bex.Order

    envelope = converter.structure({"shop": "acme", "order": {...}}, Envelope)
    converter.unstructure(envelope)["order"] == bex.dump_order(envelope.order)
"""

from __future__ import annotations

from typing import Any

import attrs
import cattrs

from bexvendre_mapping import bex, vendre
from bexvendre_mapping._codec import Codec
from bexvendre_mapping._dates import DEFAULT_TIME_ZONE
from bexvendre_mapping._dates import time_zone as get_zone
from bexvendre_mapping._modelcode import ModelCode
from bexvendre_mapping._plan import load_model_code

__all__ = ["MODELS", "converter", "make_converter"]

#: Every model class of both sides, Vendre's first.
MODELS: tuple[type, ...] = tuple(
    cls
    for side in (vendre, bex)
    for cls in (getattr(side, name) for name in side.__all__)
    if isinstance(cls, type) and attrs.has(cls)
)


def make_converter(
    *,
    time_zone: str = DEFAULT_TIME_ZONE,
    strict: bool = False,
    detailed_validation: bool = True,
) -> cattrs.Converter:
    """A new cattrs ``Converter`` with the models' loaders and dumpers as its hooks.

    Args:
        time_zone: the shop's IANA time zone, as for ``load_<x>`` and ``dump_<x>``.
        strict: refuse keys a model's wire format does not define (default: ignore them).
        detailed_validation: cattrs' own setting, for the user's classes around the
            models: with it, an error is a ``cattrs`` ``ClassValidationError`` holding each
            field's error (a model's is a :class:`MappingError` with every problem and its
            path inside the model).

    Raises:
        MappingError: ``time_zone`` is no time zone.
    """
    get_zone(time_zone)  # an unknown zone is refused now, not at the first load
    made = cattrs.Converter(detailed_validation=detailed_validation)
    for cls in MODELS:
        codec: Codec[Any] = Codec(cls)
        made.register_structure_hook(cls, _loader(codec, strict, time_zone))
        made.register_unstructure_hook(cls, _dumper(codec, time_zone))
    made.register_structure_hook(ModelCode, _parse_code)
    made.register_unstructure_hook(ModelCode, str)
    return made


def _loader(codec: Codec[Any], strict: bool, time_zone: str) -> Any:
    def structure(value: Any, _type: Any) -> Any:
        return codec.load(value, strict=strict, time_zone=time_zone)

    return structure


def _dumper(codec: Codec[Any], time_zone: str) -> Any:
    def unstructure(model: Any) -> dict[str, Any]:
        return codec.dump(model, time_zone=time_zone)

    return unstructure


def _parse_code(value: Any, _type: Any) -> ModelCode:
    return load_model_code(value)


#: The converter for the default time zone (Europe/Stockholm), not strict.
converter: cattrs.Converter = make_converter()
