"""``bexvendre sandbox``: both APIs on loopback and a ready bexvendre.toml, tried by hand."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from bexvendre_mapping._examples import examples_dir

READY = "Ctrl-C stops it"


def _command(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - this interpreter, our own command
        [sys.executable, "-m", "bexvendre_mapping.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


class Running:
    """A ``bexvendre sandbox`` process and the standard error it wrote so far."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.err: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._lines.put(line)
        self._lines.put(None)

    def wait_for(self, text: str, timeout: float = 60) -> None:
        while True:
            line = self._lines.get(timeout=timeout)
            if line is None:
                pytest.fail(f"the sandbox ended before {text!r}: {''.join(self.err)}")
            self.err.append(line)
            if text in line:
                return

    def stop(self) -> tuple[int, str, str]:
        """SIGTERM; its exit status, standard output and the rest of standard error."""
        self.process.send_signal(signal.SIGTERM)
        status = self.process.wait(timeout=10)
        while (line := self._lines.get(timeout=10)) is not None:
            self.err.append(line)
        assert self.process.stdout is not None
        return status, self.process.stdout.read(), "".join(self.err)


@contextlib.contextmanager
def sandbox(*args: str, cwd: Path) -> Iterator[Running]:
    process = subprocess.Popen(  # noqa: S603 - this interpreter, our own command
        [sys.executable, "-m", "bexvendre_mapping.cli", "sandbox", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    running = Running(process)
    try:
        yield running
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        running.reader.join(10)
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()


def test_write_config_then_sync_reconcile_and_stop(tmp_path: Path) -> None:
    """The whole session by hand: a config written, a sync against it, a reconcile, SIGTERM."""
    config = tmp_path / "bexvendre.toml"
    with sandbox("--write-config", str(config), cwd=tmp_path) as running:
        running.wait_for(READY)
        written = tomllib.loads(config.read_text("utf-8"))
        assert written["lookups"] == "lookups.toml"
        assert (tmp_path / "lookups.toml").read_bytes() == (
            examples_dir() / "lookups.toml"
        ).read_bytes()
        assert written["vendre"]["url"].startswith("http://127.0.0.1:")
        assert written["bex"]["secret"]
        assert len(written["webhook"]["secret"]) >= 16

        synced = _command("sync", "all", "--config", str(config), cwd=tmp_path)
        assert synced.returncode == 0, synced.stdout + synced.stderr
        assert "orders: 1 done" in synced.stdout
        again = _command("sync", "orders", "--config", str(config), cwd=tmp_path)
        assert again.returncode == 0
        assert "orders: nothing to do" in again.stdout

        checked = _command(
            "reconcile", "--config", str(config), "--since", "2020-01-01", cwd=tmp_path
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr

        status, out, err = running.stop()
    assert status == 0
    assert out == ""
    assert "Traceback" not in err
    assert "sandbox stopped" in err


def test_the_config_is_printed_when_not_written(tmp_path: Path) -> None:
    """Without --write-config the TOML goes to standard output, its lookups the shipped file;
    an empty sandbox has no orders to import."""
    with sandbox("--empty", cwd=tmp_path) as running:
        running.wait_for(READY)
        assert "empty" in "".join(running.err)
        assert running.process.stdout is not None
        lines = [running.process.stdout.readline()]
        while not lines[-1].startswith("[webhook]"):
            lines.append(running.process.stdout.readline())
        lines.append(running.process.stdout.readline())  # its secret
        text = "".join(lines)
        printed = tomllib.loads(text)
        assert Path(printed["lookups"]) == examples_dir() / "lookups.toml"
        config = tmp_path / "copied.toml"
        config.write_text(text, "utf-8")
        synced = _command("sync", "orders", "--config", str(config), cwd=tmp_path)
        assert synced.returncode == 0, synced.stderr
        assert "orders: nothing to do" in synced.stdout
        running.process.send_signal(signal.SIGINT)
        assert running.process.wait(timeout=10) == 0


def test_a_lookups_toml_beside_the_written_config_is_kept(tmp_path: Path) -> None:
    """Code tables a person edited are not overwritten by the shipped ones."""
    (tmp_path / "lookups.toml").write_text("# mine\n", "utf-8")
    config = tmp_path / "bexvendre.toml"
    with sandbox("--empty", "--write-config", str(config), cwd=tmp_path) as running:
        running.wait_for(READY)
        assert tomllib.loads(config.read_text("utf-8"))["lookups"] == "lookups.toml"
        assert (tmp_path / "lookups.toml").read_text("utf-8") == "# mine\n"
        status, _, err = running.stop()
    assert status == 0
    assert "Traceback" not in err
