"""The public surface: every public module's __all__ is complete and sorted."""

from __future__ import annotations

import importlib
import importlib.util
import shutil
import subprocess
import sys
import types
from importlib.metadata import version
from pathlib import Path

import pytest

import bexvendre_mapping
import bexvendre_mapping._examples as examples_module
from bexvendre_mapping import (
    Lookups,
    MappingError,
    ModelCode,
    bex,
    convert,
    vendre,
)

MODULES = [
    "bexvendre_mapping",
    "bexvendre_mapping.bex",
    "bexvendre_mapping.convert",
    "bexvendre_mapping.fieldmap",
    "bexvendre_mapping.http",
    "bexvendre_mapping.money",
    "bexvendre_mapping.stream",
    "bexvendre_mapping.sync",
    "bexvendre_mapping.testing",
    "bexvendre_mapping.testing.sandbox",
    "bexvendre_mapping.testing.state_conformance",
    "bexvendre_mapping.testing.strategies",
    "bexvendre_mapping.vendre",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_is_sorted_and_complete(name: str) -> None:
    """__all__ lists every public name the module defines or re-exports, sorted."""
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported)
    # Public: defined in the module itself or re-exported from one of its private modules.
    public = {
        attr
        for attr, value in vars(module).items()
        if not attr.startswith("_")
        and not isinstance(value, types.ModuleType)
        and (
            getattr(value, "__module__", None) == name
            or getattr(value, "__module__", "").startswith(f"{name}._")
        )
    }
    assert public - set(exported) == set()
    for attr in exported:
        assert hasattr(module, attr)


def test_version_comes_from_metadata() -> None:
    """__version__ is the installed distribution's version."""
    assert bexvendre_mapping.__version__ == version("bexvendre-mapping")


def test_spec_section_9_names() -> None:
    """The names SPEC §9 promises are importable from the root."""
    assert callable(ModelCode.parse)
    assert callable(Lookups.from_toml)
    assert issubclass(MappingError, ValueError)
    for func in (
        "order_to_bex",
        "order_to_vendre",
        "article_to_vendre",
        "product_to_bex",
        "stock_to_vendre",
        "stock_to_bex",
        "status_to_vendre",
        "status_to_bex",
        "gift_card_to_vendre",
        "gift_card_to_bex",
        "bonus_to_vendre",
        "bonus_to_bex",
    ):
        assert callable(getattr(convert, func))
    for side, entities in (
        (
            vendre,
            [
                "order",
                "product",
                "stock_update",
                "order_status_update",
                "gift_card",
                "bonus_balance",
                "address",
                "customer_address",
                "payment",
                "order_product",
                "total",
                "shipping",
                "gift_card_use",
                "warehouse",
                "product_family",
            ],
        ),
        (
            bex,
            [
                "order",
                "row",
                "article",
                "stock",
                "order_status",
                "gift_card",
                "gift_card_reservation",
                "bonus_balance",
            ],
        ),
    ):
        for entity in entities:
            for verb in ("load", "dump", "dumps"):
                assert callable(getattr(side, f"{verb}_{entity}"))


# --- Where the examples are -----------------------------------------------------------------------


def _installed_copy(root: Path) -> types.ModuleType:
    """The examples module as a copy installed under ``root`` (a wheel's layout)."""
    package = root / "site-packages" / "bexvendre_mapping"
    package.mkdir(parents=True)
    assert examples_module.__file__ is not None
    shutil.copy(examples_module.__file__, package / "_examples.py")
    spec = importlib.util.spec_from_file_location(
        "bexvendre_mapping._examples", package / "_examples.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_examples_are_found_inside_an_installed_wheel(tmp_path: Path) -> None:
    """A wheel carries the examples inside the package; they are found there."""
    module = _installed_copy(tmp_path)
    inside = tmp_path / "site-packages" / "bexvendre_mapping" / "examples"
    inside.mkdir()
    (inside / "lookups.toml").write_text("", encoding="utf-8")
    assert module.examples_dir() == inside.resolve()


def test_an_install_without_examples_says_so(tmp_path: Path) -> None:
    """Neither the wheel's nor a checkout's folder: a FileNotFoundError that says why."""
    module = _installed_copy(tmp_path)
    with pytest.raises(FileNotFoundError, match="not installed with this copy"):
        module.examples_dir()


SHIPPED_EXAMPLES = (
    "bex-article.json",
    "bex-gift-card-reservation.json",
    "bex-gift-card.json",
    "bex-order-statuses.json",
    "bex-stock.json",
    "lookups.toml",
    "vendre-order.json",
    "vendre-product.json",
)


def test_the_examples_helpers_are_public() -> None:
    """examples_dir and example_path come from the root; the docs read examples with them."""
    assert bexvendre_mapping.examples_dir is examples_module.examples_dir
    assert bexvendre_mapping.example_path is examples_module.example_path
    assert {"example_path", "examples_dir"} <= set(bexvendre_mapping.__all__)
    assert {"example_path", "examples_dir"} <= set(dir(bexvendre_mapping))
    assert bexvendre_mapping.examples_dir.__doc__
    assert bexvendre_mapping.example_path.__doc__


@pytest.mark.parametrize("name", SHIPPED_EXAMPLES)
def test_example_path_names_each_shipped_file(name: str) -> None:
    """Every shipped example is found by its name, in the examples folder, and reads."""
    path = bexvendre_mapping.example_path(name)
    assert path == bexvendre_mapping.examples_dir() / name
    assert path.is_file()
    assert path.read_bytes()


def test_the_docstring_lists_every_shipped_example() -> None:
    """example_path's docstring names the files that are there, no more, no fewer."""
    folder = bexvendre_mapping.examples_dir()
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == sorted(SHIPPED_EXAMPLES)
    doc = bexvendre_mapping.example_path.__doc__ or ""
    for name in SHIPPED_EXAMPLES:
        assert f"``{name}``" in doc, name


@pytest.mark.parametrize("name", ["nothere.json", "../pyproject.toml", "", "."])
def test_example_path_refuses_other_names(name: str) -> None:
    """A name that is no shipped example, or a path out of the folder, is a FileNotFoundError."""
    with pytest.raises(FileNotFoundError, match="no shipped example is called"):
        bexvendre_mapping.example_path(name)


def test_example_path_works_from_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The path does not depend on the working directory (the docs run from a temporary one)."""
    monkeypatch.chdir(tmp_path)
    path = bexvendre_mapping.example_path("lookups.toml")
    assert path.is_absolute()
    assert Lookups.from_toml(path) == Lookups.from_toml(
        examples_module.examples_dir() / "lookups.toml"
    )


_WITHOUT_HYPOTHESIS = """
import sys
sys.modules["hypothesis"] = None  # as if it were not installed
from bexvendre_mapping.testing.sandbox import Sandbox
with Sandbox(seed_examples=True) as sandbox:
    assert sandbox.vendre_orders()
import bexvendre_mapping.testing as testing
try:
    testing.bex_orders
except ImportError as exc:
    print(exc)
"""


def test_the_sandbox_needs_no_hypothesis() -> None:
    """`bexvendre demo` with the http and cli extras: the sandbox imports without Hypothesis;
    the strategies name the extra that brings it (found by the release rehearsal)."""
    result = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", _WITHOUT_HYPOTHESIS], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert 'pip install "bexvendre-mapping[testing]"' in result.stdout


def test_the_testing_module_lists_its_lazy_strategies() -> None:
    from bexvendre_mapping import testing  # noqa: PLC0415 - the module under test

    assert {"bex_orders", "vendre_product_families"} <= set(dir(testing))
    assert callable(testing.vendre_product_families)
    with pytest.raises(AttributeError, match="no_such_strategy"):
        testing.no_such_strategy  # noqa: B018 - the attribute access is the test
