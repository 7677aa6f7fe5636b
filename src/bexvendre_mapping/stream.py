r"""Streaming: load, convert and dump large feeds record by record, in constant memory.

JSON Lines in, JSON Lines out: one document a line, blank lines skipped. Problems carry the
path ``$[i]...`` where ``i`` is the zero-based line index (line ``i + 1`` of the input).

>>> from bexvendre_mapping import Lookups
>>> lines = [b'{"Artikelnr": "1001", "Storleksgrupp": "SKO", "Storlek": "42", "Lagerantal": -3}']
>>> list(convert_lines(lines, "stock", source="bex", lookups=Lookups()))
[b'{"article_number":"1001_SKO_42","quantity":0,"status":0}\n']
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Literal

from bexvendre_mapping._errors import MappingError, Problem
from bexvendre_mapping._kinds import KINDS, OTHER
from bexvendre_mapping._lookups import Lookups

__all__ = ["KIND_NAMES", "convert_lines"]

#: The kinds :func:`convert_lines` takes (``product`` and ``article`` are the same kind).
KIND_NAMES = tuple(sorted(KINDS))


def convert_lines(
    lines: Iterable[bytes | str],
    kind: str,
    *,
    source: Literal["vendre", "bex"],
    lookups: Lookups,
    strict: bool = False,
    errors: list[Problem] | None = None,
) -> Iterator[bytes]:
    """Convert a JSON Lines feed from ``source`` to the other side, one line at a time.

    Args:
        lines: the input lines (a file opened in binary mode is fine).
        kind: ``order``, ``product``/``article``, ``stock``, ``status``, ``gift-card`` or
            ``bonus``.
        source: the side the feed comes from.
        lookups: the code tables and settings.
        strict: reject unknown keys.
        errors: when given, the problems of bad records are appended to it and those records
            skipped, so that one bad row does not stop a feed of a million; when ``None``, the
            first bad record raises.

    Yields:
        Each converted record as compact JSON and a newline.

    Raises:
        MappingError: a bad record (only when ``errors`` is ``None``), with its line's path.
        KeyError: an unknown ``kind`` or ``source``.
    """
    entry = KINDS[kind]
    load = entry.load[source]
    to_other = entry.to_other[source]
    dumps = entry.dumps[OTHER[source]]
    zone = lookups.settings.time_zone
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            model = to_other(load(line, strict=strict, time_zone=zone), lookups)
            yield dumps(model, time_zone=zone) + b"\n"
        except MappingError as exc:
            problems = [Problem(f"$[{index}]{p.path[1:]}", p.message) for p in exc.problems]
            if errors is None:
                raise MappingError(problems) from None
            errors.extend(problems)
