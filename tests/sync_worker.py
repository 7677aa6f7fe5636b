"""A worker process of the crash and concurrency tests: ``import_orders`` until done.

    python -m tests.sync_worker CONFIG --reports FILE [--until FILE] [--max-runs N]
        [--lock-wait SECONDS] [--fork]

It reads ``CONFIG`` (a ``bexvendre.toml``; secrets in the environment) and opens the state
the way the command line does, so it runs against whatever store the configuration names.
Its clients are the configuration's, with retries that do not back off (the sandbox's
faults are many and the tests short). Once set up it prints ``ready`` on standard output,
then runs ``import_orders`` again and again, appending one JSON line per run to the reports
file (its counts and the order ids done and failed), until a run without a failure:

- without ``--until``, the first such run ends it;
- with ``--until FILE``, only a run that began after ``FILE`` appeared ends it (the test
  creates the file once it has added its last order).

A run that finds the orders lock held (:class:`LockedError`) is tried again after a short
pause, for ``--lock-wait`` seconds in all. Exit status: 0 done; 1 ``--max-runs`` runs
without a run that ends it; 4 the lock stayed held.

With ``--fork`` it is a fork server instead, for tests that start many workers: having
imported everything once, it reads commands on standard input. ``run`` forks a worker as
above (it prints ``ready <pid>``, so that the test can kill it), waits for it and prints
``exit <status>`` (``-9`` for a worker killed by SIGKILL); end of input ends it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path

from bexvendre_mapping.http import BexClient, RetryPolicy, VendreClient
from bexvendre_mapping.sync import LockedError, Report, import_orders, load_config
from bexvendre_mapping.sync._cli import _state
from bexvendre_mapping.sync._config import order_options

# Repeat at once, as the sandbox's own clients do; a Retry-After is cut to 1 s.
RETRIES = RetryPolicy(total=3, backoff_factor=0, jitter=0, retry_after_max=1)
# (connect, read) seconds: loopback answers at once unless a fault holds it.
TIMEOUT = (2.0, 5.0)


def _line(report: Report) -> str:
    by_result: dict[str, list[str]] = {}
    for outcome in report.outcomes:
        by_result.setdefault(outcome.result, []).append(outcome.entity)
    return json.dumps({"counts": report.counts, **by_result}) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the worker, or the fork server; its exit status."""
    parser = argparse.ArgumentParser(prog="python -m tests.sync_worker")
    parser.add_argument("config")
    parser.add_argument("--reports", required=True, type=Path)
    parser.add_argument("--until", type=Path)
    parser.add_argument("--max-runs", type=int, default=20)
    parser.add_argument("--lock-wait", type=float, default=60.0)
    parser.add_argument("--fork", action="store_true")
    parser.add_argument("--worker", help="claim each order as this worker (several at once)")
    args = parser.parse_args(argv)
    if not args.fork:
        return work(args)
    for command in sys.stdin:
        if command.strip() != "run":
            sys.stderr.write(f"unknown command {command!r}\n")
            return 2
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the worker: never back into the server's loop
            status = 70
            try:
                status = work(args, f"ready {os.getpid()}")
            except BaseException:  # noqa: BLE001 - shown, and the status says it failed
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(status)
        _, wait_status = os.waitpid(pid, 0)
        sys.stdout.write(f"exit {os.waitstatus_to_exitcode(wait_status)}\n")
        sys.stdout.flush()
    return 0


def work(args: argparse.Namespace, ready: str = "ready") -> int:
    """Run ``import_orders`` as the module's description says; the exit status."""
    config = load_config(args.config)
    zone = config.lookups.settings.time_zone
    options = {"retries": RETRIES, "timeout": TIMEOUT, "trust_env": False, "time_zone": zone}
    vendre_client = VendreClient(
        config.vendre_url,
        config.vendre_api_key,
        auth=config.vendre_auth,  # type: ignore[arg-type]
        **options,
    )
    bex_client = BexClient(
        config.bex_url,
        config.bex_api_key,
        config.bex_secret,
        location=config.bex_location,
        **options,
    )
    with vendre_client, bex_client, _state(config) as state, args.reports.open("a") as reports:
        sys.stdout.write(ready + "\n")
        sys.stdout.flush()
        lock_deadline = time.monotonic() + args.lock_wait
        runs = 0
        while runs < args.max_runs:
            last = args.until is None or args.until.exists()
            try:
                report = import_orders(
                    vendre_client,
                    bex_client,
                    config.lookups,
                    state,
                    overlap=config.overlap,
                    worker=args.worker,
                    **order_options(config),
                )
            except LockedError:
                if time.monotonic() > lock_deadline:
                    return 4
                time.sleep(0.02)
                continue
            runs += 1
            reports.write(_line(report))
            reports.flush()
            if last and report.ok:
                return 0
            time.sleep(0.01)  # let another worker take the lock
    return 1


if __name__ == "__main__":
    sys.exit(main())
