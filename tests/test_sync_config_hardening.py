"""bexvendre.toml, --every, the state and the audit log: every bad value is a clear error."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bexvendre_mapping import LookupsError
from bexvendre_mapping.cli import main
from bexvendre_mapping.sync import AuditLog, SqliteState
from bexvendre_mapping.sync._config import SyncConfig, parse_duration

NOWHERE = "http://127.0.0.1:9/API/1/"  # nothing listens: no test here reaches an API
BASE = (
    'lookups = "lookups.toml"\n{top}\n'
    '[vendre]\nurl = "http://127.0.0.1:9/API/1/"\napi_key = "k"\n{vendre}\n'
    '[bex]\nurl = "http://127.0.0.1:9/api/"\napi_key = "k"\nsecret = "s"\n{bex}\n'
)


@pytest.fixture(autouse=True)
def no_secret_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BEXVENDRE_VENDRE_API_KEY", "BEXVENDRE_BEX_API_KEY", "BEXVENDRE_BEX_SECRET"):
        monkeypatch.delenv(name, raising=False)


def config(folder: Path, top: str = "", vendre: str = "", bex: str = "") -> Path:
    """A bexvendre.toml (with empty code tables) in ``folder``."""
    (folder / "lookups.toml").write_text("", "utf-8")
    path = folder / "bexvendre.toml"
    path.write_text(BASE.format(top=top, vendre=vendre, bex=bex), "utf-8")
    return path


def problems(path: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(LookupsError) as caught:
        SyncConfig.from_toml(path, environ={} if environ is None else environ)
    return [str(p) for p in caught.value.problems]


def usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The stderr of ``bexvendre argv``, which must exit 2 without a traceback."""
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


# --- durations ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["999999999999d", "9" * 5000 + "s"])
def test_parse_duration_too_long_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="is too long"):
        parse_duration(text)


def test_durations_out_of_bounds_name_their_key(tmp_path: Path) -> None:
    path = config(tmp_path, 'overlap = "999999999999d"\nlock_timeout = "99999999d"')
    assert problems(path) == [
        "$.overlap: the duration '999999999999d' is too long",
        "$.lock_timeout: at most 24d, got '99999999d'",
    ]
    path = config(tmp_path, 'overlap = "366d"\nlock_timeout = "999999999999d"')
    assert problems(path) == [
        "$.overlap: at most 365d, got '366d'",
        "$.lock_timeout: the duration '999999999999d' is too long",
    ]


def test_a_duration_that_is_not_a_string(tmp_path: Path) -> None:
    path = config(tmp_path, "overlap = 5")
    assert problems(path) == ["$.overlap: expected a duration like '30s', '5m' or '1h', got 5"]


def test_durations_at_their_bounds_load(tmp_path: Path) -> None:
    path = config(tmp_path, 'overlap = "365d"\nlock_timeout = "24d"')
    loaded = SyncConfig.from_toml(path, environ={})
    assert loaded.overlap.days == 365
    assert loaded.lock_timeout.days == 24


@pytest.mark.parametrize(
    ("every", "message"),
    [
        ("0s", "--every must be between 1s and 365d, got '0s'"),
        ("366d", "--every must be between 1s and 365d, got '366d'"),
        ("99999999d", "--every must be between 1s and 365d, got '99999999d'"),
        ("999999999999d", "the duration '999999999999d' is too long"),
        ("", "expected a duration like '30s', '5m' or '1h', got ''"),
    ],
)
def test_every_out_of_bounds_or_empty_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], every: str, message: str
) -> None:
    path = str(config(tmp_path))
    err = usage_error(["sync", "stock", "--config", path, "--every", every], capsys)
    assert err == f"bexvendre: error: {message}\n"
    assert not (tmp_path / "bexvendre-state.sqlite3").exists()


# --- the shape of the file ------------------------------------------------------------------


def test_sections_that_are_not_tables(tmp_path: Path) -> None:
    path = tmp_path / "bexvendre.toml"
    (tmp_path / "lookups.toml").write_text("", "utf-8")
    path.write_text('lookups = "lookups.toml"\nvendre = "x"\nbex = 5\n', "utf-8")
    assert problems(path) == [
        "$.vendre: expected a table, got 'x'",
        "$.bex: expected a table, got 5",
        "$.vendre.url: required",
        "$.vendre.api_key: required (or set BEXVENDRE_VENDRE_API_KEY)",
        "$.bex.api_key: required (or set BEXVENDRE_BEX_API_KEY)",
        "$.bex.secret: required (or set BEXVENDRE_BEX_SECRET)",
    ]


def test_wrong_types_are_reported_not_converted(tmp_path: Path) -> None:
    top = 'state = {a = 1}\naudit = ["a.jsonl"]'
    path = config(tmp_path, top, vendre="auth = 1", bex="location = {a = 1}")
    path.write_text(path.read_text("utf-8").replace('"http://127.0.0.1:9/api/"', "5"), "utf-8")
    path.write_text(path.read_text("utf-8").replace('"lookups.toml"', "5"), "utf-8")
    assert problems(path) == [
        "$.vendre.auth: expected a string, got 1",
        "$.bex.url: expected a string, got 5",
        "$.bex.location: expected a string, got {'a': 1}",
        "$.lookups: expected a string, got 5",
        "$.state: expected a string, got {'a': 1}",
        "$.audit: expected a string, got ['a.jsonl']",
    ]


def test_empty_names_and_an_unknown_auth(tmp_path: Path) -> None:
    path = config(tmp_path, 'state = ""\naudit = ""', vendre='auth = "basic"', bex='location = ""')
    assert problems(path) == [
        "$.vendre.auth: expected 'x-authorization' or 'bearer', got 'basic'",
        "$.bex.location: expected a non-empty string, got ''",
        "$.state: expected a non-empty string, got ''",
        "$.audit: expected a non-empty string, got ''",
    ]


def test_unknown_keys_are_reported_with_suggestions(tmp_path: Path) -> None:
    path = config(tmp_path, 'overlpa = "5m"\nstat = "s.sqlite3"\nzzzz = 1', bex='locaton = "X"')
    assert problems(path) == [
        "$.overlpa: unknown setting 'overlpa'; did you mean 'overlap'?",
        "$.stat: unknown setting 'stat'; did you mean 'state'?",
        "$.zzzz: unknown setting 'zzzz'",
        "$.bex.locaton: unknown setting 'locaton'; did you mean 'location'?",
    ]


def test_a_well_formed_file_loads(tmp_path: Path) -> None:
    path = config(tmp_path, 'audit = "a.jsonl"', vendre='auth = "bearer"', bex='location = "X"')
    path.write_text(path.read_text("utf-8").replace('url = "http://127.0.0.1:9/api/"\n', ""))
    loaded = SyncConfig.from_toml(path, environ={"BEXVENDRE_BEX_SECRET": "from-env"})
    assert loaded.vendre_auth == "bearer"
    assert loaded.bex_url == "https://api.bexonline.com/api/"
    assert loaded.bex_location == "X"
    assert loaded.bex_secret == "from-env"  # noqa: S105 - a test value
    assert loaded.audit_path == tmp_path / "a.jsonl"
    assert loaded.state_path == tmp_path / "bexvendre-state.sqlite3"


def test_a_secret_with_a_line_break_is_reported_without_quoting_it(tmp_path: Path) -> None:
    path = config(tmp_path)
    environ = {"BEXVENDRE_BEX_SECRET": "top-secret\n"}
    assert problems(path, environ) == [
        "$.bex.secret (from BEXVENDRE_BEX_SECRET): holds a line break or another control character"
    ]


def test_not_utf8_names_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bexvendre.toml"
    path.write_bytes(b'x = "\xff"\n')
    assert problems(path) == [f"$: {str(path)!r} is not UTF-8 text: byte 0xff at 5"]
    err = usage_error(["quarantine", "list", "--config", str(path)], capsys)
    assert str(path) in err


# --- URLs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "127.0.0.1:9/API",
            "expected an http(s) URL with a host, like 'https://host/API/1/', "
            "got '127.0.0.1:9/API'",
        ),
        (
            "ftp://user:pw@shop/",
            "expected an http(s) URL with a host, like 'https://host/API/1/', got 'ftp://shop/'",
        ),
        (
            "http://127.0.0.1:99999/",
            "cannot be parsed (Port out of range 0-65535): 'http://127.0.0.1:99999/'",
        ),
        ("http://[::1/", "cannot be parsed (Invalid IPv6 URL): 'http://[::1/'"),
    ],
)
def test_urls_are_checked_at_load(tmp_path: Path, url: str, message: str) -> None:
    path = config(tmp_path)
    text = path.read_text("utf-8")
    path.write_text(text.replace(NOWHERE, url).replace("9/api/", "99999/api/"), "utf-8")
    assert problems(path) == [
        f"$.vendre.url: {message}",
        "$.bex.url: cannot be parsed (Port out of range 0-65535): 'http://127.0.0.1:99999/api/'",
    ]


def test_a_bad_url_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = config(tmp_path)
    path.write_text(path.read_text("utf-8").replace(NOWHERE, "ftp://x/"), "utf-8")
    err = usage_error(["sync", "orders", "--config", str(path), "--dry-run"], capsys)
    assert "$.vendre.url: expected an http(s) URL" in err


# --- the state file -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (".", "it is a directory"),
        ("missing/state.sqlite3", "its folder '{folder}/missing' does not exist"),
    ],
)
@pytest.mark.parametrize(
    "argv", [["sync", "orders", "--dry-run"], ["sync", "orders"], ["quarantine", "list"]]
)
def test_a_state_file_that_cannot_be_opened_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], state: str, reason: str, argv: list[str]
) -> None:
    path = config(tmp_path, f'state = "{state}"')
    err = usage_error([*argv, "--config", str(path)], capsys)
    file = str(tmp_path / state)
    expected = f"$.state: cannot open the state file {file!r}: {reason.format(folder=tmp_path)}"
    assert err.endswith(expected + "\n")


def test_a_state_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    path.write_bytes(b"not a database, but long enough to look like a header" * 20)
    with pytest.raises(OSError, match="file is not a database") as caught:
        SqliteState(path)
    assert str(path) in str(caught.value)


def test_a_state_file_of_a_newer_schema_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config(tmp_path, 'state = "state.sqlite3"')
    SqliteState(tmp_path / "state.sqlite3").close()
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    db.close()
    err = usage_error(["quarantine", "list", "--config", str(path)], capsys)
    assert "$.state: " in err
    assert "has state schema 99" in err


def test_a_dry_run_and_a_listing_create_no_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(config(tmp_path, 'state = "state.sqlite3"\naudit = "audit.jsonl"'))
    assert main(["sync", "orders", "--config", path, "--dry-run"]) == 1  # nothing listens
    assert main(["quarantine", "list", "--config", path]) == 0
    assert capsys.readouterr().out.endswith("0 quarantined order(s)\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bexvendre.toml", "lookups.toml"]


def test_without_create_an_existing_state_is_read(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    with SqliteState(path) as state:
        state.set_pushed("product", "A", "hash")
    with SqliteState(path, create=False) as state:
        assert state.get_pushed("product", "A") == "hash"
    with SqliteState(tmp_path / "other.sqlite3", create=False) as state:
        assert state.get_pushed("product", "A") is None
    assert not (tmp_path / "other.sqlite3").exists()


# --- the audit log --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("audit", "reason"),
    [(".", "Is a directory"), ("missing/audit.jsonl", "No such file or directory")],
)
@pytest.mark.parametrize("dry_run", [True, False])
def test_an_audit_log_that_cannot_be_opened_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], audit: str, reason: str, dry_run: bool
) -> None:
    path = config(tmp_path, f'state = "state.sqlite3"\naudit = "{audit}"')
    argv = ["sync", "orders", "--config", str(path), *(["--dry-run"] if dry_run else [])]
    err = usage_error(argv, capsys)
    assert err.endswith(f"$.audit: cannot open {str(tmp_path / audit)!r}: {reason}\n")


def test_audit_log_raises_os_error_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError) as caught:
        AuditLog(tmp_path)
    assert caught.value.filename == str(tmp_path)
