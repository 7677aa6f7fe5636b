"""Benchmark bexvendre_mapping against the same jobs written with pydantic v2 and msgspec.

One command, from the repository root::

    .venv/bin/python benchmarks/run.py            # full run: 1,000,000 stock rows
    .venv/bin/python benchmarks/run.py --quick    # smoke run, well under a minute

Jobs (issue 6, SPEC §10), each in three implementations (the library, ``peers/``):

- order: Vendre order JSON bytes → validated model → Bex order → JSON bytes, for the shipped
  5-row example and a 40-row variant;
- product: Bex article with 10 sizes → Vendre product family JSON (a parent, 10 children);
- stock: a feed of N Bex stock rows as JSON Lines → Vendre stock updates as JSON Lines,
  streamed file to file; every implementation runs in its own subprocess so that its peak
  RSS is its own;
- import: ``python -c "import bexvendre_mapping"`` against
  ``python -c "import attrs, cattrs, dateutil.parser"`` (whole-process wall time).

Before timing, the script checks that the three implementations give the same output for
every input and reject the same bad inputs, so that they do the same work; when they do not,
it still prints the figures but exits with status 1 (CI runs ``--quick`` for this check). Order and
product jobs are timed in this process, implementations interleaved round by round
(warm-up, then the median of several timeit-style rounds); ratios come from one run.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import gc
import hashlib
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LOOKUPS = str(ROOT / "examples" / "lookups.toml")
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from memory import peak_rss_kb, status_kb  # noqa: E402 - beside this script

IMPLEMENTATIONS = {
    "library": "library_pipeline",
    "pydantic": "peers.pydantic_pipeline",
    "msgspec": "peers.msgspec_pipeline",
}
NAMES = list(IMPLEMENTATIONS)

IMPORT_LIBRARY = "import bexvendre_mapping"
IMPORT_BASELINE = "import attrs, cattrs, dateutil.parser"

TARGET_ORDER_PYDANTIC = 0.5
TARGET_ORDER_MSGSPEC = 2.0
TARGET_STOCK_MSGSPEC = 2.0
TARGET_STOCK_RSS_MB = 100.0
TARGET_IMPORT = 1.3


def _module(name: str) -> Any:
    import importlib  # noqa: PLC0415 - each subprocess imports only its implementation

    return importlib.import_module(IMPLEMENTATIONS[name])


# --- the stock child process ---------------------------------------------------------------


def stock_child(name: str, warm: str, source: str, target: str) -> None:
    """Run one implementation's stock stream and print its figures as JSON."""
    module = _module(name)
    module.stream_stock(LOOKUPS, warm, os.devnull)  # warm-up: hooks built, code paths hot
    before = status_kb("VmRSS")
    gc.collect()
    start = time.perf_counter()
    rows = module.stream_stock(LOOKUPS, source, target)
    seconds = time.perf_counter() - start
    peak = peak_rss_kb()
    print(json.dumps({"rows": rows, "seconds": seconds, "rss_before_kb": before, "peak_kb": peak}))


# --- measuring ------------------------------------------------------------------------------


def _rotate(items: list[str], by: int) -> list[str]:
    by %= len(items)
    return items[by:] + items[:by]


def time_jobs(
    funcs: dict[str, Callable[[bytes], bytes]], raw: bytes, rounds: int, round_seconds: float
) -> dict[str, dict[str, Any]]:
    """Seconds per call of each function: warm-up, calibration, interleaved rounds, median."""
    loops: dict[str, int] = {}
    for name, func in funcs.items():
        for _ in range(20):  # warm-up
            func(raw)
        n = 1
        while True:
            start = time.perf_counter()
            for _ in itertools.repeat(None, n):
                func(raw)
            elapsed = time.perf_counter() - start
            if elapsed >= round_seconds / 5:
                break
            n *= 2
        loops[name] = max(1, round(n * round_seconds / elapsed))
    samples: dict[str, list[float]] = {name: [] for name in funcs}
    for index in range(rounds):
        for name in _rotate(list(funcs), index):
            func, n = funcs[name], loops[name]
            gc.collect()
            start = time.perf_counter()
            for _ in itertools.repeat(None, n):
                func(raw)
            samples[name].append((time.perf_counter() - start) / n)
    found: dict[str, dict[str, Any]] = {
        name: {"median": statistics.median(s), "min": min(s), "loops": loops[name], "samples": s}
        for name, s in samples.items()
    }
    # Rounds are interleaved, so the per-round ratios are paired: their median shrugs off
    # load that other processes put on a shared machine for a while.
    for name in list(funcs)[1:]:
        paired = [a / b for a, b in zip(samples["library"], samples[name], strict=True)]
        found[name]["paired_ratio_median"] = statistics.median(paired)
    return found


def time_stock(warm: Path, source: Path, workdir: Path, rounds: int) -> dict[str, dict[str, Any]]:
    """Each implementation streams the feed in its own subprocess, interleaved by round."""
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in NAMES}
    digests: dict[str, str] = {}
    for index in range(rounds):
        for name in _rotate(NAMES, index):
            target = workdir / f"stock-out-{name}.jsonl"
            done = subprocess.run(  # noqa: S603 - our own interpreter and script
                [
                    sys.executable,
                    __file__,
                    "--stock-child",
                    name,
                    str(warm),
                    str(source),
                    str(target),
                ],
                check=True,
                capture_output=True,
                text=True,
                cwd=ROOT,
            )
            results[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
            if index == 0:
                digests[name] = hashlib.sha256(target.read_bytes()).hexdigest()
            target.unlink()
    out: dict[str, dict[str, Any]] = {}
    for name, runs in results.items():
        rows = runs[0]["rows"]
        seconds = [r["seconds"] for r in runs]
        out[name] = {
            "rows": rows,
            "median": statistics.median(seconds) / rows,
            "min": min(seconds) / rows,
            "seconds": seconds,
            "peak_mb": max(r["peak_kb"] for r in runs) / 1024,
            "rss_before_mb": max(r["rss_before_kb"] or 0 for r in runs) / 1024,
            "output_sha256": digests[name],
        }
    return out


def time_imports(runs: int) -> dict[str, Any]:
    """Whole-process wall time of both import commands, interleaved, medians of ``runs``."""
    commands = {"library": IMPORT_LIBRARY, "baseline": IMPORT_BASELINE, "bare": "pass"}
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for index in range(runs + 2):
        for name in _rotate(list(commands), index):
            start = time.perf_counter()
            subprocess.run(  # noqa: S603 - our own interpreter
                [sys.executable, "-c", commands[name]],
                check=True,
                stdout=subprocess.DEVNULL,
                cwd=ROOT,
            )
            elapsed = time.perf_counter() - start
            if index >= 2:  # the first two rounds warm the file cache
                samples[name].append(elapsed)
    medians = {name: statistics.median(s) for name, s in samples.items()}
    return {
        "runs": runs,
        "library_s": medians["library"],
        "baseline_s": medians["baseline"],
        "bare_interpreter_s": medians["bare"],
        "ratio": medians["library"] / medians["baseline"],
        "samples": samples,
    }


# --- same work: same outputs, same rejections -----------------------------------------------


def _mutations(kind: str) -> list[tuple[str, Callable[[dict[str, Any]], None]]]:
    def setp(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
        def apply(doc: dict[str, Any]) -> None:
            node = doc
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value

        return apply

    def delete(path: list[Any]) -> Callable[[dict[str, Any]], None]:
        def apply(doc: dict[str, Any]) -> None:
            node = doc
            for key in path[:-1]:
                node = node[key]
            del node[path[-1]]

        return apply

    def free_row(rate: str) -> Callable[[dict[str, Any]], None]:
        def apply(doc: dict[str, Any]) -> None:
            doc["products"][0].update(price="0.0000", tax=rate)
            doc["totals"][6]["value"] = "2684.0000"

        return apply

    if kind == "order":
        return [
            ("quantity 0", setp(["products", 0, "quantity"], 0)),
            ("quantity not a number", setp(["products", 0, "quantity"], "x")),
            ("model code with empty size group", setp(["products", 0, "model"], "1001__42")),
            ("model code with a leading blank", setp(["products", 1, "model"], " 1001_SKO_43")),
            ("price with 5 decimals", setp(["products", 0, "price"], "799.20001")),
            ("price NaN", setp(["products", 0, "price"], "NaN")),
            # Free rows with the total lowered by their 999.00, so that only the rate is wrong.
            ("VAT rate -100", free_row("-100.0000")),
            ("VAT rate above 100", free_row("100.0100")),
            ("name not a string", setp(["products", 0, "name"], 5)),
            ("missing billing city", delete(["billing_address", "city"])),
            ("missing products", delete(["products"])),
            ("currency not ISO", setp(["currency"], "sek")),
            ("bad date", setp(["date_added"], "2026-13-01 00:00:00")),
            ("unknown payment method", setp(["payment", "payment_method"], "BITCOIN")),
            ("unknown country", setp(["billing_address", "country_id"], 999)),
            ("unknown shipping method", setp(["shipping", "method_id"], "99")),
            ("unknown fee class", setp(["totals", 2, "class"], "ot_mystery")),
            ("totals do not add up", setp(["totals", 6, "value"], "3693.0000")),
            ("gift card amount with 5 decimals", setp(["gift_cards", 0, "amount"], "1.00001")),
            ("empty reservation id", setp(["gift_cards", 0, "reservation_id"], " ")),
        ]
    if kind == "product":
        return [
            ("price with 3 decimals", setp(["Pris"], "999.001")),
            ("Moms above 100", setp(["Moms"], "125.00")),
            ("size twice", setp(["Storlekar", 1, "Storlek"], "36")),
            ("size with '_'", setp(["Storlekar", 0, "Storlek"], "4_0")),
            ("empty size", setp(["Storlekar", 0, "Storlek"], "")),
            ("missing Extern referens", delete(["Extern referens"])),
            ("unknown category", setp(["Extern referens"], "BILAR")),
            ("Moms of no tax class", setp(["Moms"], "7.00")),
            ("unknown LeverantörsID", setp(["LeverantörsID"], "LEV-9999")),
            ("sizes without a size group", setp(["Storleksgrupp"], None)),
        ]
    return [
        ("size without a size group", setp(["Storleksgrupp"], None)),
        ("quantity not a number", setp(["Lagerantal"], "x")),
        ("missing quantity", delete(["Lagerantal"])),
        (
            "unsized article with two '_'",
            lambda d: d.update(Artikelnr="A_B_C", Storleksgrupp=None, Storlek=None),
        ),
        ("empty article number", setp(["Artikelnr"], "")),
        ("size with a control character", setp(["Storlek"], "4\x002")),
    ]


def _stock_row() -> dict[str, Any]:
    return {"Artikelnr": "1001", "Storleksgrupp": "SKO", "Storlek": "42", "Lagerantal": 3}


def check_same_work(inputs: dict[str, bytes]) -> dict[str, Any]:
    """Same output for every valid input; every implementation rejects every bad input."""
    modules = {name: _module(name) for name in NAMES}
    same: dict[str, bool] = {}
    pipelines = {
        "order_5": "order_pipeline",
        "order_40": "order_pipeline",
        "product_10": "product_pipeline",
    }
    for job, factory in pipelines.items():
        outs = {name: getattr(m, factory)(LOOKUPS)(inputs[job]) for name, m in modules.items()}
        first = json.loads(outs["library"])
        same[job] = all(json.loads(o) == first for o in outs.values())

    def stock_one(module: Any, raw: bytes) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            source = Path(tmp) / "in.jsonl"
            source.write_bytes(raw + b"\n")
            module.stream_stock(LOOKUPS, str(source), str(Path(tmp) / "out.jsonl"))

    cases = {
        "order": (json.loads(inputs["order_5"]), "order_pipeline"),
        "product": (json.loads(inputs["product_10"]), "product_pipeline"),
        "stock": (_stock_row(), None),
    }
    missed: dict[str, list[str]] = {name: [] for name in NAMES}
    total = 0
    for kind, (valid, factory) in cases.items():
        for label, mutate in _mutations(kind):
            doc = copy.deepcopy(valid)
            mutate(doc)
            raw = json.dumps(doc, ensure_ascii=False).encode()
            total += 1
            for name, module in modules.items():
                try:
                    if factory is None:
                        stock_one(module, raw)
                    else:
                        getattr(module, factory)(LOOKUPS)(raw)
                except Exception:  # noqa: BLE001, S112 - any rejection counts
                    continue
                missed[name].append(f"{kind}: {label}")
    return {"same_output": same, "bad_inputs": total, "accepted_bad_input": missed}


# --- reporting ------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = {}
    for dist in ("bexvendre-mapping", "attrs", "cattrs", "pydantic", "pydantic-core", "msgspec"):
        try:
            from importlib.metadata import version  # noqa: PLC0415

            versions[dist] = version(dist)
        except Exception:  # noqa: BLE001
            versions[dist] = "?"
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--", "src"))
    import bexvendre_mapping  # noqa: PLC0415 - the parent process times no import of its own

    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "versions": versions,
        "commit": commit,
        "src_modified": dirty,
        # msgspec when the `fast` extra is installed; BEXVENDRE_MAPPING_JSON=json: the json module
        "json_engine": bexvendre_mapping.json_engine(),
    }


def _git(*args: str) -> str:
    try:
        done = subprocess.run(  # noqa: S603 - read-only git queries
            ["git", *args],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return ""
    return done.stdout.strip()


def _us(seconds: float) -> str:
    if seconds >= 1e-3:
        return f"{seconds * 1e3:,.2f} ms"
    return f"{seconds * 1e6:,.1f} µs"


def _load(values: list[float] | tuple[float, ...]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for job, label in (("order_5", "order, 5 rows"), ("order_40", "order, 40 rows")):
        r = results["jobs"][job]
        lib = r["library"]["median"]
        found.append(
            {
                "target": f"{label}: library / pydantic",
                "value": lib / r["pydantic"]["median"],
                "limit": TARGET_ORDER_PYDANTIC,
                "unit": "×",
            }
        )
        found.append(
            {
                "target": f"{label}: library / msgspec",
                "value": lib / r["msgspec"]["median"],
                "limit": TARGET_ORDER_MSGSPEC,
                "unit": "×",
            }
        )
    stock = results["stock"]
    found.append(
        {
            "target": f"stock feed, {stock['library']['rows']:,} rows: library / msgspec",
            "value": stock["library"]["median"] / stock["msgspec"]["median"],
            "limit": TARGET_STOCK_MSGSPEC,
            "unit": "×",
        }
    )
    found.append(
        {
            "target": "stock feed: library peak RSS",
            "value": stock["library"]["peak_mb"],
            "limit": TARGET_STOCK_RSS_MB,
            "unit": " MB",
            "strict": True,
        }
    )
    found.append(
        {
            "target": "import: bexvendre_mapping / (attrs, cattrs, dateutil.parser)",
            "value": results["import"]["ratio"],
            "limit": TARGET_IMPORT,
            "unit": "×",
        }
    )
    for t in found:
        t["pass"] = t["value"] < t["limit"] if t.get("strict") else t["value"] <= t["limit"]
    return found


def report(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        f"bexvendre-mapping benchmarks · {results['date']} · {m['cpus']} × {m['cpu_model']} · "
        f"{m['implementation']} {m['python']}",
        f"library {m['versions']['bexvendre-mapping']} @ {m['commit'] or '?'}"
        f"{' (src modified)' if m['src_modified'] else ''} (JSON engine: {m['json_engine']})"
        f" · pydantic {m['versions']['pydantic']}"
        f" · msgspec {m['versions']['msgspec']} · attrs {m['versions']['attrs']} · cattrs "
        f"{m['versions']['cattrs']}",
        f"load average (1, 5, 15 min) at start {_load(results['load_average']['start'])}, "
        f"at end {_load(results['load_average']['end'])}",
        "",
    ]
    header = (
        f"{'job (time per item, median)':<34}{'library':>12}{'pydantic':>12}{'msgspec':>12}"
        f"{'lib/pyd':>10}{'lib/msg':>10}"
    )
    lines += [header, "-" * len(header)]
    labels = {
        "order_5": "order, 5 rows (per order)",
        "order_40": "order, 40 rows (per order)",
        "product_10": "product, 10 sizes (per article)",
    }
    rows = [(labels[job], results["jobs"][job]) for job in labels]
    stock = results["stock"]
    rows.append((f"stock, {stock['library']['rows']:,} rows (per row)", stock))
    for label, r in rows:
        lib, pyd, msg = (r[n]["median"] for n in NAMES)
        lines.append(
            f"{label:<34}{_us(lib):>12}{_us(pyd):>12}{_us(msg):>12}"
            f"{lib / pyd:>9.2f}×{lib / msg:>9.2f}×"
        )
    lines.append(
        f"{'stock: whole feed (median)':<34}"
        + "".join(f"{statistics.median(stock[n]['seconds']):>11.2f}s" for n in NAMES)
    )
    lines.append(
        f"{'stock: peak RSS (VmHWM)':<34}"
        + "".join(f"{stock[n]['peak_mb']:>9.1f} MB" for n in NAMES)
    )
    lines.append(
        f"{'stock: RSS before streaming':<34}"
        + "".join(f"{stock[n]['rss_before_mb']:>9.1f} MB" for n in NAMES)
    )
    imp = results["import"]
    lines += [
        "",
        f"import (whole process, median of {imp['runs']}): "
        f"'{IMPORT_LIBRARY}' {imp['library_s'] * 1e3:.1f} ms, "
        f"'{IMPORT_BASELINE}' {imp['baseline_s'] * 1e3:.1f} ms, "
        f"bare interpreter {imp['bare_interpreter_s'] * 1e3:.1f} ms",
        "",
    ]
    header = f"{'target (SPEC §10, issue 6)':<62}{'measured':>12}{'limit':>12}  result"
    lines += [header, "-" * len(header)]
    for t in results["targets"]:
        op = "<" if t.get("strict") else "≤"
        unit = t["unit"]
        measured = f"{t['value']:.2f}{unit}"
        limit = f"{op} {t['limit']:g}{unit}"
        lines.append(f"{t['target']:<62}{measured:>12}{limit:>12}  {_verdict(t['pass'])}")
    checks = results["checks"]
    same = ", ".join(f"{job} {'yes' if ok else 'NO'}" for job, ok in checks["same_output"].items())
    stock_same = _same_stock_output(stock)
    lines += [
        "",
        f"same output in all three: {same}, stock feed {'yes' if stock_same else 'NO'}"
        " (byte-identical files)",
        f"bad inputs rejected (of {checks['bad_inputs']}): "
        + ", ".join(
            f"{n} {checks['bad_inputs'] - len(checks['accepted_bad_input'][n])}" for n in NAMES
        ),
    ]
    for name in NAMES:
        for label in checks["accepted_bad_input"][name]:
            lines.append(f"  {name} accepted: {label}")
    return "\n".join(lines)


def _same_stock_output(stock: dict[str, Any]) -> bool:
    return len({stock[n]["output_sha256"] for n in NAMES}) == 1


def same_work(results: dict[str, Any]) -> bool:
    """Whether the three gave the same outputs and rejected every bad input."""
    checks = results["checks"]
    return (
        all(checks["same_output"].values())
        and _same_stock_output(results["stock"])
        and not any(checks["accepted_bad_input"].values())
    )


# --- main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run (20,000 stock rows)")
    parser.add_argument("--rows", type=int, help="stock feed size (default 1,000,000)")
    parser.add_argument("--rounds", type=int, help="timed rounds per order/product job (21)")
    parser.add_argument("--stock-rounds", type=int, help="stock runs per implementation")
    parser.add_argument("--import-runs", type=int, help="runs per import command (>= 15)")
    parser.add_argument("--json", metavar="FILE", help="also save the results as JSON")
    parser.add_argument("--stock-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stock_child:
        stock_child(*args.stock_child)
        return 0

    quick = args.quick
    rows = args.rows or (20_000 if quick else 1_000_000)
    rounds = args.rounds or (7 if quick else 21)
    round_seconds = 0.05 if quick else 0.1
    stock_rounds = args.stock_rounds or (3 if quick else 5)
    import_runs = max(15, args.import_runs or (15 if quick else 21))

    import inputs  # noqa: PLC0415

    documents = {
        "order_5": inputs.order_5(),
        "order_40": inputs.order_40(),
        "product_10": inputs.article_10(),
    }
    started = time.perf_counter()
    load_at_start = os.getloadavg()
    print("checking that the three implementations do the same work ...", file=sys.stderr)
    checks = check_same_work(documents)

    modules = {name: _module(name) for name in NAMES}
    jobs: dict[str, Any] = {}
    for job, factory in (
        ("order_5", "order_pipeline"),
        ("order_40", "order_pipeline"),
        ("product_10", "product_pipeline"),
    ):
        print(f"timing {job} ...", file=sys.stderr)
        funcs = {name: getattr(m, factory)(LOOKUPS) for name, m in modules.items()}
        jobs[job] = time_jobs(funcs, documents[job], rounds, round_seconds)

    with tempfile.TemporaryDirectory(prefix="bexvendre-bench-") as tmp:
        workdir = Path(tmp)
        feed, warm = workdir / "bex-stock.jsonl", workdir / "warm.jsonl"
        print(f"writing {rows:,} stock rows ...", file=sys.stderr)
        inputs.write_stock_feed(feed, rows)
        inputs.write_stock_feed(warm, 2_000, seed=7)
        print(f"streaming the stock feed ({stock_rounds} rounds) ...", file=sys.stderr)
        stock = time_stock(warm, feed, workdir, stock_rounds)

    print(f"timing imports ({import_runs} runs each) ...", file=sys.stderr)
    imports = time_imports(import_runs)

    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "parameters": {
            "quick": quick,
            "stock_rows": rows,
            "rounds": rounds,
            "round_seconds": round_seconds,
            "stock_rounds": stock_rounds,
            "import_runs": import_runs,
        },
        "checks": checks,
        "jobs": jobs,
        "stock": stock,
        "import": imports,
    }
    results["load_average"] = {"start": load_at_start, "end": os.getloadavg()}
    results["targets"] = targets(results)
    results["wall_seconds"] = time.perf_counter() - started
    print(report(results))
    print(f"\n(total {results['wall_seconds']:.0f} s)", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    if not same_work(results):
        print("the three implementations did not do the same work: the ratios mean nothing")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
