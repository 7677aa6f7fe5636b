"""The http extra is optional: the core never imports requests; without it, a clear error."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
import types

import pytest


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter of this environment."""
    return subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_the_core_imports_without_requests() -> None:
    """With requests unavailable, the root package and its modules import and work."""
    result = run_python(
        """
        import sys
        sys.modules["requests"] = None  # any import of requests now fails

        import bexvendre_mapping
        from bexvendre_mapping import bex, vendre

        stock = bex.load_stock('{"Artikelnr": "MUG", "Lagerantal": 3}')
        assert stock.quantity == 3
        assert sys.modules["requests"] is None

        try:
            import bexvendre_mapping.http
        except ImportError as exc:
            print(exc)
        else:
            raise SystemExit("bexvendre_mapping.http imported without requests")
        """
    )
    assert result.returncode == 0, result.stderr
    assert 'pip install "bexvendre-mapping[http]"' in result.stdout


def test_importing_the_core_does_not_import_requests() -> None:
    """requests (and urllib3) are loaded only when bexvendre_mapping.http is."""
    result = run_python(
        """
        import sys
        import bexvendre_mapping
        from bexvendre_mapping import bex, vendre
        loaded = sorted(m for m in ("requests", "urllib3", "werkzeug") if m in sys.modules)
        print(",".join(loaded))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


@pytest.mark.parametrize("name", ["bexvendre_mapping.http", "bexvendre_mapping.testing.sandbox"])
def test_all_is_sorted_and_complete(name: str) -> None:
    """__all__ lists every public name the module defines or re-exports, sorted."""
    pytest.importorskip("requests")  # the core-only test session has no extras
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported)
    package = name.rsplit(".", 1)[0] if name.endswith(".sandbox") else name
    public = {
        attr
        for attr, value in vars(module).items()
        if not attr.startswith("_")
        and not isinstance(value, types.ModuleType)
        and (
            getattr(value, "__module__", None) == name
            or getattr(value, "__module__", "").startswith(f"{package}._")
        )
    }
    assert public - set(exported) == set()
    assert all(hasattr(module, attr) for attr in exported)


def test_the_names_the_issue_promises_are_there() -> None:
    """Clients, endpoints, errors and the retry policy, from bexvendre_mapping.http."""
    pytest.importorskip("requests")
    from bexvendre_mapping import MappingError  # noqa: PLC0415
    from bexvendre_mapping.http import (  # noqa: PLC0415
        ApiError,
        AuthError,
        BexClient,
        BexEndpoints,
        HttpError,
        NotFound,
        RateLimited,
        ResponseError,
        RetryPolicy,
        ServerError,
        TransportError,
        VendreClient,
        VendreEndpoints,
    )

    for error in (AuthError, NotFound, RateLimited, ServerError, TransportError, ResponseError):
        assert issubclass(error, HttpError)
    assert not issubclass(HttpError, MappingError)
    for name in (RetryPolicy, BexEndpoints, VendreEndpoints, VendreClient, BexClient):
        assert callable(name)
    assert ApiError(title="x").title == "x"
    assert not issubclass(ApiError, BaseException)  # a record of the server's, not raised
