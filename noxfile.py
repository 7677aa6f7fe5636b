"""Test sessions: every supported Python, with and without the optional extras.

`.ci/run` runs them all. Each session installs the *built wheel* into a fresh virtual
environment and tests it there, so what is tested is what users install.
"""

from __future__ import annotations

import glob
import os

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = False

PYTHONS = ["3.11", "3.12", "3.13"]
COVERAGE_BAR = "98"

# The tests of the pure core: they need neither requests nor the sandbox.
CORE_TESTS = [
    "tests/test_model_code.py",
    "tests/test_money.py",
    "tests/test_dates.py",
    "tests/test_wire.py",
    "tests/test_routes.py",
    "tests/test_lookups.py",
    "tests/test_convert_orders.py",
    "tests/test_convert_catalog.py",
    "tests/test_laws.py",
    "tests/test_fieldmap.py",
    "tests/test_cli.py",
    "tests/test_stream.py",
    "tests/test_http_import.py",
    "tests/test_imports.py",
    "tests/test_vat_and_arithmetic.py",
]


def _wheel(session: nox.Session) -> str:
    wheels = glob.glob("dist/*.whl")
    if len(wheels) != 1:
        session.error("build the wheel first: nox -s build (exactly one in dist/)")
    return os.path.abspath(wheels[0])


def _check_installed(session: nox.Session) -> None:
    location = session.run(
        "python", "-c", "import bexvendre_mapping; print(bexvendre_mapping.__file__)", silent=True
    )
    if "site-packages" not in str(location):
        session.error(f"tests would run against the source tree, not the wheel: {location}")


@nox.session(python=PYTHONS[0])
def build(session: nox.Session) -> None:
    """Build the sdist and the wheel, and check them with twine."""
    session.install("build", "twine")
    for old in glob.glob("dist/*"):
        os.remove(old)
    session.run("python", "-m", "build")
    session.run("twine", "check", "--strict", *glob.glob("dist/*"))
    session.run("python", "tools/check_dist.py", *glob.glob("dist/*"))


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The whole suite against the installed wheel with every extra (coverage on 3.11).

    Tests marked ``slow`` (the daylight-saving sweep over every cadence) are left out here:
    the README's test command, which `.ci/run` also runs, runs them once.

    The PostgreSQL state tests use ``$BEXVENDRE_TEST_POSTGRES_DSN`` (`.ci/run` starts a
    server and sets it; nox passes the environment through), else start a server of their own.

    pytest-xdist spreads it over the machine's cores (coverage follows the workers through
    its subprocess patch): the measured 3.11 run takes about half the time.
    """
    session.install(f"{_wheel(session)}[test]", "pytest-xdist")
    _check_installed(session)
    session.chdir("tests")  # so that `import bexvendre_mapping` cannot find ../src
    if session.python == PYTHONS[0]:
        session.run("coverage", "erase", "--rcfile=../pyproject.toml")
        session.run(
            "coverage",
            "run",
            "--rcfile=../pyproject.toml",
            "-m",
            "pytest",
            "-c",
            "../pyproject.toml",
            "--rootdir=..",
            "--numprocesses=auto",
            "-m",
            "not slow",
            ".",
            *session.posargs,
        )
        session.run("coverage", "combine", "--rcfile=../pyproject.toml")
        session.run(
            "coverage", "report", "--rcfile=../pyproject.toml", f"--fail-under={COVERAGE_BAR}"
        )
    else:
        session.run(
            "pytest",
            "-c",
            "../pyproject.toml",
            "--rootdir=..",
            "--numprocesses=auto",
            "-m",
            "not slow",
            ".",
            *session.posargs,
            env={"HYPOTHESIS_PROFILE": "dev"},
        )


@nox.session(python=PYTHONS)
def core(session: nox.Session) -> None:
    """The core's tests with no extra installed: no requests, werkzeug, rich or msgspec.

    So JSON goes through the standard library's json module here.
    """
    session.install(_wheel(session), "pytest>=9", "hypothesis")
    _check_installed(session)
    session.run(
        "python",
        "-c",
        "import importlib.util as u; "
        "assert not (u.find_spec('requests') or u.find_spec('msgspec'))",
    )
    session.run("bexvendre", "--help", silent=True)
    session.chdir("tests")
    session.run(
        "pytest",
        "-c",
        "../pyproject.toml",
        "--rootdir=..",
        *(name.removeprefix("tests/") for name in CORE_TESTS),
        *session.posargs,
        env={"HYPOTHESIS_PROFILE": "dev"},
    )


@nox.session(python=PYTHONS[0])
def docs(session: nox.Session) -> None:
    """Build the documentation site, warnings as errors."""
    session.install("-e", ".", "-r", "docs/requirements.txt")
    session.run("mkdocs", "build", "--strict", "--site-dir", "site")
