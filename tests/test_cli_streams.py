"""The command line when its streams fail it, and quarantine IDs wherever they are given."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from bexvendre_mapping import cli

ROOT = Path(__file__).resolve().parent.parent
LOOKUPS = str(ROOT / "examples" / "lookups.toml")
ORDER = str(ROOT / "examples" / "vendre-order.json")
COMMAND = f"{shlex.quote(sys.executable)} -m bexvendre_mapping.cli"


def shell(line: str) -> subprocess.CompletedProcess[str]:
    """Run the command line through the shell, for redirections Python cannot set up."""
    return subprocess.run(  # noqa: S603 - our own command with fixed arguments
        ["/bin/sh", "-c", line], capture_output=True, text=True, check=False, cwd=ROOT
    )


needs_dev_full = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")


@needs_dev_full
@pytest.mark.parametrize(
    "arguments",
    [f"convert order --from vendre --lookups {LOOKUPS} {ORDER}", "mapping"],
)
def test_a_full_disk_is_reported_not_a_traceback(arguments: str) -> None:
    result = shell(f"{COMMAND} {arguments} > /dev/full")
    assert result.returncode == 1
    assert result.stderr == "bexvendre: error: cannot write the output: No space left on device\n"


def test_a_closed_standard_output_is_a_usage_error() -> None:
    result = shell(f"{COMMAND} convert order --from vendre --lookups {LOOKUPS} {ORDER} >&-")
    assert result.returncode == 2
    assert result.stderr == "bexvendre: error: standard output is closed\n"


@pytest.mark.parametrize(
    "arguments",
    [
        f"convert order --from vendre --lookups {LOOKUPS} -",
        f"convert stock --from bex --jsonl --lookups {LOOKUPS} -",
        "validate order --from vendre -",
    ],
)
def test_a_closed_standard_input_is_a_usage_error(arguments: str) -> None:
    result = shell(f"{COMMAND} {arguments} <&-")
    assert result.returncode == 2
    assert result.stderr.endswith("bexvendre: error: standard input is closed\n")
    assert "Traceback" not in result.stderr


def test_quarantine_ids_may_follow_the_options() -> None:
    parser = cli._parser()
    for argv in (
        ["quarantine", "retry", "--config", "b.toml", "5", "-7"],
        ["quarantine", "retry", "5", "-7", "--config", "b.toml"],
        ["quarantine", "retry", "5", "--config", "b.toml", "-7"],
    ):
        assert cli._parse(parser, argv).order_ids == [5, -7]


def test_quarantine_ids_are_optional_and_go_with_retry_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = cli._parser()
    assert cli._parse(parser, ["quarantine", "retry", "--config", "b.toml"]).order_ids == []
    with pytest.raises(SystemExit) as exited:
        cli._parse(parser, ["quarantine", "list", "--config", "b.toml", "5"])
    assert exited.value.code == 2
    assert "quarantine list takes no ID" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli._parse(parser, ["quarantine", "retry", "--config", "b.toml", "five"])
    assert "argument ID: invalid int value: 'five'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli._parse(parser, ["quarantine"])
    assert capsys.readouterr().err.endswith(
        "the following arguments are required: ACTION, --config\n"
    )


def test_a_file_a_command_cannot_use_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(args: object) -> int:
        raise IsADirectoryError(21, "Is a directory", "/srv/audit")

    monkeypatch.setattr(cli, "_run", run)
    assert cli.main(["mapping"]) == 1
    assert capsys.readouterr().err == "bexvendre: error: cannot use '/srv/audit': Is a directory\n"
