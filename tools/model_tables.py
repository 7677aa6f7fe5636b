"""Generate the field tables of docs/models.md from the models' field plans.

    python tools/model_tables.py          rewrite the generated part of docs/models.md
    python tools/model_tables.py --check  exit 1, showing a diff, when that part is stale

Only the text between the two marker comments (:data:`BEGIN`, :data:`END`) is written; the
rest of the page is left as it is. Each model class of ``bexvendre_mapping.vendre`` and
``bexvendre_mapping.bex`` (in ``__all__`` order) gets a table of its fields, read from
``plan_of(cls)``: wire key, attribute, kind, required or default, check, and the attribute's
docstring as the source has it. The enumerations follow, with their values.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import enum
import functools
import inspect
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs

from bexvendre_mapping import bex, vendre
from bexvendre_mapping._plan import EnumOf, FieldPlan, Kind, ListOf, MappingOf, Optional, plan_of

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "models.md"
BEGIN = "<!-- generated: model tables (python tools/model_tables.py) -->"
END = "<!-- end of generated tables -->"
SIDES: tuple[tuple[ModuleType, str], ...] = ((vendre, "Vendre"), (bex, "Bex"))
HEADER = (
    "| Wire key | Attribute | Kind | Required or default | Check | Description |",
    "|---|---|---|---|---|---|",
)


# A code span: a run of backticks, its text, then a run of as many.
_CODE_SPAN = re.compile(r"(`+).+?(?<!`)\1(?!`)")


class StaleError(Exception):
    """The page cannot be regenerated (its markers are missing or out of order)."""


def cell(text: str) -> str:
    """``text`` on one line, fit for a Markdown table cell.

    A ``|`` is escaped outside code spans; inside one it keeps the cell whole as it is, and
    an escape would show.
    """
    line = " ".join(text.split())
    out: list[str] = []
    end = 0
    for span in _CODE_SPAN.finditer(line):
        out += [line[end : span.start()].replace("|", "\\|"), span.group()]
        end = span.end()
    return "".join([*out, line[end:].replace("|", "\\|")])


def code(text: str) -> str:
    """``text`` as a Markdown code span."""
    if "`" in text:
        return f"`` {text} ``"
    return f"`{text}`"


@functools.cache
def attribute_docs(path: str) -> dict[tuple[str, str], str]:
    """(class name, attribute) → docstring, for the top-level classes of a source file.

    An attribute's docstring is the string expression statement right after its annotated
    assignment.
    """
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    docs: dict[tuple[str, str], str] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        for statement, following in zip(node.body, node.body[1:], strict=False):
            if (
                isinstance(statement, ast.AnnAssign)
                and isinstance(statement.target, ast.Name)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                docs[node.name, statement.target.id] = inspect.cleandoc(following.value.value)
    return docs


def attribute_doc(cls: type, field: FieldPlan) -> str:
    """The field's docstring, without the leading ````key```` it repeats from its key."""
    source = inspect.getsourcefile(cls)
    doc = attribute_docs(source).get((cls.__name__, field.name), "") if source else ""
    doc = " ".join(doc.split())
    prefix = f"``{field.key}``"
    if doc.startswith(prefix):
        rest = doc.removeprefix(prefix).strip()
        doc = "" if rest == "." else rest.removeprefix(":").strip()
    return doc


def class_doc(obj: object) -> str:
    """The first paragraph of a class's or function's docstring, on one line."""
    return " ".join((inspect.getdoc(obj) or "").split("\n\n", 1)[0].split())


def default_of(field: FieldPlan) -> str:
    """The required-or-default cell."""
    if field.required:
        return "required"
    return f"default {code(repr(field.default))}"


def field_row(cls: type, field: FieldPlan) -> str:
    """The table row of one field of ``cls``."""
    key = code(field.key)
    if field.aliases:
        key += " (also accepted: " + ", ".join(code(a) for a in field.aliases) + ")"
    attribute = code(field.name)
    if field.alias != field.name:
        attribute += f" (argument {code(field.alias)})"
    cells = (
        key,
        attribute,
        field.kind.describe(),
        default_of(field),
        field.check.description if field.check is not None else "",
        attribute_doc(cls, field),
    )
    return "| " + " | ".join(cell(c) for c in cells) + " |"


def enums_in(kind: Kind) -> tuple[type[enum.Enum], ...]:
    """The enumerations whose values the kind holds."""
    if isinstance(kind, EnumOf):
        return (kind.cls,)
    if isinstance(kind, Optional):
        return enums_in(kind.inner)
    if isinstance(kind, ListOf):
        return enums_in(kind.item)
    if isinstance(kind, MappingOf):
        return enums_in(kind.value)
    return ()


def model_section(prefix: str, cls: type) -> list[str]:
    """The heading, docstring and field table of a model class."""
    plan = plan_of(cls)
    lines = [f"#### {code(f'{prefix}.{cls.__name__}')}", ""]
    if class_doc(cls):
        lines += [class_doc(cls), ""]
    if plan.wire_check is not None:
        check_doc = class_doc(plan.wire_check)
        see = "[Checks across fields](#checks-across-fields)"
        lines += [
            "Loaders also check the fields together: "
            + (f"{check_doc} See {see}." if check_doc else f"see {see}."),
            "",
        ]
    lines += [*HEADER, *(field_row(cls, field) for field in plan.fields), ""]
    return lines


def enum_section(prefix: str, cls: type[enum.Enum], used_by: list[str]) -> list[str]:
    """The heading, docstring and value table of an enumeration, with the fields using it."""
    lines = [f"#### {code(f'{prefix}.{cls.__name__}')}", ""]
    if class_doc(cls):
        lines += [class_doc(cls), ""]
    if used_by:
        lines += ["The values of " + ", ".join(code(u) for u in used_by) + ".", ""]
    lines += ["| Member | Wire value |", "|---|---|"]
    lines += [f"| {cell(code(m.name))} | {cell(code(str(m.value)))} |" for m in cls]
    return [*lines, ""]


def side_section(module: ModuleType, title: str) -> list[str]:
    """The models of one side's module, then its enumerations, in ``__all__`` order."""
    prefix = module.__name__.rsplit(".", 1)[-1]
    classes: list[Any] = [getattr(module, name) for name in module.__all__]
    models = [c for c in classes if isinstance(c, type) and attrs.has(c)]
    enums = [c for c in classes if isinstance(c, type) and issubclass(c, enum.Enum)]
    lines = [f"### {title} entities", ""]
    for cls in models:
        lines += model_section(prefix, cls)
    if enums:
        users: dict[type, list[str]] = {e: [] for e in enums}
        for cls in models:
            for field in plan_of(cls).fields:
                for used in enums_in(field.kind):
                    users.setdefault(used, []).append(f"{prefix}.{cls.__name__}.{field.name}")
        lines += [f"### {title} enumerations", ""]
        for enumeration in enums:
            lines += enum_section(prefix, enumeration, users[enumeration])
    return lines


def tables() -> str:
    """The generated part of the page, markers excluded."""
    lines: list[str] = []
    for module, title in SIDES:
        lines += side_section(module, title)
    return "\n".join(lines)


def render(text: str) -> str:
    """``text`` (the page) with its generated part made current.

    Raises:
        StaleError: the page lacks a marker, or has them out of order.
    """
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        msg = f"{PAGE.name} needs the lines {BEGIN!r} and then {END!r}"
        raise StaleError(msg)
    return f"{text[: start + len(BEGIN)]}\n\n{tables()}\n{text[end:]}"


def main(argv: list[str] | None = None) -> int:
    """Rewrite the page's tables, or with ``--check`` exit 1 when they are stale."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only report stale tables")
    args = parser.parse_args(argv)
    current = PAGE.read_text(encoding="utf-8")
    try:
        wanted = render(current)
    except StaleError as exc:
        print(exc, file=sys.stderr)
        return 2
    if wanted == current:
        return 0
    name = PAGE.relative_to(ROOT).as_posix()
    if args.check:
        sys.stdout.writelines(
            difflib.unified_diff(
                current.splitlines(keepends=True),
                wanted.splitlines(keepends=True),
                name,
                f"{name} (generated)",
            )
        )
        print(f"{name} is stale: run python tools/model_tables.py", file=sys.stderr)
        return 1
    PAGE.write_text(wanted, encoding="utf-8")
    print(f"{name}: tables updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
