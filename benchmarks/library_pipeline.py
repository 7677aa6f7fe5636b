"""The three jobs done with bexvendre_mapping, through its public API only."""

from __future__ import annotations

from collections.abc import Callable

from bexvendre_mapping import Lookups, bex, convert, vendre
from bexvendre_mapping.stream import convert_lines

__all__ = ["order_pipeline", "product_pipeline", "stream_stock"]


def order_pipeline(lookups_path: str) -> Callable[[bytes], bytes]:
    lookups = Lookups.from_toml(lookups_path)
    load, to_bex, dumps = vendre.load_order, convert.order_to_bex, bex.dumps_order

    def run(raw: bytes) -> bytes:
        return dumps(to_bex(load(raw), lookups))

    return run


def product_pipeline(lookups_path: str) -> Callable[[bytes], bytes]:
    lookups = Lookups.from_toml(lookups_path)
    load, to_vendre = bex.load_article, convert.article_to_vendre
    dumps = vendre.dumps_product_family

    def run(raw: bytes) -> bytes:
        return dumps(to_vendre(load(raw), lookups))

    return run


def stream_stock(lookups_path: str, source: str, target: str) -> int:
    """Bex stock JSON Lines in, Vendre stock updates JSON Lines out, one line at a time,
    through the streaming API (``bexvendre_mapping.stream.convert_lines``)."""
    lookups = Lookups.from_toml(lookups_path)
    count = 0
    with open(source, "rb") as lines, open(target, "wb") as out:
        write = out.write
        for converted in convert_lines(lines, "stock", source="bex", lookups=lookups):
            write(converted)
            count += 1
    return count
