"""The ``bexvendre`` command line (SPEC §9).

``bexvendre convert KIND --from vendre|bex --lookups FILE [INPUT]`` converts a document (or a
JSON array of them) to the other side's JSON on standard output. ``bexvendre validate KIND
--from SIDE [INPUT]`` checks one. ``bexvendre lookups check --lookups FILE DOCUMENT...`` lists
every code in the documents that the code tables do not map.

Exit status: 0 on success, 1 when the data is bad (every problem on standard error, one a
line, with its JSON path), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import IO, Any

import attrs

from bexvendre_mapping import bex, vendre
from bexvendre_mapping._errors import MappingError, Problem, UnknownCodeError, bounded, note
from bexvendre_mapping._kinds import KINDS, OTHER
from bexvendre_mapping._lookups import CodeTable, Lookups
from bexvendre_mapping._plan import wire_keys
from bexvendre_mapping._text import closest, has_control_character, json_type, show
from bexvendre_mapping._wire import child_path, dumps_json, parse_document
from bexvendre_mapping.convert._orders import NOT_ROWS
from bexvendre_mapping.money import parse_decimal

__all__ = ["main"]

EXIT_OK, EXIT_BAD_DATA, EXIT_USAGE = 0, 1, 2
#: Ctrl-C in a command that stops at once (the shell's 128 + SIGINT).
EXIT_INTERRUPTED = 130
#: The widest ``--indent``.
MAX_INDENT = 16
#: The highest ``--port``.
MAX_PORT = 65535


class _UsageError(Exception):
    """A usage problem found after parsing (an unreadable file, say)."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bexvendre",
        description="Convert and check documents between Bex and Vendre.",
    )
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    kinds = sorted(KINDS)
    conv = commands.add_parser(
        "convert",
        help="convert a document to the other side's JSON",
        description="Read a document (or a JSON array of them) and write the other side's JSON.",
    )
    conv.add_argument("kind", choices=kinds, metavar="KIND", help=f"one of: {', '.join(kinds)}")
    conv.add_argument("--from", dest="side", choices=("vendre", "bex"), required=True)
    conv.add_argument("--lookups", required=True, metavar="FILE", help="code tables (TOML)")
    conv.add_argument("--strict", action="store_true", help="reject unknown keys")
    conv.add_argument(
        "--indent",
        type=_indent,
        default=None,
        metavar="N",
        help=f"pretty-print, indented by N spaces (0 to {MAX_INDENT})",
    )
    conv.add_argument(
        "--jsonl",
        action="store_true",
        help="JSON Lines in and out, one record a line, streamed in constant memory; bad "
        "records are reported and skipped",
    )
    conv.add_argument("input", nargs="?", default="-", metavar="INPUT", help="file, or - for stdin")

    val = commands.add_parser(
        "validate",
        help="check a document",
        description="Check a document (or a JSON array of them); with --lookups, check that it "
        "converts too.",
    )
    val.add_argument("kind", choices=kinds, metavar="KIND", help=f"one of: {', '.join(kinds)}")
    val.add_argument("--from", dest="side", choices=("vendre", "bex"), required=True)
    val.add_argument("--lookups", default=None, metavar="FILE", help="also check conversion")
    val.add_argument("--strict", action="store_true", help="reject unknown keys")
    val.add_argument("input", nargs="?", default="-", metavar="INPUT", help="file, or - for stdin")

    commands.add_parser(
        "mapping",
        help="print the field mapping tables (Markdown)",
        description="Print every field of both sides as the converters map it, as Markdown "
        "(the page docs/mapping.md).",
    )

    flows = ("orders", "products", "stock", "statuses", "all")
    syn = commands.add_parser(
        "sync",
        help="run sync flows against the real APIs (needs the http extra)",
        description="Move orders Vendre → Bex and products, stock and statuses Bex → Vendre, "
        "with the state in SQLite. Exit 0 when all went through, 1 when a record failed (it is "
        "tried again next run), 3 when one was quarantined (a person must look), 2 on a usage "
        "or configuration error.",
    )
    syn.add_argument("flow", choices=flows, metavar="FLOW", help=f"one of: {', '.join(flows)}")
    syn.add_argument("--config", required=True, metavar="FILE", help="bexvendre.toml")
    syn.add_argument("--dry-run", action="store_true", help="print the plan; write nothing")
    syn.add_argument("--every", metavar="DURATION", help="run again every 30s, 5m, 1h ...")
    syn.add_argument(
        "--output",
        choices=("text", "json"),
        default="text",
        help="text (default) or json: each run's reports as one JSON line",
    )
    _worker_option(syn)
    syn.add_argument(
        "--baseline",
        action="store_true",
        help="orders only: record the orders existing now as never to be imported "
        "(nothing is sent to Bex); run once when going live",
    )

    quar = commands.add_parser(
        "quarantine",
        help="list, show, retry or drop quarantined records of every flow",
        description="The records a person must look at. An ID is FLOW:ENTITY (orders:100234, "
        "products:1003, stock:1001__42, statuses:X1) or a bare order id. Exit 2 for an ID not "
        "in quarantine; retry exits as sync does.",
    )
    quar.add_argument(
        "action",
        choices=("list", "show", "retry", "drop"),
        metavar="ACTION",
        help="list, show ID, retry [ID...], drop ID...",
    )
    quar.add_argument("--config", required=True, metavar="FILE", help="bexvendre.toml")
    quar.add_argument(
        "--flow", choices=("orders", "products", "stock", "statuses"), help="only this flow"
    )
    quar.add_argument(
        "--output", choices=("text", "json"), default="text", help="text (default) or json"
    )
    quar.add_argument("ids", nargs="*", default=[], metavar="ID", help="FLOW:ENTITY or order id")

    srv = commands.add_parser(
        "serve",
        help="take Vendre's order webhooks and import each order into Bex (needs the http extra)",
        description="Serve the webhook application (bexvendre_mapping.sync.webhook_app) with the "
        "standard library's threaded WSGI server until Ctrl-C. The secret comes from "
        "bexvendre.toml ([webhook] secret) or BEXVENDRE_WEBHOOK_SECRET, never the command line.",
    )
    srv.add_argument("--config", required=True, metavar="FILE", help="bexvendre.toml")
    srv.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    srv.add_argument(
        "--port", type=_port, default=8080, metavar="PORT", help="port (8080; 0: any free one)"
    )

    _operations_parsers(commands)

    commands.add_parser(
        "demo",
        help="run every flow against the sandbox, with faults (needs the http and cli extras)",
        description="Start both APIs on loopback, seed the examples, run every flow once with "
        "faults injected (a 503, a lost response, an order with an unknown payment code) and "
        "show what moved and what was quarantined. No account needed.",
    )

    look = commands.add_parser("lookups", help="work with code tables")
    look_commands = look.add_subparsers(dest="lookups_command", required=True, metavar="COMMAND")
    check = look_commands.add_parser(
        "check",
        help="list codes in documents that the tables do not map",
        description="List every payment, shipping, country, status, category and fee code in "
        "the documents that has no mapping. Each document's kind and side are recognised "
        "from its keys.",
    )
    check.add_argument("--lookups", required=True, metavar="FILE", help="code tables (TOML)")
    check.add_argument("documents", nargs="+", metavar="DOCUMENT", help="JSON files")
    return parser


def _operations_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``bexvendre run``, ``status`` and ``reconcile``: running it in production."""
    # bexvendre run (#19, daemon)
    run = commands.add_parser(
        "run",
        help="run every flow on its schedule until SIGTERM (needs the http extra)",
        description='Run each flow of bexvendre.toml\'s [schedule] (orders = "1m", stock = '
        '"30s", ...; without the table: orders 1m, products 1h, stock 1m, statuses 5m) in a '
        "thread of its own, each waiting for its own lock only. SIGTERM or Ctrl-C: the records "
        "in hand are finished and the state committed, then exit 0. Each run's heartbeat is "
        "written to the state for `bexvendre status`.",
    )
    run.add_argument("--config", required=True, metavar="FILE", help="bexvendre.toml")
    run.add_argument(
        "--once",
        action="store_true",
        help="run each flow once and exit: 0 done, 1 failed, 3 quarantined",
    )
    run.add_argument(
        "--metrics-port",
        type=_port,
        metavar="PORT",
        help="serve Prometheus metrics at /metrics on this port (needs the metrics extra)",
    )
    run.add_argument(
        "--metrics-host", default="127.0.0.1", help="address of --metrics-port (127.0.0.1)"
    )
    run.add_argument(
        "--output", choices=("text", "json"), default="text", help="text (default) or json lines"
    )
    _worker_option(run)

    # bexvendre status (#19, daemon)
    stat = commands.add_parser(
        "status",
        help="each flow's last run, result and lag, from the state (needs the http extra)",
        description="Print the heartbeat `bexvendre run` writes: each flow's last run, its "
        "result and its lag. Exit 1 when a flow's last run failed, 3 when it quarantined "
        "something, else 0.",
    )
    stat.add_argument("--config", required=True, metavar="FILE", help="bexvendre.toml")
    stat.add_argument(
        "--output", choices=("text", "json"), default="text", help="text (default) or json"
    )
    stat.add_argument(
        "--stale-after",
        metavar="DURATION",
        help="exit 1 when a scheduled flow ended no run within DURATION (10m, 1h ...)",
    )

    box = commands.add_parser(
        "sandbox",
        help="serve both APIs on loopback and give a bexvendre.toml for them (http, cli extras)",
        description="Start the sandbox of both APIs on loopback (seeded with the shipped "
        "examples), print a ready bexvendre.toml with their URLs and keys (or write it with "
        "--write-config, a copy of the shipped lookups.toml beside it), and serve until "
        "Ctrl-C or SIGTERM (exit 0). Try `bexvendre sync`, `run`, `serve` or `reconcile` "
        "against it by hand, no account needed.",
    )
    box.add_argument("--write-config", metavar="FILE", help="write the bexvendre.toml to FILE")
    box.add_argument("--empty", action="store_true", help="do not seed the shipped examples")

    gift = commands.add_parser("giftcards", help="gift-card checkouts (needs the http extra)")
    gift_commands = gift.add_subparsers(dest="action", required=True, metavar="ACTION")
    sweep = gift_commands.add_parser(
        "sweep",
        help="release reservations older than reservation_ttl",
        description="Release every gift-card checkout reservation older than the "
        "configuration's reservation_ttl (2 hours by default): carts abandoned after the "
        "card was reserved. Redeeming one afterwards raises ReservationExpired. Exit 0 when "
        "done, 1 when a request failed, 2 on a usage or configuration error.",
    )
    sweep.add_argument("--config", required=True, metavar="FILE", help="bexvendre.toml")

    rec = commands.add_parser(
        "reconcile",
        help="check that every Vendre order of a window reached Bex once (needs the http extra)",
        description="List the Vendre orders placed from --since (to --until) and check each "
        "against Bex and the state: missing in Bex, created twice, in Bex but unknown to the "
        "state, changed after import, quarantined. Reads only. Exit 0 when clean, 3 on a "
        "discrepancy, 1 when a request failed, 2 on a usage or configuration error.",
    )
    rec.add_argument("--config", required=True, metavar="FILE", help="bexvendre.toml")
    rec.add_argument(
        "--since",
        required=True,
        type=_moment,
        metavar="DATE",
        help="first day (2024-05-01) or moment (2024-05-01T08:00, the shop's wall clock "
        "unless it has an offset)",
    )
    rec.add_argument(
        "--until",
        type=_moment,
        metavar="DATE",
        help="last day, included (or a moment, excluded); default now",
    )
    rec.add_argument(
        "--output", choices=("text", "json"), default="text", help="text (default) or json"
    )


def _indent(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text[:40]!r}") from None
    if not 0 <= value <= MAX_INDENT:
        msg = f"expected 0 to {MAX_INDENT} spaces, got {text[:40]}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text[:40]!r}") from None
    if not 0 <= value <= MAX_PORT:
        msg = f"expected a port from 0 to {MAX_PORT}, got {text[:40]}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _worker_option(parser: argparse.ArgumentParser) -> None:
    """``--worker NAME`` of ``bexvendre sync`` and ``bexvendre run``."""
    parser.add_argument(
        "--worker",
        type=_worker,
        metavar="NAME",
        help="import orders beside other workers on one PostgreSQL state, claiming each "
        "order (a name unique to this worker; wins over worker and BEXVENDRE_WORKER)",
    )


def _worker(text: str) -> str:
    """``--worker``: a name, without control characters."""
    if not text.strip() or has_control_character(text):
        msg = f"expected a worker name without control characters, got {text[:40]!r}"
        raise argparse.ArgumentTypeError(msg)
    return text


def _moment(text: str) -> date | datetime:
    """``--since``/``--until``: an ISO date, or an ISO date and time."""
    try:
        if len(text) <= len("YYYY-MM-DD"):
            return date.fromisoformat(text)
        return datetime.fromisoformat(text)
    except ValueError:
        msg = f"expected a date like 2024-05-01 or 2024-05-01T08:00, got {text[:40]!r}"
        raise argparse.ArgumentTypeError(msg) from None


def _version() -> str:
    from bexvendre_mapping import __version__  # noqa: PLC0415 - avoids an import cycle

    return f"bexvendre {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = _parse(parser, argv)
    if sys.stdout is None:  # started with the descriptor closed: nowhere to write to
        if sys.stderr is not None:
            sys.stderr.write("bexvendre: error: standard output is closed\n")
        return EXIT_USAGE
    try:
        return _run(args)
    except _UsageError as exc:
        parser.exit(EXIT_USAGE, f"bexvendre: error: {exc}\n")
    except KeyboardInterrupt:  # Ctrl-C in a command that has no cleaner stop of its own
        sys.stderr.write("bexvendre: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BAD_DATA
    except OSError as exc:  # the output cannot be written (a full disk, say), or a file used
        what = "write the output" if exc.filename is None else f"use {exc.filename!r}"
        sys.stderr.write(f"bexvendre: error: cannot {what}: {exc.strerror or exc}\n")
        return EXIT_BAD_DATA


def _run(args: argparse.Namespace) -> int:
    if args.command == "convert":
        return _convert(args, sys.stdout, sys.stderr)
    if args.command == "validate":
        return _validate(args, sys.stdout, sys.stderr)
    if args.command in ("sync", "quarantine", "serve", "demo", "sandbox"):
        return _sync_commands(args)
    if args.command in ("run", "status", "reconcile", "giftcards"):
        return _operations(args)
    if args.command == "mapping":
        from bexvendre_mapping.fieldmap import render_markdown  # noqa: PLC0415

        sys.stdout.write(render_markdown())
        return EXIT_OK
    return _lookups_check(args, sys.stdout, sys.stderr)


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """The arguments; exits with the usage error when they are wrong."""
    args, extras = parser.parse_known_args(argv)
    # argparse hands out positionals in one go, so an INPUT after the options arrives here.
    if (
        args.command in ("convert", "validate")
        and args.input == "-"
        and len(extras) == 1
        and (extras[0] == "-" or not extras[0].startswith("-"))
    ):
        args.input, extras = extras[0], []
    if args.command == "quarantine":  # IDs after --config arrive here too
        # A new list: the parser's default one must not grow from one parse to the next.
        args.ids = [*args.ids, *(extra for extra in extras if not extra.startswith("--"))]
        extras = [extra for extra in extras if extra.startswith("--")]
        if args.action == "list" and args.ids:
            parser.error("quarantine list takes no ID (use --flow to choose a flow)")
    if extras:
        parser.error(f"unrecognized arguments: {' '.join(extras)}")
    return args


def _sync_commands(args: argparse.Namespace) -> int:
    try:
        from bexvendre_mapping.sync import _cli  # noqa: PLC0415
    except ImportError as exc:
        raise _UsageError(str(exc)) from None
    try:
        if args.command == "demo":
            return _cli.demo(sys.stdout, sys.stderr)
        if args.command == "sandbox":
            from bexvendre_mapping.sync._sandbox_cli import sandbox_command  # noqa: PLC0415

            return sandbox_command(
                write_config=args.write_config,
                seed=not args.empty,
                out=sys.stdout,
                err=sys.stderr,
                ready=threading.Event(),
            )
        if args.command == "serve":
            return _cli.serve(
                args.config, host=args.host, port=args.port, out=sys.stdout, err=sys.stderr
            )
        if args.command == "quarantine":
            return _cli.quarantine(
                args.action,
                args.config,
                args.ids,
                flow=args.flow,
                output=args.output,
                out=sys.stdout,
                err=sys.stderr,
            )
        flows = _cli.FLOWS if args.flow == "all" else (args.flow,)
        return _cli.sync(
            flows,
            args.config,
            dry_run=args.dry_run,
            every=args.every,
            out=sys.stdout,
            err=sys.stderr,
            output=args.output,
            baseline=args.baseline,
            worker=args.worker,
        )
    except MappingError as exc:  # bexvendre.toml, checked before anything runs
        raise _UsageError(f"bad configuration:\n{exc}") from None
    except _cli.UsageError as exc:  # bad --every, an id not in quarantine
        raise _UsageError(str(exc)) from None


def _reconcile(args: argparse.Namespace) -> int:
    try:
        from bexvendre_mapping.sync import _cli, _reconcile  # noqa: PLC0415
    except ImportError as exc:
        raise _UsageError(str(exc)) from None
    try:
        return _reconcile.reconcile_command(
            args.config, since=args.since, until=args.until, output=args.output, out=sys.stdout
        )
    except MappingError as exc:  # bexvendre.toml, checked before anything runs
        raise _UsageError(f"bad configuration:\n{exc}") from None
    except _cli.UsageError as exc:  # --until before --since
        raise _UsageError(str(exc)) from None


def _operations(args: argparse.Namespace) -> int:
    """``bexvendre run``, ``status``, ``reconcile`` and ``giftcards``."""
    if args.command == "giftcards":
        return _giftcards(args)
    return _reconcile(args) if args.command == "reconcile" else _daemon_commands(args)


def _giftcards(args: argparse.Namespace) -> int:
    """``bexvendre giftcards sweep``."""
    try:
        from bexvendre_mapping.sync import _cli  # noqa: PLC0415
    except ImportError as exc:
        raise _UsageError(str(exc)) from None
    try:
        return _cli.sweep_gift_cards(args.config, out=sys.stdout)
    except MappingError as exc:  # bexvendre.toml, checked before anything runs
        raise _UsageError(f"bad configuration:\n{exc}") from None


def _daemon_commands(args: argparse.Namespace) -> int:
    """``bexvendre run`` and ``bexvendre status`` (#19, daemon)."""
    try:
        from bexvendre_mapping.sync import _daemon  # noqa: PLC0415
    except ImportError as exc:
        raise _UsageError(str(exc)) from None
    try:
        if args.command == "status":
            return _daemon.status(
                args.config, output=args.output, out=sys.stdout, stale_after=args.stale_after
            )
        return _daemon.run(
            args.config,
            once=args.once,
            metrics_port=args.metrics_port,
            metrics_host=args.metrics_host,
            output=args.output,
            out=sys.stdout,
            err=sys.stderr,
            worker=args.worker,
        )
    except MappingError as exc:  # bexvendre.toml, checked before anything runs
        raise _UsageError(f"bad configuration:\n{exc}") from None
    except ImportError as exc:  # --metrics-port without the metrics extra
        raise _UsageError(str(exc)) from None
    except ValueError as exc:  # a bad --stale-after
        raise _UsageError(f"--stale-after: {exc}") from None


def _read(name: str) -> bytes:
    if name == "-":
        return _stdin().read()
    try:
        with open(name, "rb") as file:
            return file.read()
    except OSError as exc:
        raise _UsageError(f"cannot read {name!r}: {exc.strerror}") from None


def _stdin() -> IO[bytes]:
    if sys.stdin is None:  # started with the descriptor closed
        raise _UsageError("standard input is closed")
    return sys.stdin.buffer


def _load_lookups(name: str) -> Lookups:
    try:
        return Lookups.from_toml(name)
    except MappingError as exc:
        raise _UsageError(f"bad lookups file:\n{exc}") from None


def _each(document: Any) -> Iterator[tuple[str, Any]]:
    """The documents to handle: the one given, or each item of a JSON array, with its path."""
    if isinstance(document, list):
        for index, item in enumerate(document):
            yield child_path("$", index), item
    else:
        yield "$", document


def _objects(document: Any, problems: list[Problem]) -> Iterator[tuple[str, dict[str, Any]]]:
    """:func:`_each`'s documents that are JSON objects; each other one is a problem.

    Once ``problems`` holds ``MappingError.MAX_PROBLEMS``, the rest is not checked: a note
    says so, and the output stays short whatever the input.
    """
    for base, item in _each(document):
        if len(problems) >= MappingError.MAX_PROBLEMS:
            problems.append(Problem(base, note(stopped=True)))
            return
        if isinstance(item, dict):
            yield base, item
        else:
            problems.append(Problem(base, f"expected a JSON object, got {json_type(item)}"))


class _Budget:
    """How many more problems a command prints (``MappingError.MAX_PROBLEMS`` in all)."""

    def __init__(self) -> None:
        self.left = MappingError.MAX_PROBLEMS
        self.more = 0  # past the budget: counted, not kept

    def take(self) -> bool:
        """Whether one more problem is printed; if not, it is counted."""
        if self.left > 0:
            self.left -= 1
            return True
        self.more += 1
        return False


class _Capped(list[Problem]):
    """A list of problems that keeps what its budget allows and counts the rest."""

    def __init__(self, budget: _Budget) -> None:
        super().__init__()
        self.budget = budget
        self.found = 0  # kept or not

    def append(self, problem: Problem) -> None:
        self.found += 1
        if self.budget.take():
            super().append(problem)

    def extend(self, problems: Iterable[Problem]) -> None:
        for problem in problems:
            self.append(problem)

    def noted(self) -> list[Problem]:
        """The problems kept, then a note saying how many more the budget left out."""
        if not self.budget.more:
            return list(self)
        return [*self, Problem("$", note(self.budget.more))]


def _report(problems: Sequence[Problem], err: IO[str]) -> None:
    """Print the problems, one a line: at most ``MappingError.MAX_PROBLEMS``, then a note."""
    for problem in bounded(problems):
        err.write(f"{problem}\n")


def _rebase(error: MappingError, base: str) -> list[Problem]:
    return [Problem(base + p.path[1:], p.message) for p in error.problems]


def _convert(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    lookups = _load_lookups(args.lookups)
    if args.jsonl:
        return _convert_jsonl(args, lookups, err)
    kind = KINDS[args.kind]
    side = args.side
    try:
        document = parse_document(_read(args.input))
    except MappingError as exc:
        _report(exc.problems, err)
        return EXIT_BAD_DATA
    results: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for base, item in _objects(document, problems):
        try:
            model = kind.load[side](item, strict=args.strict, time_zone=lookups.settings.time_zone)
            other = kind.to_other[side](model, lookups)
            results.append(kind.dump[OTHER[side]](other, time_zone=lookups.settings.time_zone))
        except MappingError as exc:
            problems += _rebase(exc, base)
    if problems:
        _report(problems, err)
        return EXIT_BAD_DATA
    output: Any = results if isinstance(document, list) else results[0]
    out.write(dumps_json(output, indent=args.indent).decode())
    out.write("\n")
    return EXIT_OK


def _open_lines(name: str) -> IO[bytes]:
    if name == "-":
        return _stdin()
    try:
        return open(name, "rb")
    except OSError as exc:
        raise _UsageError(f"cannot read {name!r}: {exc.strerror}") from None


def _convert_jsonl(args: argparse.Namespace, lookups: Lookups, err: IO[str]) -> int:
    from bexvendre_mapping.stream import convert_lines  # noqa: PLC0415

    # Bad records are skipped; a million of them print what a thousand do, and a count.
    problems = _Capped(_Budget())
    source = _open_lines(args.input)
    out = sys.stdout.buffer
    with _progress(err) as advance:
        try:
            for index, line in enumerate(
                convert_lines(
                    source,
                    args.kind,
                    source=args.side,
                    lookups=lookups,
                    strict=args.strict,
                    errors=problems,
                ),
                start=1,
            ):
                out.write(line)
                if not index % 10_000:
                    advance(10_000)
        finally:
            if source is not sys.stdin.buffer:
                source.close()
    out.flush()
    _report(problems.noted(), err)
    return EXIT_BAD_DATA if problems else EXIT_OK


@contextlib.contextmanager
def _progress(err: IO[str]) -> Iterator[Callable[[int], None]]:
    """A live count of records on a terminal (with rich when the ``cli`` extra is there)."""
    if not err.isatty():
        yield lambda _: None
        return
    try:
        from rich.console import Console  # noqa: PLC0415
        from rich.progress import Progress, SpinnerColumn, TextColumn  # noqa: PLC0415
    except ImportError:
        done = [0]

        def advance(count: int) -> None:
            done[0] += count
            err.write(f"\r{done[0]:,} records")
            err.flush()

        yield advance
        err.write("\n")
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.completed:,} records converted"),
        console=Console(file=err),  # never on standard output, which carries the records
        transient=True,
    ) as progress:
        task = progress.add_task("convert", total=None)
        yield lambda count: progress.advance(task, count)


def _validate(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    lookups = _load_lookups(args.lookups) if args.lookups else None
    zone = lookups.settings.time_zone if lookups else "Europe/Stockholm"
    kind = KINDS[args.kind]
    try:
        document = parse_document(_read(args.input))
    except MappingError as exc:
        _report(exc.problems, err)
        return EXIT_BAD_DATA
    problems: list[Problem] = []
    count = 0
    for base, item in _objects(document, problems):
        count += 1
        try:
            model = kind.load[args.side](item, strict=args.strict, time_zone=zone)
            if lookups is not None:
                kind.to_other[args.side](model, lookups)
        except MappingError as exc:
            problems += _rebase(exc, base)
    if problems:
        _report(problems, err)
        return EXIT_BAD_DATA
    out.write(f"ok: {count} {args.side} {args.kind} document{'s' if count != 1 else ''}\n")
    return EXIT_OK


# --- lookups check -------------------------------------------------------------------------

Code = tuple[str, bool, Any, str]  # table, reverse?, code, path


def _codes(  # noqa: PLR0912, PLR0915 - one branch per kind of document
    document: Any, base: str, lookups: Lookups, problems: list[Problem]
) -> Iterator[Code]:
    """The codes a document holds, recognised by its keys.

    What is malformed where codes are looked for (a list that is not one, a total's class
    that is not a string) goes to ``problems``, with its path.
    """
    if not isinstance(document, dict):
        problems.append(Problem(base, f"expected a JSON object, got {json_type(document)}"))
        return
    get = document.get
    if "products" in document and "totals" in document:  # a Vendre order
        payment = get("payment") or {}
        if isinstance(payment, dict) and "payment_method" in payment:
            yield (
                "payment_methods",
                False,
                payment["payment_method"],
                f"{base}.payment.payment_method",
            )
        shipping = get("shipping") or {}
        if isinstance(shipping, dict) and "method_id" in shipping:
            yield "shipping_methods", False, shipping["method_id"], f"{base}.shipping.method_id"
        for block in ("billing_address", "delivery_address"):
            address = get(block) or {}
            if isinstance(address, dict) and "country_id" in address:
                yield "countries", False, _int(address["country_id"]), f"{base}.{block}.country_id"
        for index, total in enumerate(_list(document, "totals", base, problems)):
            cls = total.get("class") if isinstance(total, dict) else None
            path = f"{base}.totals[{index}].class"
            if cls is not None and not isinstance(cls, str):
                problems.append(Problem(path, f"expected a string, got {show(cls)}"))
            elif cls is not None and cls not in NOT_ROWS and cls != "ot_shipping":
                yield "fee_articles", False, cls, path
    elif "Artiklar" in document:  # a Bex order
        payments = _list(document, "Butik & webbetalningar", base, problems)
        for index, payment in enumerate(payments):
            code = payment.get("Kod") if isinstance(payment, dict) else None
            if code is not None and code != lookups.gift_card_payment_code:
                path = f"{base}['Butik & webbetalningar'][{index}].Kod"
                yield "payment_methods", True, code, path
        if "FraktID" in document:
            yield "shipping_methods", True, document["FraktID"], f"{base}.FraktID"
        for block, key in (("Faktureras", "Land"), ("Leveransadress", "Landskod")):
            address = get(block) or {}
            if isinstance(address, dict) and key in address:
                yield "countries", True, address[key], f"{base}.{block}.{key}"
    elif "Artikel" in document and "Extern referens" in document:  # a Bex article
        yield "categories", False, document["Extern referens"], f"{base}['Extern referens']"
        if "Moms" in document:
            yield "tax_classes", True, _percent(document["Moms"]), f"{base}.Moms"
        if get("LeverantörsID"):
            yield "manufacturers", False, document["LeverantörsID"], f"{base}.LeverantörsID"
    elif isinstance(get("parent"), dict) and "children" in document:  # a product family
        yield from _codes(document["parent"], f"{base}.parent", lookups, problems)
        for index, child in enumerate(_list(document, "children", base, problems)):
            yield from _codes(child, f"{base}.children[{index}]", lookups, problems)
    elif isinstance(get("list"), list) and "remaining" in document:  # a listing page
        for index, item in enumerate(document["list"]):
            yield from _codes(item, f"{base}.list[{index}]", lookups, problems)
    elif "article_number" in document and "tax_class_id" in document:  # a Vendre product
        yield "tax_classes", False, _int(document["tax_class_id"]), f"{base}.tax_class_id"
        for index, category in enumerate(_list(document, "category_ids", base, problems)):
            yield "categories", True, _int(category), f"{base}.category_ids[{index}]"
        if get("manufacturer_id") is not None:
            path = f"{base}.manufacturer_id"
            yield "manufacturers", True, _int(document["manufacturer_id"]), path
    elif "Ordernr" in document and "Status" in document:  # a Bex order status
        yield "order_statuses", False, document["Status"], f"{base}.Status"
    elif "id" in document and "status" in document:  # a Vendre status update
        yield "order_statuses", True, _int(document["status"]), f"{base}.status"
    elif not any(required <= document.keys() for required in _CODELESS):
        problems.append(_unrecognised(document, base))


# Documents that hold no code: stock, gift cards, reservations, bonus balances, each known
# by the keys every one of them has.
_CODELESS_MODELS = (
    vendre.StockUpdate,
    vendre.GiftCard,
    vendre.BonusBalance,
    bex.Stock,
    bex.GiftCard,
    bex.GiftCardReservation,
    bex.BonusBalance,
)
_CODELESS = [
    frozenset(wire_keys(cls)[f.name] for f in attrs.fields(cls) if f.default is attrs.NOTHING)
    for cls in _CODELESS_MODELS
]
_DOCUMENT_MODELS = (
    vendre.Order,
    vendre.Product,
    vendre.OrderStatusUpdate,
    bex.Order,
    bex.Article,
    bex.OrderStatus,
    *_CODELESS_MODELS,
)
_DOCUMENT_KEYS = frozenset(key for cls in _DOCUMENT_MODELS for key in wire_keys(cls).values())
_KINDS_CHECKED = (
    "a Vendre or Bex order, product or article, order status, stock, gift card, gift-card "
    "reservation or bonus balance"
)


def _unrecognised(document: dict[str, Any], base: str) -> Problem:
    """The problem of a JSON object whose keys are those of no document the check knows."""
    unknown = [key for key in document if key not in _DOCUMENT_KEYS]
    named = []
    for key in unknown[:3]:
        near = closest(key, sorted(_DOCUMENT_KEYS))
        hint = f" (did you mean {', '.join(repr(n) for n in near)}?)" if near else ""
        named.append(f"{show(key)}{hint}")
    if len(unknown) > len(named):
        named.append(f"{len(unknown) - len(named):,} more")
    detail = f"; unknown key{'s' if len(unknown) > 1 else ''}: {', '.join(named)}" if named else ""
    return Problem(base, f"not a document the check knows: expected {_KINDS_CHECKED}{detail}")


def _list(document: dict[str, Any], key: str, base: str, problems: list[Problem]) -> list[Any]:
    """The list at ``key`` (none when absent or null), or a problem and none."""
    value = document.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(Problem(child_path(base, key), f"expected a list, got {show(value)}"))
        return []
    return value


def _percent(value: Any) -> Any:
    """A VAT percent as a Decimal to look up, or the value as it is when it is none."""
    try:
        return parse_decimal(value)
    except MappingError:
        return value


def _int(value: Any) -> Any:
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return value


def _lookups_check(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    lookups = _load_lookups(args.lookups)
    checked = unmapped = 0
    budget = _Budget()  # of all the files: the output stays short whatever the input
    missing: list[tuple[str, Problem]] = []
    unreadable = False
    for name in args.documents:
        try:
            document = parse_document(_read(name))
        except MappingError as exc:
            unreadable = True
            err.writelines(f"{name}: {p}\n" for p in exc.problems)
            continue
        malformed = _Capped(budget)
        for base, item in _each(document):
            for table_name, reverse, code, path in _codes(item, base, lookups, malformed):
                checked += 1
                table: CodeTable[Any, Any] = getattr(lookups, table_name)
                if _known(table, code, reverse):
                    continue
                unmapped += 1
                if budget.take():  # only then the search for the closest known codes
                    try:
                        table.reverse(code, path=path) if reverse else table.get(code, path=path)
                    except UnknownCodeError as exc:
                        missing += [(name, p) for p in exc.problems]
        if malformed.found:
            unreadable = True
            err.writelines(f"{name}: {p}\n" for p in malformed)
    for name, problem in missing:
        err.write(f"{name}: {problem}\n")
    if budget.more:
        err.write(f"{note(budget.more)}\n")
    noun = "code" if checked == 1 else "codes"
    out.write(f"{checked} {noun} checked, {unmapped} without a mapping\n")
    return EXIT_BAD_DATA if unmapped or unreadable else EXIT_OK


def _known(table: CodeTable[Any, Any], code: Any, reverse: bool) -> bool:
    """Whether ``table`` maps ``code`` (read backwards with ``reverse``)."""
    try:
        return table.has_value(code) if reverse else code in table
    except TypeError:  # not hashable: a list where a code should be
        return False


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
