"""Where an order's time goes: each step of the library's order job, alone and chained.

From the repository root, after the set-up of ``benchmarks/README.md``::

    .venv/bin/python benchmarks/steps.py

For the 5- and 40-row orders of ``run.py`` it prints, per step, the best of 21 rounds: reading
the JSON, loading the mapping into the Vendre model, converting that to the Bex order,
dumping it to its wire mapping, writing the JSON; then what the job calls instead of reading
and loading, ``vendre.load_order`` of the bytes (with msgspec, its typed decoder into the
models' mirrors), and instead of dumping and writing, ``bex.dumps_order``; then the job
chained. A step timed alone works on the same objects round after round, the chain on new ones
each time (a new ``Decimal`` hashes anew, say), so the chain costs a little more than the sum.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import inputs  # noqa: E402 - after the path set-up above

from bexvendre_mapping import Lookups, bex, convert, json_engine, vendre  # noqa: E402
from bexvendre_mapping._wire import dumps_json, parse_document  # noqa: E402

ROUNDS = 21


def best_time(step: Callable[[], Any], calls: int) -> float:
    """The best of ROUNDS rounds of ``calls`` calls, in microseconds per call."""
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(calls):
            step()
        best = min(best, (time.perf_counter() - start) / calls)
    return best * 1e6


def measure(raw: bytes, lookups: Lookups, calls: int) -> tuple[list[float], float]:
    """Each step alone (read, load, convert, dump, write, load text, dumps), then the job."""
    document = parse_document(raw)
    order = vendre.load_order(document)
    bex_order = convert.order_to_bex(order, lookups)
    dumped = bex.dump_order(bex_order)
    steps = [
        partial(parse_document, raw),
        partial(vendre.load_order, document),
        partial(convert.order_to_bex, order, lookups),
        partial(bex.dump_order, bex_order),
        partial(dumps_json, dumped),
        partial(vendre.load_order, raw),
        partial(bex.dumps_order, bex_order),
    ]

    def job() -> bytes:
        return bex.dumps_order(convert.order_to_bex(vendre.load_order(raw), lookups))

    return [best_time(step, calls) for step in steps], best_time(job, calls)


def main() -> None:
    lookups = Lookups.from_toml(HERE.parent / "examples" / "lookups.toml")
    print(f"JSON engine: {json_engine()} · best of {ROUNDS} rounds · µs per order")
    names = ("read", "load", "convert", "dump", "write", "text→", "→text")
    print(f"{'order':>8} {' '.join(f'{n:>7}' for n in names)}  chained")
    jobs = (("5 rows", inputs.order_5(), 1000), ("40 rows", inputs.order_40(), 200))
    for label, raw, calls in jobs:
        alone, chained = measure(raw, lookups, calls)
        figures = " ".join(f"{t:7.1f}" for t in alone)
        job = alone[5] + alone[2] + alone[6]  # text→, convert, →text: what the job calls
        print(f"{label:>8} {figures}  {chained:7.1f} (text→ + convert + →text: {job:.1f})")


if __name__ == "__main__":
    main()
