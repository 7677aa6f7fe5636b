"""The documentation's Python examples run against the current code, each on its own.

Every fenced ``python`` block of README.md and of each page in ``docs/`` runs alone: in a
fresh namespace, with an empty temporary folder as the working directory, so a block needs
nothing but the installed package. It brings its own imports and setup and reads the shipped
examples through :func:`bexvendre_mapping.example_path`, never through a checkout path. One
test per block, named by page and line (``test_block_runs_alone[orders.md:27]``), so a failure
says which block. A block whose first line is ``# not run`` is skipped. Blocks state their
results with ``assert``.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

# Pages that must have runnable, asserting examples (a page without python blocks, such as
# mapping.md or performance.md, needs not be listed; its blocks would still run if it had any).
PAGES = (
    "index.md",
    "models.md",
    "lookups.md",
    "orders.md",
    "products.md",
    "stock.md",
    "statuses.md",
    "gift-cards.md",
    "cli.md",
    "http.md",
    "sync.md",
    "recipes.md",
)

_FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_SKIP = "# not run"


def python_blocks(text: str) -> list[tuple[int, str]]:
    """The page's ``python`` blocks that are meant to run, each with its first line number."""
    blocks = []
    for match in _FENCE.finditer(text):
        code = match.group(1)
        if code.split("\n", 1)[0].strip() == _SKIP:
            continue
        first_line = text.count("\n", 0, match.start(1)) + 1
        blocks.append((first_line, code))
    return blocks


def _standalone_pages() -> list[Path]:
    """README.md and every page in docs/."""
    return [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


def _standalone_blocks() -> list[pytest.ParameterSet]:
    params = []
    for path in _standalone_pages():
        for first_line, code in python_blocks(path.read_text(encoding="utf-8")):
            name = f"{path.name}:{first_line}"
            params.append(pytest.param(path, first_line, code, id=name))
    return params


def _run(path: Path, first_line: int, code: str, namespace: dict[str, object]) -> None:
    """Execute one block in ``namespace``, reporting errors at its lines in the Markdown file."""
    # Pad with blank lines so that a traceback names the line in the Markdown file.
    source = "\n" * (first_line - 1) + code
    # dont_inherit: the block runs as a user's script would, without this module's
    # `from __future__ import annotations` (which would leave its classes' annotations
    # as strings that no module can resolve).
    code_object = compile(source, str(path), "exec", dont_inherit=True)
    exec(code_object, namespace)  # noqa: S102 - the docs' own code


@pytest.mark.parametrize(("path", "first_line", "code"), _standalone_blocks())
def test_block_runs_alone(
    path: Path, first_line: int, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The block runs by itself: a fresh namespace, an empty folder as working directory."""
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"docs.{path.stem}.line{first_line}"}
    _run(path, first_line, code, namespace)


# Runs in a new interpreter in isolated mode (-I: neither the working directory nor the
# checkout on sys.path, no PYTHON* variables): each block from its own empty folder, in a
# namespace of its own, as a user's script in a fresh process would; prints what failed.
_ISOLATED_RUNNER = """
import json, os, sys, tempfile, traceback
failed = []
for page, first_line, code in json.load(sys.stdin):
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        try:
            source = "\\n" * (first_line - 1) + code
            exec(compile(source, page, "exec", dont_inherit=True), {"__name__": "__main__"})
        except BaseException:
            failed.append(f"{os.path.basename(page)}:{first_line}\\n{traceback.format_exc()}")
        finally:
            os.chdir(os.path.dirname(folder))
print(json.dumps(failed))
"""


def test_blocks_run_in_a_fresh_interpreter(tmp_path: Path) -> None:
    """All standalone blocks pass again in a new, isolated interpreter outside the checkout.

    Catches what the in-process run above cannot: a block that works only because pytest or
    this test module imported something, set a warning filter or put the checkout on sys.path.
    """
    blocks = [
        (str(path), line, code) for path, line, code in (p.values for p in _standalone_blocks())
    ]
    result = subprocess.run(  # noqa: S603 - this interpreter, the docs' own code
        [sys.executable, "-I", "-c", _ISOLATED_RUNNER],
        input=json.dumps(blocks),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,  # every block of every page, one interpreter: slow on a loaded machine
        check=False,
    )
    assert result.returncode == 0, result.stderr
    failed = json.loads(result.stdout.splitlines()[-1])
    assert failed == [], "\n".join(failed)


def test_every_page_runs_alone() -> None:
    """Every page with checked examples has its blocks among the standalone ones."""
    standalone = {path.name for path in _standalone_pages()}
    assert standalone >= {*PAGES, "README.md"}


_CHECKOUT_PATH = re.compile(r"""["'](?:\./)?examples/""")


@pytest.mark.parametrize(("path", "first_line", "code"), _standalone_blocks())
def test_block_reads_no_checkout_path(path: Path, first_line: int, code: str) -> None:
    """Standalone blocks read the shipped examples with example_path, not 'examples/...'."""
    del path, first_line
    assert not _CHECKOUT_PATH.search(code), "use bexvendre_mapping.example_path(name)"


@pytest.mark.parametrize("page", [*PAGES, "README.md"])
def test_page_has_checked_examples(page: str) -> None:
    """The page has at least one runnable python block, and its blocks assert something."""
    path = ROOT / page if page == "README.md" else DOCS / page
    blocks = python_blocks(path.read_text(encoding="utf-8"))
    assert blocks, f"{page} has no runnable python example"
    assert any("assert " in code for _, code in blocks), f"{page}'s examples check nothing"


def test_recipes_each_check_their_answer() -> None:
    """recipes.md promises complete answers: every recipe runs (above) and asserts something."""
    blocks = python_blocks((DOCS / "recipes.md").read_text(encoding="utf-8"))
    assert blocks
    for first_line, code in blocks:
        assert "assert " in code, f"recipes.md:{first_line} checks nothing"


def test_skip_marker_and_line_numbers() -> None:
    """The extractor skips '# not run' blocks and reports each block's first line."""
    text = (
        "intro\n```python\nx = 1\n```\n\n```python\n# not run\nboom()\n```\n```python\ny = 2\n```\n"
    )
    assert python_blocks(text) == [(3, "x = 1\n"), (11, "y = 2\n")]


def test_a_block_does_not_see_another_blocks_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The standalone runner gives each block a fresh namespace and an empty folder."""
    page = tmp_path / "page.md"
    first = "```python\nshared = 1\n```\n"
    second = "```python\nimport os\nassert os.listdir('.') == []\nprint(shared)\n```\n"
    page.write_text(first + second, encoding="utf-8")
    blocks = python_blocks(page.read_text(encoding="utf-8"))
    workdir = tmp_path / "empty"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    _run(page, *blocks[0], {"__name__": "first"})
    with pytest.raises(NameError, match="shared"):
        _run(page, *blocks[1], {"__name__": "second"})


def test_model_tables_are_current() -> None:
    """docs/models.md's field tables are what tools/model_tables.py generates from the plans."""
    spec = importlib.util.spec_from_file_location("model_tables", ROOT / "tools/model_tables.py")
    assert spec is not None
    assert spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    page = (DOCS / "models.md").read_text(encoding="utf-8")
    assert tool.render(page) == page, "stale tables: run python tools/model_tables.py"
