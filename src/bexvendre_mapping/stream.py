r"""Streaming: load, convert and dump large feeds record by record, in constant memory.

JSON Lines in, JSON Lines out: one document a line, blank lines skipped. Problems carry the
path ``$[i]...`` where ``i`` is the zero-based line index (line ``i + 1`` of the input).

>>> from bexvendre_mapping import Lookups
>>> lines = [b'{"Artikelnr": "1001", "Storleksgrupp": "SKO", "Storlek": "42", "Lagerantal": -3}']
>>> list(convert_lines(lines, "stock", source="bex", lookups=Lookups()))
[b'{"article_number":"1001_SKO_42","quantity":0,"status":0}\n']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Literal

from bexvendre_mapping import bex, vendre
from bexvendre_mapping._errors import MappingError, Problem
from bexvendre_mapping._fastpath import DECLINED, fast_loader
from bexvendre_mapping._kinds import KINDS, OTHER
from bexvendre_mapping._lookups import Lookups
from bexvendre_mapping._modelcode import join_code
from bexvendre_mapping._plan import wire_keys
from bexvendre_mapping._wire import _parse, dumps_json
from bexvendre_mapping.convert._catalog import stock_level

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
    fused = _FUSED.get(load)
    shortcut = None if fused is None else fused(lookups, zone, strict)
    for index, line in enumerate(lines):
        # Blank: JSON's own white space only (str.strip() would also take a form feed, a
        # no-break space or U+001C, and bytes.strip() a form feed), the same for both types.
        if not (line.strip(b" \t\r\n") if isinstance(line, bytes) else line.strip(" \t\r\n")):
            continue
        if shortcut is not None:
            try:
                converted: bytes | None = shortcut(line)
            except DECLINED:  # not taken: the usual route below gives the result or error
                converted = None
            if converted is not None:
                yield converted
                continue
        try:
            model = to_other(load(line, strict=strict, time_zone=zone), lookups)
            yield dumps(model, time_zone=zone) + b"\n"
        except MappingError as exc:
            problems = [Problem(f"$[{index}]{p.path[1:]}", p.message) for p in exc.problems]
            if errors is None:
                raise MappingError(problems) from None
            errors.extend(problems)


# --- fused routes ---------------------------------------------------------------------------
# For the feeds that come by the hundred thousand, the steps of load, convert and dump in one
# function: the generated loader (which checks everything the load checks), the converter's
# own rule, the output mapping written directly, without the intermediate models. A line it
# does not take, for whatever reason, goes the usual way, which gives the result or the
# error; tests/test_stream.py compares the two on generated valid and broken lines.

Route = Callable[[bytes | str], bytes]


def _bex_stock(lookups: Lookups, zone: str, strict: bool) -> Route:
    # A line the parser vouches for holds no lone surrogate: its texts need no test for one.
    loaders = (
        fast_loader(bex.Stock, zone, strict),
        fast_loader(bex.Stock, zone, strict, clean_text=True),
    )
    keys = wire_keys(vendre.StockUpdate)  # no warehouse: a Bex stock line has none
    code_key, quantity_key, status_key = keys["article_number"], keys["quantity"], keys["status"]

    def route(line: bytes | str) -> bytes:
        document, clean = _parse(line)
        stock = loaders[clean](document)
        quantity, status = stock_level(stock.quantity, lookups)
        code = join_code(stock.article, stock.size_group, stock.size)  # checked by the loader
        update = {code_key: code, quantity_key: quantity, status_key: status}
        return dumps_json(update) + b"\n"

    return route


# By the loader of the kind and side they read.
_FUSED: dict[Callable[..., object], Callable[[Lookups, str, bool], Route]] = {
    bex.load_stock: _bex_stock,
}
