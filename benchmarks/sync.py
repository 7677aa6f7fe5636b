"""Throughput of the sync pushes with several records in flight, against the sandbox.

One command, from the repository root::

    .venv/bin/python benchmarks/sync.py            # full run (~40 min on 2 cores)
    .venv/bin/python benchmarks/sync.py --quick    # same-work checks only, small counts

The sandbox (``bexvendre_mapping.testing.sandbox``) runs in this process with an injected
latency on every request (20 ms by default), as a distant API would answer; each push runs
in a subprocess of its own, so that its peak RSS is its own and it does not share the GIL
with the servers. Two pushes are measured, each for ``max_in_flight`` 1, 4, 8 and 16:

- stock: ``--stock`` (10,000) queued stock changes, each a look-up and a confirm in Bex and
  a stock update in Vendre;
- products: ``--articles`` (2,000) Bex articles of 5 sizes, each 6 creates in Vendre.

Then both again at 8 (and 16) in flight with a rate limit on each sandbox API
(``--limit`` requests a second, 100 by default: less than 8 in flight would send; answered
429 beyond it) and the pushes' ``max_rate`` set to ``--rate-share`` (0.9) of it; the bound
the limit allows is ``limit / requests per record`` on the busier API. ``--limited-only``
runs only these. After every run the script checks that the same work was done: every record
reported done once, every stock entry confirmed once (one confirm each, the queue empty),
every product created once. It exits with status 1 when a check fails (CI runs ``--quick``
for this) or, in a full run, when a goal is missed: 8 in flight at least 6x as fast as 1,
within 80 % of the rate-limit bound at 8 in flight, the 2,000-article push under 200 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "benchmarks") not in sys.path:
    sys.path.insert(0, str(ROOT / "benchmarks"))

from memory import peak_rss_kb  # noqa: E402 - beside this script

LOOKUPS = ROOT / "examples" / "lookups.toml"
SIZES = [{"Storlek": str(size), "Streckkod": None} for size in range(38, 43)]
CONFIRM = "WarehouseManagement/ConfirmStockChange"
MEMORY_GOAL_MB = 200.0
SPEEDUP_GOAL = 6.0
BOUND_GOAL = 0.8


def article(number: int) -> dict[str, Any]:
    """A Bex article of 5 sizes."""
    return {
        "Artikel": f"{100000 + number}",
        "Storleksgrupp": "SKO",
        "Beskrivning": f"Löparsko {number}",
        "LeverantörsID": "LEV-0042",
        "Pris": "999.00",
        "Moms": "25.00",
        "Inköpspris": "412.50",
        "Extern referens": "SKOR",
        "Storlekar": SIZES,
    }


# --- the push, in a subprocess -------------------------------------------------------------


def child(spec: dict[str, Any]) -> None:
    """Run one push as ``spec`` says; print its figures as JSON."""
    from datetime import timedelta  # noqa: PLC0415 - the child only

    from bexvendre_mapping import Lookups  # noqa: PLC0415
    from bexvendre_mapping.http import BexClient, VendreClient  # noqa: PLC0415
    from bexvendre_mapping.sync import SqliteState, push_products, push_stock  # noqa: PLC0415

    lookups = Lookups.from_toml(LOOKUPS)
    vendre_client = VendreClient(spec["vendre_url"], spec["vendre_key"], trust_env=False)
    bex_client = BexClient(
        spec["bex_url"],
        spec["bex_key"],
        spec["bex_secret"],
        location=spec["location"],
        trust_env=False,
    )
    flow = push_stock if spec["flow"] == "stock" else push_products
    with SqliteState(spec["state"]) as state, vendre_client, bex_client:
        options: dict[str, Any] = {
            "max_in_flight": spec["in_flight"],
            "max_rate": spec["max_rate"],
            "index_max_age": timedelta(days=1),
        }
        started = time.perf_counter()
        report = flow(vendre_client, bex_client, lookups, state, **options)
        elapsed = time.perf_counter() - started
    entities = [o.entity for o in report.outcomes]
    print(
        json.dumps(
            {
                "elapsed": elapsed,
                "counts": report.counts,
                "entities": len(entities),
                "distinct": len(set(entities)),
                "maxrss_mb": peak_rss_kb() / 1024,
            }
        )
    )


# --- the harness ---------------------------------------------------------------------------


class Harness:
    """The sandbox, seeded afresh for each run, and the checks of the work done."""

    def __init__(self, latency: float) -> None:
        from bexvendre_mapping.testing.sandbox import Sandbox  # noqa: PLC0415

        self.latency = latency
        self.sandbox = Sandbox().start()
        self.failures: list[str] = []

    def close(self) -> None:
        self.sandbox.stop()

    def seed(self, flow: str, count: int, limit: int | None) -> None:
        sandbox = self.sandbox
        sandbox.reset()
        if flow == "stock":
            for n in range(count):
                number = f"{200000 + n}_SKO_42"
                product = {"article_number": number, "name": {"sv": number}, "price": 1}
                sandbox.add_vendre_product({**product, "tax_class_id": 2})
                sandbox.set_bex_stock(number, n % 50 + 1)
        else:
            for n in range(count):
                sandbox.add_bex_article(article(n))
        sandbox.set_latency(None, self.latency)
        if limit is not None:
            for system in ("vendre", "bex"):
                sandbox.rate_limit(system, limit=limit)

    def run(
        self, flow: str, count: int, in_flight: int, limit: int | None, max_rate: float | None
    ) -> dict[str, Any]:
        """Seed, push in a subprocess, check the work; the figures."""
        self.seed(flow, count, limit)
        sandbox = self.sandbox
        with tempfile.TemporaryDirectory() as folder:
            spec = {
                "flow": flow,
                "in_flight": in_flight,
                "max_rate": max_rate,
                "vendre_url": sandbox.vendre_url,
                "vendre_key": sandbox.vendre_api_key,
                "bex_url": sandbox.bex_url,
                "bex_key": sandbox.bex_api_key,
                "bex_secret": sandbox.bex_secret,
                "location": sandbox.bex_location,
                "state": str(Path(folder) / "state.sqlite3"),
            }
            done = subprocess.run(  # noqa: S603 - this script, this interpreter
                [sys.executable, __file__, "--child", json.dumps(spec)],
                capture_output=True,
                text=True,
                check=False,
            )
        if done.returncode != 0:
            sys.stderr.write(done.stderr)
            self.failures.append(f"{flow} at {in_flight}: the push failed")
            return {"elapsed": float("nan"), "maxrss_mb": float("nan"), "requests": {}}
        figures: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
        figures["requests"] = {s: len(sandbox.calls(s)) for s in ("vendre", "bex")}
        figures["refused"] = sum(1 for c in sandbox.calls() if c.status == 429)
        figures["peak"] = max(sandbox.peak_in_flight(s) for s in ("vendre", "bex"))
        self.check(flow, count, in_flight, figures)
        return figures

    def check(self, flow: str, count: int, in_flight: int, figures: dict[str, Any]) -> None:
        """Every record done once; every entry confirmed once; every product created once."""
        sandbox = self.sandbox
        problems = []
        if figures["counts"] != {"done": count}:
            problems.append(f"outcomes {figures['counts']}, expected {count} done")
        if figures["entities"] != figures["distinct"]:
            problems.append("a record was reported twice")
        if figures["peak"] > in_flight:
            problems.append(f"{figures['peak']} requests at once, more than {in_flight}")
        ok = [c for c in sandbox.calls() if c.status != 429]
        if flow == "stock":
            confirms = [c for c in ok if c.system == "bex" and c.path == CONFIRM]
            puts = [c for c in ok if c.system == "vendre" and c.method == "PUT"]
            if len(confirms) != count or len(puts) != count:
                problems.append(f"{len(confirms)} confirms and {len(puts)} updates for {count}")
            if sandbox.bex_queued_stock_changes():
                problems.append("entries left queued")
        else:
            posts = [c for c in ok if c.system == "vendre" and c.method == "POST"]
            products = sandbox.vendre_products()
            if len(posts) != count * 6 or len(products) != count * 6:
                problems.append(f"{len(posts)} creates, {len(products)} products for {count * 6}")
        self.failures += [f"{flow} at {in_flight}: {p}" for p in problems]


def bound(flow: str, count: int, limit: int, requests: dict[str, int]) -> float:
    """Records a second the rate limit allows: the limit over the busier API's requests each."""
    per_record = max(requests.values()) / count
    return limit / per_record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts, checks only")
    parser.add_argument("--stock", type=int, default=10_000, help="queued stock changes")
    parser.add_argument("--articles", type=int, default=2_000, help="articles of 5 sizes")
    parser.add_argument("--latency", type=float, default=0.020, help="seconds a request")
    parser.add_argument("--limit", type=int, default=100, help="requests a second per API")
    parser.add_argument(
        "--rate-share", type=float, default=0.9, help="max_rate as a share of --limit"
    )
    parser.add_argument("--in-flight", default="1,4,8,16", help="max_in_flight values")
    parser.add_argument(
        "--limited-only", action="store_true", help="only the runs under the rate limit"
    )
    parser.add_argument("--json", type=Path, help="save the figures here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(json.loads(args.child))
        return 0
    if args.quick:
        args.stock, args.articles, args.latency, args.limit = 60, 12, 0.002, 100
        args.in_flight = "1,8"
    levels = [int(n) for n in args.in_flight.split(",")]
    harness = Harness(args.latency)
    results: list[dict[str, Any]] = []
    try:
        for flow, count in (("stock", args.stock), ("products", args.articles)):
            for in_flight in [] if args.limited_only else levels:
                figures = harness.run(flow, count, in_flight, None, None)
                results.append({"flow": flow, "in_flight": in_flight, "limit": None, **figures})
                print_row(results[-1], count)
            limited = [n for n in levels if n >= 8] or levels[-1:]
            max_rate = args.limit * args.rate_share
            for in_flight in limited:
                figures = harness.run(flow, count, in_flight, args.limit, max_rate)
                figures["bound"] = bound(flow, count, args.limit, figures["requests"])
                results.append(
                    {"flow": flow, "in_flight": in_flight, "limit": args.limit, **figures}
                )
                print_row(results[-1], count)
    finally:
        harness.close()
    failures = list(harness.failures)
    if not args.quick:
        failures += goals(results, args)
    if args.json:
        saved = {"args": vars(args), "results": results}
        args.json.write_text(json.dumps(saved, indent=2, default=str))
    for failure in failures:
        print(f"FAIL: {failure}")
    if not failures:
        print("same work: every record done once" + ("" if args.quick else "; goals met"))
    return 1 if failures else 0


def print_row(row: dict[str, Any], count: int) -> None:
    rate = count / row["elapsed"]
    limit = f"limit {row['limit']}/s" if row["limit"] else "no limit"
    line = (
        f"{row['flow']:<8} {count:>6} records  in flight {row['in_flight']:>2}  {limit:<13}"
        f"{row['elapsed']:8.1f} s {rate:8.1f} records/s  peak RSS {row['maxrss_mb']:6.1f} MB"
    )
    if "bound" in row:
        line += f"  bound {row['bound']:.1f}/s ({rate / row['bound']:.0%}), 429s {row['refused']}"
    print(line, flush=True)


def goals(results: list[dict[str, Any]], args: argparse.Namespace) -> list[str]:
    """The issue's goals that the figures miss."""
    missed = []
    counts = {"stock": args.stock, "products": args.articles}
    for flow, count in counts.items():
        free = {
            r["in_flight"]: count / r["elapsed"]
            for r in results
            if r["flow"] == flow and r["limit"] is None
        }
        if 1 in free and 8 in free and free[8] < SPEEDUP_GOAL * free[1]:
            missed.append(f"{flow}: 8 in flight only {free[8] / free[1]:.1f}x as fast as 1")
        for row in results:
            if row["flow"] == flow and row["limit"] and row["in_flight"] == 8:
                share = count / row["elapsed"] / row["bound"]
                if share < BOUND_GOAL:
                    missed.append(f"{flow}: {share:.0%} of the rate-limit bound at 8 in flight")
        if flow == "products":
            worst = max(r["maxrss_mb"] for r in results if r["flow"] == flow)
            if worst >= MEMORY_GOAL_MB:
                missed.append(f"products: peak RSS {worst:.0f} MB")
    return missed


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
