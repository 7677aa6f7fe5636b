"""The documentation's Python examples run against the current code.

Every fenced ``python`` block of each page below runs in order, in one namespace per page,
with the repository root as the working directory (so ``examples/...`` paths work). A block
whose first line is ``# not run`` is skipped. Blocks state their results with ``assert``.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

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


@pytest.mark.parametrize("page", PAGES)
def test_page_examples_run(page: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every runnable python block of the page executes without error, in page order."""
    path = DOCS / page
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {"__name__": f"docs.{path.stem}"}
    for first_line, code in python_blocks(path.read_text(encoding="utf-8")):
        # Pad with blank lines so that a traceback names the line in the Markdown file.
        source = "\n" * (first_line - 1) + code
        # dont_inherit: the block runs as a user's script would, without this module's
        # `from __future__ import annotations` (which would leave its classes' annotations
        # as strings that no module can resolve).
        code_object = compile(source, str(path), "exec", dont_inherit=True)
        exec(code_object, namespace)  # noqa: S102 - the docs' own code


@pytest.mark.parametrize("page", PAGES)
def test_page_has_checked_examples(page: str) -> None:
    """The page has at least one runnable python block, and its blocks assert something."""
    blocks = python_blocks((DOCS / page).read_text(encoding="utf-8"))
    assert blocks, f"{page} has no runnable python example"
    assert any("assert " in code for _, code in blocks), f"{page}'s examples check nothing"


def test_skip_marker_and_line_numbers() -> None:
    """The extractor skips '# not run' blocks and reports each block's first line."""
    text = (
        "intro\n```python\nx = 1\n```\n\n```python\n# not run\nboom()\n```\n```python\ny = 2\n```\n"
    )
    assert python_blocks(text) == [(3, "x = 1\n"), (11, "y = 2\n")]


def test_model_tables_are_current() -> None:
    """docs/models.md's field tables are what tools/model_tables.py generates from the plans."""
    spec = importlib.util.spec_from_file_location("model_tables", ROOT / "tools/model_tables.py")
    assert spec is not None
    assert spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    page = (DOCS / "models.md").read_text(encoding="utf-8")
    assert tool.render(page) == page, "stale tables: run python tools/model_tables.py"
