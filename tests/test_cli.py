"""The bexvendre command line: convert, validate, lookups check, mapping (SPEC §9)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from tests.support import run_main

from bexvendre_mapping.cli import MAX_INDENT, main

ROOT = Path(__file__).resolve().parent.parent
LOOKUPS = str(ROOT / "examples" / "lookups.toml")
ORDER = str(ROOT / "examples" / "vendre-order.json")


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed command line as a user would."""
    return subprocess.run(  # noqa: S603 - our own command with fixed arguments
        [sys.executable, "-m", "bexvendre_mapping.cli", *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )


def test_convert_order_from_a_file() -> None:
    """convert writes the other side's JSON on stdout and exits 0."""
    result = run("convert", "order", "--from", "vendre", "--lookups", LOOKUPS, ORDER)
    assert result.returncode == 0, result.stderr
    order = json.loads(result.stdout)
    assert order["Ordernr"] == "100234"
    assert order["Belopp inkl.moms"] == "4183.00"
    assert result.stderr == ""


def test_convert_reads_standard_input() -> None:
    """INPUT '-' or absent reads standard input."""
    raw = Path(ORDER).read_bytes()
    dash = run("convert", "order", "--from", "vendre", "--lookups", LOOKUPS, "-", stdin=raw)
    absent = run("convert", "order", "--from", "vendre", "--lookups", LOOKUPS, stdin=raw)
    assert dash.returncode == absent.returncode == 0
    assert dash.stdout == absent.stdout


def test_convert_back_gives_the_same_bex_order(tmp_path: Path) -> None:
    """Bex → Vendre through the command line, then back: the same Bex order."""
    bex_order = run("convert", "order", "--from", "vendre", "--lookups", LOOKUPS, ORDER).stdout
    (tmp_path / "bex.json").write_text(bex_order, encoding="utf-8")
    vendre_order = run(
        "convert", "order", "--from", "bex", "--lookups", LOOKUPS, str(tmp_path / "bex.json")
    )
    (tmp_path / "vendre.json").write_text(vendre_order.stdout, encoding="utf-8")
    again = run(
        "convert", "order", "--from", "vendre", "--lookups", LOOKUPS, str(tmp_path / "vendre.json")
    )
    assert json.loads(again.stdout) == json.loads(bex_order)


@pytest.mark.parametrize(
    ("kind", "side", "example", "first_key"),
    [
        ("article", "bex", "bex-article.json", "parent"),
        ("product", "vendre", "vendre-product.json", "Storlekar"),
        ("stock", "bex", "bex-stock.json", "article_number"),
        ("status", "bex", "bex-order-statuses.json", "id"),
    ],
)
def test_convert_every_example(kind: str, side: str, example: str, first_key: str) -> None:
    """Each shipped example converts; JSON arrays convert item by item."""
    result = run(
        "convert", kind, "--from", side, "--lookups", LOOKUPS, str(ROOT / "examples" / example)
    )
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    first = output[0] if isinstance(output, list) else output
    assert first_key in first


def test_bad_data_exits_1_with_every_problem_and_its_path(tmp_path: Path) -> None:
    """Every problem goes to stderr, one a line, with its JSON path; exit status 1."""
    doc = json.loads(Path(ORDER).read_bytes())
    doc["products"][1]["model"] = "1001__43"
    doc["products"][2]["quantity"] = 0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    result = run("convert", "order", "--from", "vendre", "--lookups", LOOKUPS, str(bad))
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("$.products[1].model: invalid model code '1001__43'")
    assert lines[1].startswith("$.products[2].quantity:")


def test_unknown_codes_exit_1_naming_closest(tmp_path: Path) -> None:
    """An unknown payment code is bad data, reported with its path and close codes."""
    doc = json.loads(Path(ORDER).read_bytes())
    doc["payment"]["payment_method"] = "KLARN"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    result = run("convert", "order", "--from", "vendre", "--lookups", LOOKUPS, str(bad))
    assert result.returncode == 1
    assert (
        "$.payment.payment_method: unknown code 'KLARN' in table 'payment_methods'" in result.stderr
    )
    assert "'KLARNA'" in result.stderr


def test_errors_in_arrays_carry_the_item_index(tmp_path: Path) -> None:
    """In a JSON array of documents, paths start at the item: $[1].Lagerantal."""
    rows = [{"Artikelnr": "A", "Lagerantal": 1}, {"Artikelnr": "B", "Lagerantal": "many"}]
    bad = tmp_path / "stock.json"
    bad.write_text(json.dumps(rows), encoding="utf-8")
    result = run("convert", "stock", "--from", "bex", "--lookups", LOOKUPS, str(bad))
    assert result.returncode == 1
    assert result.stderr.startswith("$[1].Lagerantal: expected an integer, got 'many'")


@pytest.mark.parametrize(
    "args",
    [
        ["convert", "order", "--from", "vendre"],  # no --lookups
        ["convert", "recipe", "--from", "vendre", "--lookups", LOOKUPS],
        ["convert", "order", "--from", "shopify", "--lookups", LOOKUPS],
        ["convert", "order", "--from", "vendre", "--lookups", LOOKUPS, "missing.json"],
        ["convert", "order", "--from", "vendre", "--lookups", "missing.toml", ORDER],
        ["validate", "order", "--from", "vendre", ORDER, "extra.json"],
        [],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    """Missing options, unknown kinds or sides, unreadable files: exit status 2."""
    assert run(*args).returncode == 2


def test_validate() -> None:
    """validate exits 0 on a good document, 1 on a bad one (strictly or with lookups)."""
    ok = run("validate", "order", "--from", "vendre", ORDER)
    assert (ok.returncode, ok.stdout) == (0, "ok: 1 vendre order document\n")
    strict = run("validate", "order", "--from", "bex", "--strict", ORDER)
    assert strict.returncode == 1
    assert "$.Ordernr: required field is missing" in strict.stderr
    assert "$.id: unknown field 'id'" in strict.stderr


def test_validate_with_lookups_checks_conversion(tmp_path: Path) -> None:
    """With --lookups, validate also checks that the document converts."""
    doc = json.loads(Path(ORDER).read_bytes())
    doc["shipping"]["method_id"] = "99"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    assert run("validate", "order", "--from", "vendre", str(bad)).returncode == 0
    result = run("validate", "order", "--from", "vendre", "--lookups", LOOKUPS, str(bad))
    assert result.returncode == 1
    assert "$.shipping.method_id" in result.stderr


def test_lookups_check_lists_every_unmapped_code(tmp_path: Path) -> None:
    """lookups check names each code without a mapping, per file, and exits 1."""
    doc = json.loads(Path(ORDER).read_bytes())
    doc["payment"]["payment_method"] = "PAYPAL"
    doc["delivery_address"]["country_id"] = 81
    doc["totals"].insert(1, {"class": "ot_cod", "title": "Postförskott", "value": "0.0000"})
    bad = tmp_path / "order.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    statuses = tmp_path / "statuses.json"
    statuses.write_text(json.dumps([{"Ordernr": "1", "Status": "RETUR"}]), encoding="utf-8")
    result = run("lookups", "check", "--lookups", LOOKUPS, str(bad), str(statuses), ORDER)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert [line.split(": ")[1] for line in lines] == [
        "$.payment.payment_method",
        "$.delivery_address.country_id",
        "$.totals[1].class",
        "$[0].Status",
    ]
    assert "4 without a mapping" in result.stdout


def test_lookups_check_passes_on_the_examples() -> None:
    """Every code in the shipped examples is mapped."""
    examples = sorted(str(p) for p in (ROOT / "examples").glob("*.json"))
    result = run("lookups", "check", "--lookups", LOOKUPS, *examples)
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith(", 0 without a mapping\n")


def test_mapping_prints_the_docs_page() -> None:
    """`bexvendre mapping` prints docs/mapping.md."""
    result = run("mapping")
    assert result.stdout == (ROOT / "docs" / "mapping.md").read_text(encoding="utf-8")


def test_main_returns_the_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    """main() can be called in-process and returns the status."""
    assert (
        main(
            [
                "validate",
                "status",
                "--from",
                "bex",
                str(ROOT / "examples" / "bex-order-statuses.json"),
            ]
        )
        == 0
    )
    assert "ok: 3 bex status documents" in capsys.readouterr().out


def test_times_stay_in_the_shops_zone(tmp_path: Path) -> None:
    """With time_zone = Europe/Helsinki, 02:30 in stays 02:30 out (no shift to Stockholm);
    epoch seconds are the instant, shown on Helsinki's clock."""
    toml = (
        Path(LOOKUPS).read_text(encoding="utf-8").replace('"Europe/Stockholm"', '"Europe/Helsinki"')
    )
    helsinki = tmp_path / "lookups.toml"
    helsinki.write_text(toml, encoding="utf-8")
    result = run("convert", "order", "--from", "vendre", "--lookups", str(helsinki), ORDER)
    assert json.loads(result.stdout)["Orderdatum"] == "2026-10-25 03:30:00"  # 00:30 UTC
    doc = json.loads(Path(ORDER).read_bytes())
    doc["date_added"] = "2026-10-25 02:30:00"
    (tmp_path / "order.json").write_text(json.dumps(doc), encoding="utf-8")
    order = str(tmp_path / "order.json")
    result = run("convert", "order", "--from", "vendre", "--lookups", str(helsinki), order)
    assert json.loads(result.stdout)["Orderdatum"] == "2026-10-25 02:30:00"


# --- issue 16 ---------------------------------------------------------------------------------

CLOSEST = "'products', 'points', 'child_product_ids'?"
KINDS_CHECKED = (
    "not a document the check knows: expected a Vendre or Bex order, product or article, order "
    "status, stock, gift card, gift-card reservation or bonus balance"
)


@pytest.mark.parametrize(
    ("document", "errors"),
    [
        (
            "[1, 2]",
            [
                "$[0]: expected a JSON object, got a number",
                "$[1]: expected a JSON object, got a number",
            ],
        ),
        ('{"foo": 1}', [f"$: {KINDS_CHECKED}; unknown key: 'foo'"]),
        (
            '{"prodcts": [], "totals": []}',
            [f"$: {KINDS_CHECKED}; unknown key: 'prodcts' (did you mean {CLOSEST})"],
        ),
    ],
    ids=["numbers", "foo", "misspelt"],
)
def test_lookups_check_refuses_what_is_no_document(
    document: str, errors: list[str], tmp_path: Path
) -> None:
    """`[1, 2]` or `{"foo": 1}` is bad data (exit 1), not "0 codes checked" and exit 0."""
    path = tmp_path / "doc.json"
    path.write_text(document, encoding="utf-8")
    result = run("lookups", "check", "--lookups", LOOKUPS, str(path))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"{path}: {error}" for error in errors]
    assert result.stdout == "0 codes checked, 0 without a mapping\n"


@pytest.mark.parametrize("command", ["convert", "validate"])
def test_an_array_of_200000_numbers_prints_a_bounded_report(command: str, tmp_path: Path) -> None:
    """Each item is a problem, worded in JSON's terms; after 1,000 the command stops checking
    and says so: 1,001 lines, not 200,000."""
    path = tmp_path / "numbers.json"
    path.write_text(json.dumps(list(range(200_000))), encoding="utf-8")
    result = run(command, "order", "--from", "vendre", "--lookups", LOOKUPS, str(path))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1001
    assert lines[0] == "$[0]: expected a JSON object, got a number"
    assert lines[-1] == "$[1000]: ... stopped after 1,000 problems: the rest was not checked"


def test_lookups_check_of_200000_unmapped_codes_prints_a_bounded_report(tmp_path: Path) -> None:
    """Every code is counted; the first 1,000 are named, then how many more there were."""
    path = tmp_path / "statuses.json"
    statuses = [{"Ordernr": str(n), "Status": f"X{n}"} for n in range(1, 200_001)]
    path.write_text(json.dumps(statuses), encoding="utf-8")
    result = run("lookups", "check", "--lookups", LOOKUPS, str(path))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1001
    assert lines[-1] == "... and 199,000 more problems"
    assert result.stdout == "200000 codes checked, 200000 without a mapping\n"


def test_json_lines_with_200000_bad_records_print_a_bounded_report(tmp_path: Path) -> None:
    """--jsonl converts what it can and reports the first 1,000 bad records, then a count."""
    path = tmp_path / "stock.jsonl"
    path.write_text("\n".join(["5"] * 200_000), encoding="utf-8")
    result = run("convert", "stock", "--from", "bex", "--jsonl", "--lookups", LOOKUPS, str(path))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1001
    assert lines[-1] == "$: ... and 199,000 more problems"


def test_a_file_starting_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    """A document saved by a Windows tool, with a UTF-8 BOM: converted and checked."""
    path = tmp_path / "order.json"
    path.write_bytes(b"\xef\xbb\xbf" + Path(ORDER).read_bytes())
    converted = run("convert", "order", "--from", "vendre", "--lookups", LOOKUPS, str(path))
    assert converted.returncode == 0, converted.stderr
    assert (
        converted.stdout
        == run("convert", "order", "--from", "vendre", "--lookups", LOOKUPS, ORDER).stdout
    )
    checked = run("lookups", "check", "--lookups", LOOKUPS, str(path))
    assert (checked.returncode, checked.stdout) == (0, "6 codes checked, 0 without a mapping\n")


# --- Hostile input on the command line: surrogates, malformed documents, --indent -----------------


ORDER_PATH = ROOT / "examples" / "vendre-order.json"


def test_the_command_line_reports_a_lone_surrogate(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    document = tmp_path / "s.json"
    document.write_text('{"Ordernr": "100234", "Status": "\\ud800"}')
    message = "Status: text with a lone surrogate (\\ud800)\n"
    for argv in (
        ["validate", "status", "--from", "bex", str(document)],
        ["convert", "status", "--from", "bex", "--lookups", LOOKUPS, str(document)],
    ):
        assert run_main(capsys, *argv) == (1, "", f"$.{message}")
    jsonl = ["convert", "status", "--from", "bex", "--lookups", LOOKUPS, "--jsonl", str(document)]
    assert run_main(capsys, *jsonl) == (1, "", f"$[0].{message}")


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"products": [], "totals": 5}, "$.totals: expected a list, got 5"),
        ({"products": [], "totals": {}}, "$.totals: expected a list, got {}"),
        (
            {"products": [], "totals": [{"class": ["x"]}]},
            "$.totals[0].class: expected a string, got ['x']",
        ),
        (
            {"Artiklar": [], "Butik & webbetalningar": 7},
            "$['Butik & webbetalningar']: expected a list, got 7",
        ),
        (
            [{"Artiklar": [], "Butik & webbetalningar": "KORT"}],
            "$[0]['Butik & webbetalningar']: expected a list, got 'KORT'",
        ),
    ],
)
def test_lookups_check_reports_malformed_documents(
    document: Any, expected: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(document))
    status, out, err = run_main(capsys, "lookups", "check", "--lookups", LOOKUPS, str(path))
    assert (status, out, err) == (
        1,
        "0 codes checked, 0 without a mapping\n",
        f"{path}: {expected}\n",
    )


def test_lookups_check_still_checks_the_rest_of_a_malformed_document(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "doc.json"
    document = {
        "products": [],
        "payment": {"payment_method": "KLARN"},
        "totals": [{"class": 5}, {"class": "ot_total"}, "x", {"class": "ot_handling"}],
    }
    path.write_text(json.dumps(document))
    status, out, err = run_main(capsys, "lookups", "check", "--lookups", LOOKUPS, str(path))
    assert status == 1
    assert out == "2 codes checked, 1 without a mapping\n"
    assert err.splitlines() == [
        f"{path}: $.totals[0].class: expected a string, got 5",
        f"{path}: $.payment.payment_method: unknown code 'KLARN' in table 'payment_methods'; "
        "closest known: 'KLARNA'",
    ]


@pytest.mark.parametrize("indent", ["99999999999999999999", "-1", str(MAX_INDENT + 1), "x", "1e3"])
def test_an_indent_out_of_range_is_a_usage_error(
    indent: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["convert", "order", "--from", "vendre", "--lookups", LOOKUPS, "--indent", indent]
    status, out, err = run_main(capsys, *argv, str(ORDER_PATH))
    assert (status, out) == (2, "")
    assert "argument --indent:" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("indent", [0, MAX_INDENT])
def test_an_indent_in_range_pretty_prints(indent: int, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["convert", "order", "--from", "vendre", "--lookups", LOOKUPS, "--indent", str(indent)]
    status, out, err = run_main(capsys, *argv, str(ORDER_PATH))
    assert (status, err) == (0, "")
    assert out == json.dumps(json.loads(out), ensure_ascii=False, indent=indent) + "\n"


# --- Input that is not JSON, --indent, lookups check of every kind of document --------------------


def write(path: Path, text: str) -> str:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def test_input_that_is_not_json_is_bad_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """convert and validate report JSON syntax errors with the line and column; exit 1."""
    bad = write(tmp_path / "bad.json", '{"Artikelnr": ')
    expected = "$: invalid JSON at line 1 column 15: Expecting value\n"
    assert main(["convert", "stock", "--from", "bex", "--lookups", LOOKUPS, bad]) == 1
    assert capsys.readouterr() == ("", expected)
    assert main(["validate", "stock", "--from", "bex", bad]) == 1
    assert capsys.readouterr() == ("", expected)


def test_indent_pretty_prints_the_same_document(capsys: pytest.CaptureFixture[str]) -> None:
    """--indent writes the same JSON as the compact form, indented, non-ASCII kept."""
    order = str(ROOT / "examples" / "vendre-order.json")
    assert main(["convert", "order", "--from", "vendre", "--lookups", LOOKUPS, order]) == 0
    compact = capsys.readouterr().out
    argv = ["convert", "order", "--from", "vendre", "--lookups", LOOKUPS, "--indent", "2", order]
    assert main(argv) == 0
    pretty = capsys.readouterr().out
    assert json.loads(pretty) == json.loads(compact)
    assert pretty == json.dumps(json.loads(compact), ensure_ascii=False, indent=2) + "\n"
    assert "Beställare" in pretty


def test_lookups_check_recognises_every_kind_of_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bex orders, products and status updates are checked too; partial documents are fine.

    What is no document of a known kind is a problem (issue 16), listed before the codes.
    """
    documents = [
        5,  # not a document
        {  # a Vendre order without payment method, shipping method or countries
            "products": [],
            "totals": [],
            "payment": {},
            "shipping": {},
            "billing_address": {"city": "Åre"},
        },
        {  # a Bex order
            "Artiklar": [],
            "Butik & webbetalningar": [{"Kod": "PAYPAL"}, {"Kod": "PRESENTKORT"}, "cash"],
            "FraktID": "PNMC",
            "Faktureras": {"Land": "XX"},
            "Leveransadress": {"Landskod": "SE"},
        },
        {  # a Vendre product as listed
            "article_number": "1001",
            "child_product_ids": [],
            "category_ids": [99],
            "tax_class_id": 9,
        },
        {"id": 1, "status": "3"},  # a Vendre status update, id as digits
        {"id": 2, "status": 4},
        {"Artiklar": [], "Faktureras": {"Ort": "Åre"}},  # a Bex order without any code
        {"comment": "not a document the check knows"},
    ]
    path = tmp_path / "documents.json"
    path.write_text(json.dumps(documents), encoding="utf-8")
    assert main(["lookups", "check", "--lookups", LOOKUPS, str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == "8 codes checked, 5 without a mapping\n"
    assert [line.split(": ", 2)[1] for line in err.splitlines()] == [
        "$[0]",
        "$[7]",
        "$[2]['Butik & webbetalningar'][0].Kod",
        "$[2].Faktureras.Land",
        "$[3].tax_class_id",
        "$[3].category_ids[0]",
        "$[5].status",
    ]
    assert "unknown code 99 in the reverse of table 'categories'" in err
    assert "unknown code 9 in table 'tax_classes'" in err


def test_lookups_check_reports_unreadable_documents(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A document that is not JSON is named with its problem; the others are still checked."""
    broken = write(tmp_path / "broken.json", "{")
    good = str(ROOT / "examples" / "bex-order-statuses.json")
    assert main(["lookups", "check", "--lookups", LOOKUPS, broken, good]) == 1
    out, err = capsys.readouterr()
    assert out == "3 codes checked, 0 without a mapping\n"
    assert err.startswith(f"{broken}: $: invalid JSON at line 1 column 2")


def test_ctrl_c_while_reading_standard_input_is_status_130_without_a_traceback() -> None:
    """A command with no cleaner stop of its own says `interrupted` and exits 130."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bexvendre_mapping.cli", "validate", "order", "--from", "vendre"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Wait until it blocks reading its standard input (read(0, ...): syscall 0 on fd 0).
        syscall = Path(f"/proc/{process.pid}/syscall")
        deadline = time.monotonic() + 30
        try:
            while not syscall.read_text().startswith("0 0x0 "):
                assert time.monotonic() < deadline, "the command never read its input"
                time.sleep(0.02)
        except PermissionError:  # a machine that hides it: give the start time instead
            time.sleep(3)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130
    assert err == "bexvendre: interrupted\n"
    assert out == ""


def _product_listing() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "examples" / "vendre-product.json").read_bytes())
    return data


def test_a_listing_page_of_one_family_converts_like_the_family(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`convert product --from vendre` takes the `{list, remaining}` page as /API/1 lists it."""
    page = write(tmp_path / "page.json", json.dumps(_product_listing()))
    status, out, _ = run_main(
        capsys, "convert", "product", "--from", "vendre", "--lookups", LOOKUPS, page
    )
    assert status == 0
    article = json.loads(out)
    assert article["Artikel"] == "1001"
    assert [size["Storlek"] for size in article["Storlekar"]] == ["40", "41"]


def test_a_listing_page_reports_each_bad_product_with_its_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listing = _product_listing()
    listing["list"][1]["price"] = "cheap"
    listing["list"][2]["tax_class_id"] = None
    page = write(tmp_path / "page.json", json.dumps(listing))
    status, _, err = run_main(capsys, "validate", "product", "--from", "vendre", page)
    assert status == 1
    paths = [line.split(":", 1)[0] for line in err.splitlines()]
    assert paths == ["$.list[1].price", "$.list[2].tax_class_id"]


def test_a_listing_page_of_two_families_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listing = _product_listing()
    other = {**listing["list"][0], "id": 2001, "article_number": "2001", "child_product_ids": []}
    listing["list"].append(other)
    page = write(tmp_path / "page.json", json.dumps(listing))
    status, _, err = run_main(capsys, "validate", "product", "--from", "vendre", page)
    assert status == 1
    assert err == "$.list: holds 2 product families; convert one family at a time\n"


def test_lookups_check_of_articles_families_and_codes_that_cannot_be_looked_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Bex article without VAT or supplier, a product family (parent and children), a
    VAT that is no number and a code that is a list are each checked or named; an object of
    many unknown keys names three and counts the rest."""
    documents = [
        {"Artikel": "1001", "Extern referens": "SKOR"},  # neither Moms nor LeverantörsID
        {"Artikel": "1002", "Extern referens": "SKOR", "Moms": "many", "LeverantörsID": ""},
        {
            "parent": {"article_number": "1003", "tax_class_id": 9},
            "children": [{"article_number": "1003_SKO_42", "tax_class_id": 2}],
        },
        {"Artiklar": [], "FraktID": ["PNMC"]},  # a code that is a list
        {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5},
    ]
    path = tmp_path / "documents.json"
    path.write_text(json.dumps(documents), encoding="utf-8")
    assert main(["lookups", "check", "--lookups", LOOKUPS, str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == "6 codes checked, 3 without a mapping\n"
    lines = err.splitlines()
    assert [line.split(": ", 2)[1] for line in lines] == [
        "$[4]",
        "$[1].Moms",
        "$[2].parent.tax_class_id",
        "$[3].FraktID",
    ]
    assert lines[0].endswith("unknown keys: 'a', 'b', 'c', 2 more")
    assert "unknown code 'many' in the reverse of table 'tax_classes'" in lines[1]
    assert "unknown code ['PNMC'] in the reverse of table 'shipping_methods'" in lines[3]
