"""``bexvendre sandbox``: both APIs on loopback and a ready ``bexvendre.toml``, to try by hand."""

from __future__ import annotations

import secrets
import shutil
import threading
from pathlib import Path
from typing import IO

from bexvendre_mapping._examples import examples_dir
from bexvendre_mapping.sync._stop import stop_on_signals

__all__ = ["config_text", "sandbox_command"]


def _toml_string(text: str) -> str:
    """``text`` as a TOML basic string (the URLs, keys and paths written here need no more)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def config_text(
    *,
    vendre_url: str,
    vendre_api_key: str,
    bex_url: str,
    bex_api_key: str,
    bex_secret: str,
    bex_location: str,
    lookups: str,
    webhook_secret: str,
) -> str:
    """A ``bexvendre.toml`` for the given APIs, with the keys in the file (a sandbox's keys)."""
    lines = [
        "# bexvendre.toml for a sandbox on loopback (bexvendre sandbox): keys are throwaway.",
        f"lookups = {_toml_string(lookups)}",
        'state = "bexvendre-state.sqlite3"',
        'audit = "bexvendre-audit.jsonl"',
        "",
        "[vendre]",
        f"url = {_toml_string(vendre_url)}",
        f"api_key = {_toml_string(vendre_api_key)}",
        "",
        "[bex]",
        f"url = {_toml_string(bex_url)}",
        f"api_key = {_toml_string(bex_api_key)}",
        f"secret = {_toml_string(bex_secret)}",
        f"location = {_toml_string(bex_location)}",
        "",
        "[webhook]",
        f"secret = {_toml_string(webhook_secret)}",
        "",
    ]
    return "\n".join(lines)


def sandbox_command(
    *, write_config: str | None, seed: bool, out: IO[str], err: IO[str], ready: threading.Event
) -> int:
    """Serve both sandbox APIs until SIGTERM or SIGINT; print or write their configuration.

    With ``write_config``, the configuration goes to that file and a copy of the shipped
    ``lookups.toml`` next to it (an existing ``lookups.toml`` there is kept); otherwise it is
    printed, its ``lookups`` pointing at the shipped file. ``ready`` is set once the APIs
    answer.
    """
    from bexvendre_mapping.testing.sandbox import Sandbox  # noqa: PLC0415 - needs werkzeug

    stop = threading.Event()
    with stop_on_signals(stop), Sandbox(seed_examples=seed) as sandbox:
        shipped = examples_dir() / "lookups.toml"
        lookups = str(shipped)
        if write_config is not None:
            target = Path(write_config)
            beside = target.parent / "lookups.toml"
            if not beside.exists():
                shutil.copyfile(shipped, beside)
            lookups = "lookups.toml"
        text = config_text(
            vendre_url=sandbox.vendre_url,
            vendre_api_key=sandbox.vendre_api_key,
            bex_url=sandbox.bex_url,
            bex_api_key=sandbox.bex_api_key,
            bex_secret=sandbox.bex_secret,
            bex_location=sandbox.bex_location,
            lookups=lookups,
            webhook_secret=secrets.token_urlsafe(24),
        )
        if write_config is None:
            out.write(text)
            out.flush()
        else:
            Path(write_config).write_text(text, encoding="utf-8")
            err.write(f"wrote {write_config}: try `bexvendre sync all --config {write_config}`\n")
        seeded = "seeded with the shipped examples" if seed else "empty"
        err.write(
            f"Sandbox ({seeded}): Vendre at {sandbox.vendre_url}, Bex at {sandbox.bex_url}; "
            "Ctrl-C stops it\n"
        )
        err.flush()
        ready.set()
        stop.wait()
    err.write("sandbox stopped\n")
    return 0
