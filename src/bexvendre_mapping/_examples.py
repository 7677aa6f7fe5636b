"""Where the shipped example documents are: in the wheel, or in a source checkout."""

from __future__ import annotations

from pathlib import Path

__all__ = ["example_path", "examples_dir"]


def examples_dir() -> Path:
    """The folder of the shipped example documents and code tables.

    The wheel carries them inside the package (``bexvendre_mapping/examples``); a source
    checkout has them in ``examples/`` at its root. Either way this is where they are, so a
    script or a test reads them without knowing how the library was installed:

    >>> from bexvendre_mapping import examples_dir
    >>> (examples_dir() / "lookups.toml").is_file()
    True

    Raises:
        FileNotFoundError: neither an installed copy nor a source checkout has them.
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / "examples", here.parent.parent / "examples"):
        if (candidate / "lookups.toml").is_file():
            return candidate
    msg = "the example documents are not installed with this copy of bexvendre-mapping"
    raise FileNotFoundError(msg)


def example_path(name: str) -> Path:
    """The path of one shipped example file, by its name: ``example_path("lookups.toml")``.

    The files are ``lookups.toml`` (the code tables), ``vendre-order.json``,
    ``vendre-product.json``, ``bex-article.json``, ``bex-stock.json``,
    ``bex-order-statuses.json``, ``bex-gift-card.json`` and
    ``bex-gift-card-reservation.json``.

    >>> from bexvendre_mapping import Lookups, example_path
    >>> lookups = Lookups.from_toml(example_path("lookups.toml"))
    >>> example_path("vendre-order.json").name
    'vendre-order.json'

    Raises:
        FileNotFoundError: no shipped example has that name, or the examples are not
            installed (see :func:`examples_dir`).
    """
    path = examples_dir() / name
    if not path.is_file() or Path(name).name != name:
        msg = f"no shipped example is called {name!r}"
        raise FileNotFoundError(msg)
    return path
