"""Building instances of frozen slotted attrs classes quickly, for the hot paths.

A frozen attrs class refuses ``instance.name = value`` (its ``__setattr__`` raises), so the
usual way to fill a new instance's slots without calling ``__init__`` is each slot's
``__set__``: about 45 ns a field on CPython 3.11. A *twin* is a subclass that adds no slot
and restores ``object``'s ``__setattr__`` and ``__delattr__``: an instance of it takes plain
stores (a few nanoseconds each, the interpreter's own slot store), and since its layout is
the class's, Python lets its ``__class__`` become the class afterwards (about 30 ns). The
result is an ordinary instance of the class, equal to the one ``__init__`` would build::

    made = object.__new__(twin_of_cls)
    made.a = a
    made.b = b
    made.__class__ = cls

A twin is never handed out: only the instance, once it is a ``cls``.
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["twin"]


@functools.cache
def twin(cls: type) -> type | None:
    """The twin of the slotted class ``cls``, or ``None`` where Python refuses one.

    The probe changes an instance's class the way the callers do, so that a Python whose
    rules for ``__class__`` assignment differ gets ``None`` (the callers then use the slots'
    ``__set__``) instead of a ``TypeError`` on the hot path.
    """
    namespace = {
        "__slots__": (),
        "__setattr__": object.__setattr__,
        "__delattr__": object.__delattr__,
        "__module__": __name__,
        "__qualname__": f"twin.<{cls.__qualname__}>",
        "__doc__": f"Instances become {cls.__qualname__} once filled (see {__name__}).",
    }
    try:
        made = type(cls.__name__, (cls,), namespace)
        probe: Any = object.__new__(made)
        probe.__class__ = cls
    except TypeError:
        return None
    return made
