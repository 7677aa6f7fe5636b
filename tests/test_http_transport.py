"""The shared transport: retries, Retry-After, timeouts, errors, secrecy, TLS (loopback only)."""

from __future__ import annotations

import base64
import logging
import pickle
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from pytest_httpserver import HTTPServer
from tests.http_support import bex_order, gift_card_doc, stock_update, vendre_order_doc
from urllib3.util.retry import Retry
from werkzeug.wrappers import Request, Response

import bexvendre_mapping
from bexvendre_mapping.http import (
    AuthError,
    BexClient,
    HttpError,
    NotFound,
    RateLimited,
    ResponseError,
    RetryPolicy,
    ServerError,
    TransportError,
    VendreClient,
)
from bexvendre_mapping.testing.sandbox import Sandbox

NO_WAIT = RetryPolicy(total=3, backoff_factor=0, jitter=0, retry_after_max=1)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as running:
        yield running


def statuses(sandbox: Sandbox) -> list[int | None]:
    return [c.status for c in sandbox.calls()]


# --- the retry policy -----------------------------------------------------------------------


def test_retry_policy_becomes_urllib3_retry() -> None:
    """Idempotent methods, the transient statuses, Retry-After honoured and capped."""
    retry = RetryPolicy(total=4, backoff_factor=0.25, retry_after_max=7).urllib3_retry()
    assert isinstance(retry, Retry)
    assert (retry.total, retry.connect, retry.read, retry.status) == (4, 4, 4, 4)
    assert retry.allowed_methods == frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "PUT"})
    assert retry.status_forcelist == frozenset({429, 502, 503, 504})
    assert retry.respect_retry_after_header
    assert retry.retry_after_max == 7
    assert retry.backoff_factor == 0.25
    assert not retry.raise_on_status


def test_retry_policy_never_repeats_a_post_blindly() -> None:
    """POST is not idempotent: the creates repeat it themselves, after a look-up."""
    with pytest.raises(ValueError, match="POST"):
        RetryPolicy(methods={"GET", "post"})


def test_retry_policy_delay_is_exponential_capped_and_honours_retry_after() -> None:
    """The creates' waits: factor * 2 ** (n - 1), at most backoff_max; Retry-After capped."""
    policy = RetryPolicy(backoff_factor=0.5, backoff_max=3, jitter=0, retry_after_max=10)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 3.0]
    assert policy.delay(1, retry_after=4) == 4.0
    assert policy.delay(1, retry_after=60) == 10.0
    jittery = RetryPolicy(backoff_factor=0, jitter=0.5)
    assert all(0 <= jittery.delay(1) <= 0.5 for _ in range(20))


def test_retries_accepts_a_count() -> None:
    """retries=2 means the default policy with two repetitions."""
    assert RetryPolicy.coerce(2) == RetryPolicy(total=2)
    assert RetryPolicy.coerce(None) == RetryPolicy()
    with pytest.raises(TypeError):
        RetryPolicy.coerce(2.5)  # type: ignore[arg-type]


# --- retries against the sandbox ------------------------------------------------------------


def test_503_twice_then_success(sandbox: Sandbox) -> None:
    """Two 503s are retried away; the third attempt answers."""
    sandbox.add_vendre_order(vendre_order_doc(1))
    fault = sandbox.inject("vendre", path="orders", status=503, times=2)

    orders = list(sandbox.vendre_client().iter_orders())

    assert [o.id for o in orders] == [1]
    assert fault.hits == 2
    assert statuses(sandbox) == [503, 503, 200]


def test_a_put_is_retried_too(sandbox: Sandbox) -> None:
    """Stock updates are idempotent PUTs: a 502 is retried and the update arrives once."""
    sandbox.inject("vendre", method="PUT", path="stock", status=502)
    assert sandbox.vendre_client().update_stock([stock_update("MUG", 2)]) == 1
    assert statuses(sandbox) == [502, 200]
    assert len(sandbox.vendre_stock()) == 1


def test_a_lost_response_to_a_put_is_retried(sandbox: Sandbox) -> None:
    """The PUT is done, the answer lost; it is sent again, harmlessly."""
    entry = sandbox.set_bex_stock("MUG", 1)
    sandbox.inject("bex", method="PUT", drop_after_commit=True)
    sandbox.bex_client().confirm_stock_change(entry)
    assert statuses(sandbox) == [None, 200]
    assert sandbox.bex_queued_stock_changes() == []


def test_retry_after_is_honoured(sandbox: Sandbox) -> None:
    """A 429 with Retry-After: 1 makes the client wait about a second before retrying."""
    sandbox.add_vendre_order(vendre_order_doc(1))
    sandbox.inject("vendre", path="orders", status=429, retry_after=1)
    client = sandbox.vendre_client(retries=NO_WAIT)

    started = time.monotonic()
    assert [o.id for o in client.iter_orders()] == [1]
    waited = time.monotonic() - started

    assert 0.9 <= waited < 3
    assert statuses(sandbox) == [429, 200]


def test_retry_after_is_capped_by_the_policy(sandbox: Sandbox) -> None:
    """A server asking for 30 s gets retry_after_max (1 s here)."""
    sandbox.inject("vendre", path="orders", status=503, retry_after=30)
    client = sandbox.vendre_client(retries=NO_WAIT)

    started = time.monotonic()
    assert list(client.iter_orders()) == []
    assert time.monotonic() - started < 3


def test_backoff_grows_between_attempts(sandbox: Sandbox) -> None:
    """Without Retry-After, urllib3 waits 0, then factor * 2, then factor * 4 seconds."""
    sandbox.inject("vendre", path="orders", status=504, times=3)
    client = sandbox.vendre_client(retries=RetryPolicy(total=3, backoff_factor=0.05, jitter=0))

    started = time.monotonic()
    assert list(client.iter_orders()) == []
    assert time.monotonic() - started >= 0.3 - 0.02


def test_rate_limited_after_the_retries(sandbox: Sandbox) -> None:
    """A server that keeps answering 429: RateLimited, after the first try and one retry."""
    sandbox.inject("vendre", path="orders", status=429, times=10)
    client = sandbox.vendre_client(retries=RetryPolicy(total=1, backoff_factor=0, jitter=0))

    with pytest.raises(RateLimited) as caught:
        list(client.iter_orders())

    assert caught.value.status == 429
    assert caught.value.retry_after is None
    assert len(sandbox.calls()) == 2


def test_rate_limited_carries_retry_after_for_a_post(sandbox: Sandbox) -> None:
    """A 429 to a POST is not retried by urllib3; the error says how long to wait."""
    sandbox.add_bex_gift_card(gift_card_doc("PK-1"))
    sandbox.inject("bex", method="POST", status=429, retry_after=1, times=10)
    client = sandbox.bex_client(retries=RetryPolicy(total=0))
    with pytest.raises(RateLimited) as caught:
        client.reserve_gift_card("PK-1", bexvendre_mapping.money.parse_decimal("1.00"), "c-1")
    assert caught.value.retry_after == 1


def test_server_error_after_the_retries(sandbox: Sandbox) -> None:
    """503 on every attempt: ServerError after total + 1 attempts."""
    sandbox.inject("bex", status=503, times=10)
    client = sandbox.bex_client(retries=RetryPolicy(total=2, backoff_factor=0, jitter=0))

    with pytest.raises(ServerError) as caught:
        client.get_bonus_balance("5512")

    assert caught.value.status == 503
    assert caught.value.method == "GET"
    assert len(sandbox.calls()) == 3


def test_a_500_is_not_retried(sandbox: Sandbox) -> None:
    """500 is not among the transient statuses: one attempt, ServerError."""
    sandbox.inject("bex", status=500, times=10)
    with pytest.raises(ServerError):
        sandbox.bex_client().get_bonus_balance("5512")
    assert len(sandbox.calls()) == 1


# --- timeouts and connections ---------------------------------------------------------------


def test_a_read_timeout_is_a_transport_error(sandbox: Sandbox) -> None:
    """A server slower than the read timeout: TransportError, without status or body."""
    sandbox.inject("vendre", path="orders", delay=3, times=5)
    client = sandbox.vendre_client(timeout=(1.0, 0.2), retries=0)

    started = time.monotonic()
    with pytest.raises(TransportError, match="timed out") as caught:
        list(client.iter_orders())

    assert time.monotonic() - started < 1.5
    assert caught.value.status is None
    assert caught.value.body_excerpt is None
    assert caught.value.connected


def test_one_slow_answer_is_retried(sandbox: Sandbox) -> None:
    """A GET that timed out once is sent again and answers."""
    sandbox.add_vendre_order(vendre_order_doc(1))
    fault = sandbox.inject("vendre", path="orders", delay=2, times=1)
    client = sandbox.vendre_client(timeout=(1.0, 0.2), retries=1)
    assert [o.id for o in client.iter_orders()] == [1]
    assert fault.hits == 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_refused_connection_is_a_transport_error() -> None:
    """Nobody listening: TransportError, and connected is False (the request never left)."""
    client = BexClient(
        f"http://127.0.0.1:{free_port()}/api/", "key", "secret", retries=NO_WAIT, trust_env=False
    )
    with client, pytest.raises(TransportError, match="could not connect") as caught:
        client.get_gift_card("PK-1")
    assert not caught.value.connected


def test_a_create_is_not_repeated_when_it_never_left() -> None:
    """A refused POST was never received: no look-up, the TransportError is raised."""
    client = BexClient(
        f"http://127.0.0.1:{free_port()}/api/", "key", "secret", retries=NO_WAIT, trust_env=False
    )
    with client, pytest.raises(TransportError) as caught:
        client.create_order(bex_order())
    assert caught.value.method == "POST"


def test_a_lost_response_to_a_create_without_retries_is_a_transport_error(
    sandbox: Sandbox,
) -> None:
    """With retries off, the client reports the loss rather than guessing."""
    sandbox.inject("bex", method="POST", drop_after_commit=True)
    client = sandbox.bex_client(retries=0)
    with pytest.raises(TransportError, match="lost") as caught:
        client.create_order(bex_order("1"))
    assert caught.value.connected
    assert len(sandbox.bex_orders()) == 1  # the server did commit


def test_timeouts_must_be_positive() -> None:
    """A timeout of 0 or None would mean waiting forever or not at all."""
    for timeout in (0, -1, (1, 0), None, (1, 2, 3)):
        with pytest.raises(ValueError, match="timeout"):
            VendreClient("https://shop.example/API/1", "key", timeout=timeout)  # type: ignore[arg-type]


def test_base_url_must_be_http() -> None:
    """A base URL without scheme or host is refused, without echoing credentials."""
    with pytest.raises(ValueError, match="base_url") as caught:
        VendreClient("shop.example/API/1", "key")
    with pytest.raises(ValueError, match="base_url") as caught:
        VendreClient("ftp://user:pa55word@shop.example/", "key")
    assert "pa55word" not in str(caught.value)


# --- credentials ----------------------------------------------------------------------------


def test_wrong_credentials_are_auth_errors(sandbox: Sandbox) -> None:
    """401 from either API: AuthError, not retried."""
    with pytest.raises(AuthError) as vendre_error:
        list(sandbox.vendre_client(api_key="wrong").iter_orders())
    with pytest.raises(AuthError) as bex_error:
        sandbox.bex_client(secret="wrong").get_bonus_balance("1")  # noqa: S106
    with pytest.raises(AuthError):
        sandbox.bex_client(api_key="wrong").get_bonus_balance("1")
    assert vendre_error.value.status == bex_error.value.status == 401
    assert len(sandbox.calls()) == 3


def echo_headers(request: Request) -> Response:
    """A careless server that repeats the credentials it got in its error body."""
    echoed = f"{request.headers.get('Authorization')} {request.headers.get('X-Authorization')}"
    return Response(f"bad request from {echoed}", status=400)


def test_secrets_never_appear_in_errors_logs_or_reprs(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Key, secret and the Basic token are absent from str, repr, excerpts and DEBUG logs."""
    key, secret = "key-7f1e2d3c", "secret-9a8b7c6d5e"
    token = base64.b64encode(f"{key}:{secret}".encode()).decode()
    vendre_key = "vendre-key-0a1b2c3d4e5f"
    httpserver.expect_request("/api/GiftCards/PK-1").respond_with_handler(echo_headers)
    httpserver.expect_request("/API/1/orders").respond_with_handler(echo_headers)
    errors: list[HttpError] = []
    caplog.set_level(logging.DEBUG)

    bex_client = BexClient(
        httpserver.url_for("/api/"), key, secret, retries=NO_WAIT, trust_env=False
    )
    vendre_client = VendreClient(
        httpserver.url_for("/API/1"), vendre_key, auth="bearer", retries=NO_WAIT, trust_env=False
    )
    with bex_client, vendre_client:
        with pytest.raises(HttpError) as caught:
            bex_client.get_gift_card("PK-1")
        errors.append(caught.value)
        with pytest.raises(HttpError) as caught:
            list(vendre_client.iter_orders())
        errors.append(caught.value)
        texts = [repr(bex_client), repr(vendre_client), caplog.text]

    for error in errors:
        texts += [str(error), repr(error), error.body_excerpt or "", error.url]
    assert "***" in errors[0].body_excerpt  # type: ignore[operator]
    for text in texts:
        for credential in (key, secret, token, vendre_key):
            assert credential not in text


def test_secrets_never_appear_with_the_sandbox(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """The same over a sandbox's failures: 401, timeouts, lost responses, 5xx."""
    caplog.set_level(logging.DEBUG)
    sandbox.inject("bex", path="Orders", drop_after_commit=True, times=5)
    sandbox.inject("bex", path="GiftCards", delay=1, times=5)
    sandbox.inject("vendre", status=503, times=10)
    failures: list[HttpError] = []
    calls = [
        lambda: sandbox.bex_client(retries=0).create_order(bex_order()),
        lambda: sandbox.bex_client(timeout=(1, 0.1), retries=0).get_gift_card("PK-1"),
        lambda: list(sandbox.vendre_client().iter_orders()),
        lambda: sandbox.bex_client(secret="wrong-" + sandbox.bex_secret).get_bonus_balance("1"),
    ]
    for call in calls:
        with pytest.raises(HttpError) as caught:
            call()
        failures.append(caught.value)
    texts = [caplog.text, repr(sandbox), repr(sandbox.bex_client())]
    texts += [f"{e} {e!r} {e.body_excerpt}" for e in failures]
    for credential in (sandbox.bex_secret, sandbox.bex_api_key, sandbox.vendre_api_key):
        assert all(credential not in text for text in texts)


def test_credentials_in_the_base_url_are_not_shown() -> None:
    """A base URL with user information is shown without it."""
    client = BexClient(
        f"http://user:pa55word@127.0.0.1:{free_port()}/api/",
        "key",
        "secret",
        retries=0,
        trust_env=False,
    )
    with client, pytest.raises(TransportError) as caught:
        client.get_gift_card("1")
    assert "pa55word" not in str(caught.value)
    assert "pa55word" not in caught.value.url


# --- requests as sent, and odd answers ------------------------------------------------------


def test_user_agent_names_the_library_and_its_version(httpserver: HTTPServer) -> None:
    """User-Agent: bexvendre-mapping/<version>."""
    agent = f"bexvendre-mapping/{bexvendre_mapping.__version__}"
    httpserver.expect_request(
        "/api/Customers/1/Bonus", headers={"User-Agent": agent}
    ).respond_with_json({"Kundnr": "1", "Bonuspoäng": 5})
    with BexClient(httpserver.url_for("/api/"), "key-1", "secret-1", trust_env=False) as client:
        assert client.get_bonus_balance("1").points == 5


def test_redirects_are_not_followed(httpserver: HTTPServer) -> None:
    """A redirect could carry the key elsewhere: it is an error naming the new place."""
    httpserver.expect_request("/API/1/orders").respond_with_data(
        "", status=302, headers={"Location": "http://elsewhere.example/API/1/orders"}
    )
    client = VendreClient(httpserver.url_for("/API/1"), "key", trust_env=False)
    with client, pytest.raises(ResponseError, match=r"elsewhere\.example") as caught:
        list(client.iter_orders())
    assert caught.value.status == 302
    assert len(httpserver.log) == 1


def test_a_404_is_not_found(httpserver: HTTPServer) -> None:
    """NotFound carries method, URL, status and the body's start."""
    httpserver.expect_request("/api/GiftCards/X").respond_with_data(
        '{"error": "no card"}', status=404, content_type="application/json"
    )
    client = BexClient(httpserver.url_for("/api/"), "key-1", "secret-1", trust_env=False)
    with client, pytest.raises(NotFound) as caught:
        client.get_gift_card("X")
    error = caught.value
    assert (error.method, error.status) == ("GET", 404)
    assert error.url == httpserver.url_for("/api/GiftCards/X")
    assert error.body_excerpt == '{"error": "no card"}'


def test_errors_survive_pickling() -> None:
    """Errors cross process boundaries (multiprocessing, task queues) intact."""
    error = RateLimited(
        "rate limited",
        method="GET",
        url="https://x/",
        status=429,
        body_excerpt="slow",
        retry_after=3,
    )
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert (type(copy), str(copy), copy.retry_after) == (RateLimited, str(error), 3)
    lost = TransportError("lost", method="POST", url="https://x/", connected=False)
    assert pickle.loads(pickle.dumps(lost)).connected is False  # noqa: S301


def test_a_callers_session_is_used_and_left_open(sandbox: Sandbox) -> None:
    """A session passed in gets the client's adapter for its base URL only, and stays open."""
    sandbox.add_vendre_order(vendre_order_doc(1))
    with requests.Session() as session:
        session.trust_env = False
        client = VendreClient(sandbox.vendre_url, sandbox.vendre_api_key, session=session)
        with client:
            assert [o.id for o in client.iter_orders()] == [1]
        assert session.get_adapter(sandbox.vendre_url) is not session.get_adapter("http://x/")
        # The session is still usable after the client closed.
        assert session.get(sandbox.vendre_url + "orders").status_code == 401


# --- TLS ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throw-away self-signed certificate for 127.0.0.1, made with the openssl tool."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is not available")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(  # noqa: S603 - fixed arguments
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_tls_is_verified_by_default(certificate: tuple[Path, Path]) -> None:
    """A certificate no CA vouches for is refused; trusting it explicitly works."""
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with HTTPServer(host="127.0.0.1", port=free_port(), ssl_context=context) as server:
        server.expect_request("/api/Customers/1/Bonus").respond_with_json(
            {"Kundnr": "1", "Bonuspoäng": 5}
        )
        with BexClient(
            server.url_for("/api/"), "key-1", "secret-1", trust_env=False, retries=0
        ) as client:
            with pytest.raises(TransportError, match="TLS") as caught:
                client.get_bonus_balance("1")
            assert not caught.value.connected
        trusting = BexClient(
            server.url_for("/api/"), "key-1", "secret-1", trust_env=False, verify=str(cert)
        )
        with trusting:
            assert trusting.get_bonus_balance("1").points == 5
