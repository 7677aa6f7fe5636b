"""The shared transport: retries, Retry-After, timeouts, errors, secrecy, TLS (loopback only)."""

from __future__ import annotations

import base64
import contextlib
import gc
import itertools
import json
import logging
import os
import pickle
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import tracemalloc
import warnings
import zlib
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from pytest_httpserver import HTTPServer
from tests.http_support import (
    bex_order,
    gift_card_doc,
    stock_update,
    vendre_order_doc,
    vendre_product,
    vendre_product_record,
)
from urllib3.util.retry import Retry
from werkzeug.wrappers import Request, Response

import bexvendre_mapping
from bexvendre_mapping import MappingError
from bexvendre_mapping.http import (
    BEX_BASE_URL,
    DEFAULT_DEADLINE,
    DEFAULT_MAX_RESPONSE_BYTES,
    ApiError,
    AuthError,
    BexClient,
    HttpError,
    NotFound,
    RateLimited,
    RequestRejected,
    ResponseError,
    RetryBudgetExhausted,
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
    """Stock saves are idempotent PUTs by id: a 502 is retried and the stock arrives."""
    sandbox.add_vendre_product(vendre_product_record(4))
    sandbox.inject("vendre", method="PUT", path="products/4", status=502)
    sandbox.vendre_client().save_stock(4, stock_update("MUG", 2))
    assert statuses(sandbox) == [502, 200]
    assert [s["quantity"] for s in sandbox.vendre_stock()] == [2]


def test_a_create_is_never_repeated_by_the_client(sandbox: Sandbox) -> None:
    """A POST of a new product that gets a 503 is not sent again: it may have been done."""
    sandbox.inject("vendre", method="POST", path="products", status=503, times=5)
    with pytest.raises(ServerError):
        sandbox.vendre_client().save_product(vendre_product())
    assert statuses(sandbox) == [503]


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


@pytest.mark.parametrize(
    "make",
    [lambda url: BexClient(url, "key-1234", "secret-5678"), lambda url: VendreClient(url, "k3y")],
    ids=["bex", "vendre"],
)
@pytest.mark.parametrize(
    "url",
    [
        "http://user:pa55word@127.0.0.1:9/api/",
        "https://:pa55word@shop.example/API/1",
        "https://pa55word@shop.example/API/1",
    ],
)
def test_credentials_in_the_base_url_are_refused(make: Callable[[str], object], url: str) -> None:
    """user:password@ in the base URL is refused, never shown (it was, in repr and base_url).

    Were it accepted, requests would send it as Basic credentials of its own besides the
    client's, and it would show wherever the base URL does.
    """
    with pytest.raises(ValueError, match="base_url holds a user name or password") as caught:
        make(url)
    assert "put credentials in the client's api_key" in str(caught.value)
    assert "pa55word" not in str(caught.value)


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


def test_a_redirect_names_its_target_without_credentials(httpserver: HTTPServer) -> None:
    """A Location with user:password@ is named without them."""
    httpserver.expect_request("/API/1/orders").respond_with_data(
        "", status=307, headers={"Location": "http://user:pa55word@elsewhere.example:8080/x"}
    )
    client = VendreClient(httpserver.url_for("/API/1"), "key", retries=0, trust_env=False)
    with client, pytest.raises(ResponseError) as caught:
        list(client.iter_orders())
    assert "unexpected redirect to http://elsewhere.example:8080/x" in str(caught.value)
    assert "pa55word" not in str(caught.value)


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


# --- hostile servers: bounds on size, time and waiting (issue 16) ---------------------------

GIFT_CARD_PATH = "/api/GiftCards/PK-1"


def read_request_head(connection: socket.socket) -> bool:
    """Read one request (head, and a body by Content-Length); False if the client left."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return False
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            return False
        body += chunk
    return True


class ScriptedServer:
    """A loopback server that reads each request, then lets ``script`` answer on the socket.

    One connection at a time; ``script`` gets the connection and a stop event, and ends when
    the client goes away (an OSError, swallowed) or the server stops. With ``http=False``
    the script gets the connection as soon as it is accepted.
    """

    def __init__(
        self, script: Callable[[socket.socket, threading.Event], None], *, http: bool = True
    ) -> None:
        self.script = script
        self.http = http
        self.requests = 0
        self.stopping = threading.Event()
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.1)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}/api/"

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            with connection, contextlib.suppress(OSError):
                connection.settimeout(5)
                if not self.http or read_request_head(connection):
                    self.requests += 1
                    self.script(connection, self.stopping)

    def close(self) -> None:
        self.stopping.set()
        self._thread.join(timeout=30)
        self._socket.close()


@pytest.fixture
def scripted() -> Iterator[Callable[..., str]]:
    servers: list[ScriptedServer] = []

    def start(script: Callable[[socket.socket, threading.Event], None], http: bool = True) -> str:
        servers.append(ScriptedServer(script, http=http))
        return servers[-1].url

    yield start
    for server in servers:
        server.close()


def trickle(connection: socket.socket, stopping: threading.Event, data: bytes) -> None:
    """Send ``data`` a byte every 0.2 s: every read timeout is met, the answer never ends."""
    for byte in data:
        if stopping.wait(0.2):
            return
        connection.sendall(bytes([byte]))


def trickled_body(connection: socket.socket, stopping: threading.Event) -> None:
    connection.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n"
    )
    trickle(connection, stopping, b" " * 399 + b"1")


def trickled_headers(connection: socket.socket, stopping: threading.Event) -> None:
    trickle(connection, stopping, b"HTTP/1.1 200 OK\r\nX-Slow: " + b"z" * 400 + b"\r\n\r\n")


def chunked(connection: socket.socket, stopping: threading.Event, status: int) -> None:
    """A chunked body of JSON whitespace without end (for the client: 256 MiB, 20 s at most)."""
    connection.sendall(
        f"HTTP/1.1 {status} Whatever\r\nContent-Type: application/json\r\n".encode()
        + b"Retry-After: 0\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    piece = b"10000\r\n" + b" " * 0x10000 + b"\r\n"
    ends = time.monotonic() + 20
    for _ in range(4096):
        if stopping.is_set() or time.monotonic() > ends:
            return
        connection.sendall(piece)


def bex_client(url: str, **options: Any) -> BexClient:
    defaults: dict[str, Any] = {"retries": 0, "timeout": (2.0, 2.0), "trust_env": False}
    return BexClient(url, "key-1234", "secret-5678", **{**defaults, **options})


# Fault 4: a Retry-After past int()'s 4,300-digit limit escaped as ValueError.


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("9" * 5000, 1),  # whole seconds however many digits: longer than any cap
        ("0" * 5000 + "1", 1),
        ("Mon, 01 Jan 99999 00:00:00 GMT", None),  # a date out of range: unreadable
    ],
    ids=["5000-digits", "leading-zeros", "year-99999"],
)
@pytest.mark.parametrize(("status", "error_class"), [(503, ServerError), (429, RateLimited)])
def test_an_enormous_retry_after_is_an_http_error(
    httpserver: HTTPServer,
    value: str,
    expected: int | None,
    status: int,
    error_class: type[ServerError | RateLimited],
) -> None:
    """Retried after at most retry_after_max, then the status's own error, never ValueError."""
    httpserver.expect_request(GIFT_CARD_PATH).respond_with_json(
        {"error": "busy"}, status=status, headers={"Retry-After": value}
    )
    retries = RetryPolicy(total=1, backoff_factor=0, jitter=0, retry_after_max=1)
    with (
        bex_client(httpserver.url_for("/api/"), retries=retries) as client,
        pytest.raises(error_class) as caught,
    ):
        client.get_gift_card("PK-1")
    assert (caught.value.status, caught.value.retry_after) == (status, expected)
    assert len(httpserver.log) == 2


def test_an_enormous_retry_after_on_a_create_is_a_server_error(httpserver: HTTPServer) -> None:
    """The creates read the Retry-After of a 503 themselves: the same reading there."""
    httpserver.expect_request("/api/GiftCardReservations", method="POST").respond_with_json(
        {"error": "busy"}, status=503, headers={"Retry-After": "7" * 5000}
    )
    with bex_client(httpserver.url_for("/api/")) as client, pytest.raises(ServerError) as caught:
        client.reserve_gift_card("PK-1", Decimal("10.00"), "checkout-1")
    assert caught.value.retry_after == RetryPolicy().retry_after_max


def test_the_retry_policy_reads_any_number_of_digits() -> None:
    """urllib3's own parser raised ValueError; the policy's Retry cuts it to the cap."""
    retry = RetryPolicy(retry_after_max=30).urllib3_retry()
    assert retry.parse_retry_after("1" * 4301) == 30
    assert retry.parse_retry_after(" 12 ") == 12


# Fault 6: no limit on the size of a response.


def gzip_bomb(size: int) -> bytes:
    """A gzip body that inflates to a JSON document of ``size`` bytes (about 1000:1)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b" " * (1024 * 1024)
    parts = [compressor.compress(b'{"Kundnr": "1", "Bonuspo\xc3\xa4ng": 5')]
    parts += [compressor.compress(block) for _ in range(size // len(block))]
    parts += [compressor.compress(b"}"), compressor.flush()]
    return b"".join(parts)


def test_a_gzip_bomb_stops_at_the_size_limit(httpserver: HTTPServer) -> None:
    """64 MiB inflated from 64 KiB: ResponseError at 1 MiB, and the rest is never inflated.

    Before, the whole body was inflated into memory (and this one even loaded).
    """
    bomb = gzip_bomb(64 * 1024 * 1024)
    assert len(bomb) < 128 * 1024
    httpserver.expect_request("/api/Customers/1/Bonus").respond_with_data(
        bomb, content_type="application/json", headers={"Content-Encoding": "gzip"}
    )
    limit = 1024 * 1024
    with (
        bex_client(httpserver.url_for("/api/"), max_response_bytes=limit) as client,
        traced_peak() as peak,
        pytest.raises(ResponseError, match="larger than the limit of 1048576 bytes"),
    ):
        client.get_bonus_balance("1")
    assert peak[0] < 16 * 1024 * 1024


@contextlib.contextmanager
def traced_peak() -> Iterator[list[int]]:
    """The peak of the memory Python allocates in the block, in bytes, in the list after it."""
    peak: list[int] = []
    tracemalloc.start()
    try:
        yield peak
    finally:
        peak.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()


def test_an_endless_body_stops_at_the_size_limit(scripted: Any) -> None:
    """A chunked body that never ends: ResponseError naming the limit, within seconds."""
    url = scripted(lambda connection, stopping: chunked(connection, stopping, 200))
    started = time.monotonic()
    with (
        bex_client(url, max_response_bytes=256 * 1024) as client,
        pytest.raises(ResponseError) as caught,
    ):
        client.get_bonus_balance("1")
    assert time.monotonic() - started < 10
    assert "larger than the limit of 262144 bytes (max_response_bytes)" in str(caught.value)
    assert caught.value.status == 200
    assert caught.value.body_excerpt is not None


@pytest.mark.parametrize(("status", "error_class"), [(503, ServerError), (404, NotFound)])
def test_an_error_with_an_endless_body_is_still_its_status_error(
    scripted: Any, status: int, error_class: type[HttpError]
) -> None:
    """Of an error only the excerpt is read; a retried 503 is not read to its end either.

    Before, the body was read to its end, before the retry and for the error: for ever.
    """
    url = scripted(lambda connection, stopping: chunked(connection, stopping, status))
    retries = RetryPolicy(total=1, backoff_factor=0, jitter=0)
    started = time.monotonic()
    with (
        bex_client(url, retries=retries) as client,
        traced_peak() as peak,
        pytest.raises(error_class) as caught,
    ):
        client.get_bonus_balance("1")
    assert time.monotonic() - started < 10
    assert caught.value.status == status
    assert peak[0] < 16 * 1024 * 1024


def test_the_size_limit_is_checked() -> None:
    """64 MiB by default; a limit below one byte is refused."""
    assert DEFAULT_MAX_RESPONSE_BYTES == 64 * 1024 * 1024
    for value in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="max_response_bytes"):
            VendreClient("https://shop.example/API/1", "key", max_response_bytes=value)  # type: ignore[arg-type]


# Fault 7: a trickling server defeated the read timeout, and Retry-After waits had no bound.


@pytest.mark.parametrize("script", [trickled_body, trickled_headers], ids=["body", "headers"])
def test_a_trickling_server_meets_the_deadline(scripted: Any, script: Any) -> None:
    """A byte every 0.2 s meets a 2 s read timeout for ever; a 1 s deadline ends it."""
    url = scripted(script)
    started = time.monotonic()
    with (
        bex_client(url, deadline=1) as client,
        pytest.raises(TransportError, match=r"deadline of 1s") as caught,
    ):
        client.get_bonus_balance("1")
    assert time.monotonic() - started < 6
    assert caught.value.connected


def test_the_deadline_is_per_attempt(scripted: Any) -> None:
    """A GET whose headers trickle is retried, and the retry gets the whole deadline again.

    (A body is read after urllib3 has handed the response over: it is never retried.)
    """
    url = scripted(trickled_headers)
    retries = RetryPolicy(total=1, backoff_factor=0, jitter=0)
    started = time.monotonic()
    with (
        bex_client(url, deadline=1, retries=retries) as client,
        pytest.raises(TransportError, match="deadline"),
    ):
        client.get_bonus_balance("1")
    assert 1.8 < time.monotonic() - started < 10


def test_a_create_past_the_deadline_may_have_been_carried_out(scripted: Any) -> None:
    """A POST past its deadline may have been carried out: connected, so the create looks."""
    url = scripted(trickled_headers)
    with (
        bex_client(url, deadline=0.5) as client,
        pytest.raises(TransportError, match="deadline") as caught,
    ):
        client.create_order(bex_order())
    assert caught.value.connected
    assert caught.value.method == "POST"


def test_the_deadline_holds_over_tls(certificate: tuple[Path, Path]) -> None:
    """The watchdog shuts the socket under TLS too."""
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    stopping = threading.Event()

    def slowly(_request: Request) -> Response:
        def body() -> Iterator[bytes]:
            for _ in range(100):
                if stopping.wait(0.2):
                    return
                yield b" "

        return Response(body(), content_type="application/json")

    with HTTPServer(host="127.0.0.1", port=free_port(), ssl_context=context) as server:
        server.expect_request("/api/Customers/1/Bonus").respond_with_handler(slowly)
        started = time.monotonic()
        with (
            bex_client(server.url_for("/api/"), verify=str(cert), deadline=1) as client,
            pytest.raises(TransportError, match="deadline"),
        ):
            client.get_bonus_balance("1")
        assert time.monotonic() - started < 6
        stopping.set()


def test_a_trickling_tls_handshake_meets_the_deadline(scripted: Any) -> None:
    """A server that answers the ClientHello a byte at a time is watched from the connect on."""

    def handshake(connection: socket.socket, stopping: threading.Event) -> None:
        connection.recv(65536)  # the ClientHello
        connection.sendall(b"\x16\x03\x03\x40\x00")  # a 16 KiB handshake record follows...
        trickle(connection, stopping, bytes(400))

    url = scripted(handshake, http=False).replace("http://", "https://")
    started = time.monotonic()
    with (
        bex_client(url, deadline=1) as client,
        pytest.raises(TransportError, match="deadline of 1s"),
    ):
        client.get_bonus_balance("1")
    assert time.monotonic() - started < 6


def test_the_deadline_is_checked(httpserver: HTTPServer) -> None:
    """120 s by default; None turns it off; 0 or less is refused."""
    assert DEFAULT_DEADLINE == 120
    httpserver.expect_request("/api/Customers/1/Bonus").respond_with_json(
        {"Kundnr": "1", "Bonuspoäng": 5}
    )
    with bex_client(httpserver.url_for("/api/"), deadline=None) as client:
        assert client.get_bonus_balance("1").points == 5
    for value in (0, -1, True, "5"):
        with pytest.raises(ValueError, match="deadline"):
            VendreClient("https://shop.example/API/1", "key", deadline=value)  # type: ignore[arg-type]


def test_the_policys_retry_serves_a_session_of_ones_own(httpserver: HTTPServer) -> None:
    """urllib3_retry() is lenient about Retry-After and bound by neither deadline nor budget."""
    httpserver.expect_ordered_request("/x").respond_with_data(
        "busy", status=503, headers={"Retry-After": "9" * 5000}
    )
    httpserver.expect_ordered_request("/x").respond_with_data("ok")
    policy = RetryPolicy(total=1, retry_after_max=1, wait_budget=0)
    with requests.Session() as session:
        session.mount("http://", requests.adapters.HTTPAdapter(max_retries=policy.urllib3_retry()))
        assert session.get(httpserver.url_for("/x"), timeout=5).text == "ok"


def test_the_deadline_holds_through_an_http_proxy(scripted: Any) -> None:
    """A caller's session that goes through a proxy: the proxy's connection is watched."""
    proxy = scripted(trickled_headers).removesuffix("/api/")
    with requests.Session() as session:
        session.proxies = {"http": proxy}
        started = time.monotonic()
        with (
            bex_client("http://bex.example/api/", session=session, deadline=1) as client,
            pytest.raises(TransportError, match="deadline"),
        ):
            client.get_bonus_balance("1")
        assert time.monotonic() - started < 6


def test_the_wait_budget_stops_retries_early(httpserver: HTTPServer) -> None:
    """503 with Retry-After: 1 to everything, budget 2.5 s: given up after 2 s of waiting.

    Without the budget, the client would wait out all ten retries.
    """
    httpserver.expect_request(GIFT_CARD_PATH).respond_with_json(
        {"error": "busy"}, status=503, headers={"Retry-After": "1"}
    )
    retries = RetryPolicy(total=10, backoff_factor=0, jitter=0, retry_after_max=5, wait_budget=2.5)
    started = time.monotonic()
    with (
        bex_client(httpserver.url_for("/api/"), retries=retries) as client,
        pytest.raises(RetryBudgetExhausted) as caught,
    ):
        client.get_gift_card("PK-1")
    assert 1.8 < time.monotonic() - started < 8
    assert len(httpserver.log) == 3
    error = caught.value
    assert (error.method, error.status) == ("GET", 503)
    assert error.url == httpserver.url_for(GIFT_CARD_PATH)
    assert "wait budget of 2.5s" in str(error)
    assert isinstance(error, HttpError)
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own error
    assert (type(copy), str(copy)) == (RetryBudgetExhausted, str(error))


def test_the_wait_budget_lasts_until_it_is_reset(httpserver: HTTPServer) -> None:
    """What one call waited is gone for the next; reset_wait_budget gives it back."""
    httpserver.expect_request(GIFT_CARD_PATH).respond_with_json(
        {"error": "busy"}, status=503, headers={"Retry-After": "1"}
    )
    retries = RetryPolicy(total=3, backoff_factor=0, jitter=0, retry_after_max=5, wait_budget=1.5)
    with bex_client(httpserver.url_for("/api/"), retries=retries) as client:
        with pytest.raises(RetryBudgetExhausted):
            client.get_gift_card("PK-1")
        assert len(httpserver.log) == 2  # waited 1 s, then 1 s more would pass 1.5 s
        started = time.monotonic()
        with pytest.raises(RetryBudgetExhausted):
            client.get_gift_card("PK-1")
        assert time.monotonic() - started < 0.9  # no wait at all
        assert len(httpserver.log) == 3
        client.reset_wait_budget()
        with pytest.raises(RetryBudgetExhausted):
            client.get_gift_card("PK-1")
        assert len(httpserver.log) == 5


def test_the_wait_budget_bounds_a_creates_own_waits(sandbox: Sandbox) -> None:
    """create/reserve repeat a POST themselves after RetryPolicy.delay: the same budget."""
    sandbox.add_bex_gift_card(gift_card_doc("PK-1"))
    sandbox.inject(
        "bex", method="POST", path="GiftCardReservations", status=503, retry_after=1, times=10
    )
    retries = RetryPolicy(total=5, backoff_factor=0, jitter=0, retry_after_max=1, wait_budget=1.5)
    client = sandbox.bex_client(retries=retries)
    with pytest.raises(RetryBudgetExhausted) as caught:
        client.reserve_gift_card("PK-1", Decimal("10.00"), "checkout-1")
    assert (caught.value.method, caught.value.status) == ("POST", 503)
    assert [(c.method, c.status) for c in sandbox.calls("bex")] == [
        ("POST", 503),
        ("GET", 200),
        ("POST", 503),
    ]


def test_the_wait_budget_bounds_backoffs_without_a_response() -> None:
    """Connection refused, backoff 2 s after the first repetition: past a 0.5 s budget."""
    retries = RetryPolicy(total=5, backoff_factor=1, jitter=0, wait_budget=0.5)
    client = bex_client(f"http://127.0.0.1:{free_port()}/api/", retries=retries)
    started = time.monotonic()
    with client, pytest.raises(RetryBudgetExhausted) as caught:
        client.get_gift_card("PK-1")
    assert time.monotonic() - started < 5
    assert caught.value.status is None


def test_the_wait_budget_is_300_seconds_by_default() -> None:
    """None turns it off; a negative budget is refused."""
    assert RetryPolicy().wait_budget == 300
    assert RetryPolicy(wait_budget=None).wait_budget is None
    with pytest.raises(ValueError, match="wait_budget"):
        RetryPolicy(wait_budget=-1)


# Fault 10: short secrets were never redacted.


def echo_credentials(request: Request) -> Response:
    """A careless server that repeats the credentials it got, alone and inside longer words."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    secret = base64.b64decode(value).decode() if scheme == "Basic" else value
    return Response(f"denied for {secret} ({header}); not {secret}y or x{secret}x", status=400)


def test_short_secrets_are_redacted_as_whole_tokens(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A 2- or 3-character secret standing alone is ***; inside a longer word it is left.

    Before, a secret under 4 characters was never redacted.
    """
    caplog.set_level(logging.DEBUG)
    httpserver.expect_request(GIFT_CARD_PATH).respond_with_handler(echo_credentials)
    httpserver.expect_request("/API/1/orders").respond_with_handler(echo_credentials)
    bex = BexClient(httpserver.url_for("/api/"), "k3", "x9z", retries=0, trust_env=False)
    vendre = VendreClient(
        httpserver.url_for("/API/1"), "v7", auth="bearer", retries=0, trust_env=False
    )
    with bex, vendre:
        with pytest.raises(HttpError) as bex_error:
            bex.get_gift_card("PK-1")
        with pytest.raises(HttpError) as vendre_error:
            list(vendre.iter_orders())
        reprs = repr(bex) + repr(vendre)
    assert bex_error.value.body_excerpt == (
        "denied for ***:*** (Basic ***); not ***:x9zy or xk3:x9zx"
    )
    assert vendre_error.value.body_excerpt == "denied for *** (Bearer ***); not v7y or xv7x"
    texts = [str(bex_error.value), str(vendre_error.value), caplog.text, reprs]
    assert not any(word in text for text in texts for word in ("k3:x9z ", " v7 "))


# --- Arguments checked before any request, odd answers, faults below HTTP -------------------------


NO_RETRIES = RetryPolicy(total=0)


def vendre_client_of(server: HTTPServer, **options: Any) -> VendreClient:
    defaults: dict[str, Any] = {"retries": NO_RETRIES, "timeout": (2.0, 5.0), "trust_env": False}
    return VendreClient(server.url_for("/API/1/"), "k3y-1234", **{**defaults, **options})


def test_client_arguments_are_checked_up_front() -> None:
    """An empty key or a page size below 1 is refused when the client is made."""
    with pytest.raises(ValueError, match="api_key is empty"):
        VendreClient("https://shop.example/API/1", "")
    with pytest.raises(ValueError, match="page_size must be at least 1, got 0"):
        BexClient(BEX_BASE_URL, "key", "s3cret", page_size=0)


def test_page_sizes_are_checked_when_iterating() -> None:
    """page_size below 1 is a ValueError at the call, before any request is sent."""
    with VendreClient("https://shop.example/API/1", "k3y") as vendre:
        with pytest.raises(ValueError, match="got 0"):
            vendre.iter_orders(page_size=0)
        with pytest.raises(ValueError, match="got -1"):
            vendre.iter_order_documents(page_size=-1)
    with BexClient(BEX_BASE_URL, "key", "s3cret") as bex_api:
        with pytest.raises(ValueError, match="got 0"):
            bex_api.iter_articles(page_size=0)
        with pytest.raises(ValueError, match="got 0"):
            bex_api.iter_order_statuses(page_size=0)


@pytest.mark.parametrize("amount", [Decimal(0), Decimal("-5.00"), 0])
def test_a_reservation_must_be_above_zero(amount: Decimal) -> None:
    """Reserving nothing or less is refused before a request, reported against the caller's
    argument `amount` (not the wire's `Belopp`)."""
    with (
        BexClient(BEX_BASE_URL, "key", "s3cret") as client,
        pytest.raises(MappingError) as caught,
    ):
        client.reserve_gift_card("PK-1", amount, "order-1")
    assert caught.value.paths == ("amount",)
    assert "must be above 0" in str(caught.value)


def test_a_reservation_amount_with_more_than_two_decimals_names_the_argument() -> None:
    with (
        BexClient(BEX_BASE_URL, "key", "s3cret") as client,
        pytest.raises(MappingError) as caught,
    ):
        client.reserve_gift_card("PK-1", Decimal("10.005"), "order-1")
    assert caught.value.paths == ("amount",)
    assert "10.005" in str(caught.value)


@pytest.mark.parametrize("amount", [Decimal("NaN"), Decimal("Infinity")])
def test_a_reservation_amount_must_be_finite(amount: Decimal) -> None:
    with (
        BexClient(BEX_BASE_URL, "key", "s3cret") as client,
        pytest.raises(MappingError) as caught,
    ):
        client.reserve_gift_card("PK-1", amount, "order-1")
    assert caught.value.paths == ("amount",)
    assert "finite" in str(caught.value)


def test_a_base_url_with_credentials_and_ipv6_is_shown_without_them() -> None:
    """The error about a bad base URL shows its IPv6 host in brackets, without user:password."""
    with pytest.raises(ValueError, match="http") as caught:
        VendreClient("ftp://user:pa55word@[::1]:8080/API/1", "k3y")
    assert "'ftp://[::1]:8080/API/1'" in str(caught.value)
    assert "pa55word" not in str(caught.value)


def test_an_unreadable_retry_after_is_left_out(httpserver: HTTPServer) -> None:
    """A 429 whose Retry-After is neither seconds nor a date: RateLimited without one."""
    httpserver.expect_request("/API/1/orders/1").respond_with_json(
        {"error": "slow down"}, status=429, headers={"Retry-After": "soon"}
    )
    with vendre_client_of(httpserver) as client, pytest.raises(RateLimited) as caught:
        client.get_order(1)
    assert caught.value.status == 429
    assert caught.value.retry_after is None


def test_response_errors_pickle_with_their_mapping_error() -> None:
    """A ResponseError keeps its status, excerpt and MappingError through pickling."""
    error = ResponseError(
        "a document in the response does not load",
        method="GET",
        url="https://shop.example/API/1/orders",
        status=200,
        body_excerpt='{"list": [1]}',
        mapping_error=MappingError("expected an object, got 1", path="$.list[0]"),
    )
    again = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own data
    assert str(again) == str(error)
    assert (again.status, again.body_excerpt) == (200, '{"list": [1]}')
    assert again.mapping_error is not None
    assert again.mapping_error.problems == error.mapping_error.problems  # type: ignore[union-attr]


def test_a_malformed_chunked_body_is_a_transport_error(httpserver: HTTPServer) -> None:
    """A broken chunked encoding: the response could not be read; the detail is cut short."""
    garbage = b"z" * 400 + b"\r\n"
    httpserver.expect_request("/API/1/orders/1").respond_with_response(
        Response(garbage, headers={"Transfer-Encoding": "chunked"}, mimetype="application/json")
    )
    with vendre_client_of(httpserver) as client, pytest.raises(TransportError) as caught:
        client.get_order(1)
    assert caught.value.connected
    assert caught.value.message.startswith("the response could not be read (")
    assert caught.value.message.endswith("...)")
    assert len(caught.value.message) < 360
    assert caught.value.status is None


@pytest.fixture
def unresponsive_port() -> Iterator[int]:
    """A port whose listen queue is full: connection attempts are dropped, never answered."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        fillers = []
        try:
            for _ in range(3):
                filler = socket.socket()
                fillers.append(filler)
                filler.setblocking(False)
                filler.connect_ex(("127.0.0.1", port))
            time.sleep(0.05)
            yield port
        finally:
            for filler in fillers:
                filler.close()


@pytest.mark.skipif(sys.platform != "linux", reason="relies on Linux dropping SYNs to a full queue")
def test_a_connect_timeout_is_a_transport_error_that_never_connected(
    unresponsive_port: int,
) -> None:
    """No answer to the connection attempt: 'timed out connecting', and the request never left."""
    started = time.monotonic()
    with (
        VendreClient(
            f"http://127.0.0.1:{unresponsive_port}/API/1",
            "k3y-1234",
            retries=NO_RETRIES,
            timeout=(0.2, 1.0),
            trust_env=False,
        ) as client,
        pytest.raises(TransportError) as caught,
    ):
        client.get_order(1)
    assert time.monotonic() - started < 2
    assert caught.value.message.startswith("timed out connecting")
    assert not caught.value.connected
    assert json.dumps(caught.value.url).count("k3y-1234") == 0


# --- Unreadable redirects, servers that ignore offset, unreadable Retry-After ---------------------


TWO_QUICK_RETRIES = RetryPolicy(total=2, backoff_factor=0, jitter=0, retry_after_max=1)


API_KEY = "key-1234-abcd"


SECRET = "s3cret-5678-efgh"  # noqa: S105 - a test credential


class RawServer(ScriptedServer):
    """A loopback server that answers every request with the same raw bytes, then closes."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        super().__init__(lambda connection, _stopping: connection.sendall(answer))


@pytest.fixture
def raw_server() -> Iterator[Any]:
    servers: list[RawServer] = []

    def start(answer: bytes) -> RawServer:
        servers.append(RawServer(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def redirect(status: int, location: bytes, body: bytes = b"moved") -> bytes:
    return (
        f"HTTP/1.1 {status} Moved\r\n".encode()
        + b"Location: "
        + location
        + f"\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )


def bex_client_at(url: str, **options: Any) -> BexClient:
    defaults: dict[str, Any] = {"retries": NO_RETRIES, "timeout": (2.0, 5.0), "trust_env": False}
    return BexClient(url, API_KEY, SECRET, **{**defaults, **options})


def vendre_client_at(url: str, **options: Any) -> VendreClient:
    defaults: dict[str, Any] = {"retries": NO_RETRIES, "timeout": (2.0, 5.0), "trust_env": False}
    return VendreClient(url, API_KEY, **{**defaults, **options})


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        (b"http://127.0.0.1:99999/x", "cannot be parsed (Port out of range 0-65535)"),
        (b"http://127.0.0.1:abc/x", "cannot be parsed (Port could not be cast"),
        (b"http://[::1/x", "cannot be parsed (Invalid IPv6 URL)"),
        (b"http://\xff\xfe/x", "not UTF-8: b'http://\\xff\\xfe/x'"),
    ],
    ids=["port-out-of-range", "port-not-a-number", "broken-ipv6", "not-utf8"],
)
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308, 300])
def test_a_redirect_to_an_unreadable_location_is_a_response_error(
    raw_server: Any, status: int, location: bytes, reason: str
) -> None:
    """requests parses a redirect's Location even when it does not follow it; no raw error."""
    server = raw_server(redirect(status, location))
    with bex_client_at(server.url) as client, pytest.raises(ResponseError) as caught:
        client.get_bonus_balance("1")
    error = caught.value
    assert error.message.startswith("unexpected redirect to a Location that ")
    assert reason in error.message
    assert (error.status, error.body_excerpt, error.mapping_error) == (status, "moved", None)
    assert server.requests == 1


def test_an_unreadable_location_shows_no_credentials(raw_server: Any) -> None:
    """Its user:password@ is cut out, and the client's own key is redacted."""
    location = f"http://user:pass-word@127.0.0.1:99999/?key={API_KEY}".encode()
    server = raw_server(redirect(302, location))
    with vendre_client_at(server.url) as client, pytest.raises(ResponseError) as caught:
        client.get_order(1)
    assert "Port out of range" in str(caught.value)
    assert "pass-word" not in str(caught.value)
    assert API_KEY not in str(caught.value)
    assert "'http://127.0.0.1:99999/?key=***'" in str(caught.value)


def test_a_3xx_without_location_says_so(httpserver: HTTPServer) -> None:
    """A 300 without Location is an unexpected redirect too, to nowhere."""
    httpserver.expect_request("/api/GiftCards/PK-1").respond_with_data("choose", status=300)
    with (
        bex_client_at(httpserver.url_for("/api/")) as client,
        pytest.raises(ResponseError, match=r"^unexpected redirect to nowhere \(no Location\)"),
    ):
        client.get_gift_card("PK-1")


def test_a_create_redirected_to_an_unreadable_location_is_not_repeated(raw_server: Any) -> None:
    """A POST answered with a broken redirect: a ResponseError, no look-up, no second POST."""
    server = raw_server(redirect(303, b"http://[::1/Orders/1"))
    with (
        bex_client_at(server.url, retries=TWO_QUICK_RETRIES) as client,
        pytest.raises(ResponseError),
    ):
        client.create_order(bex_order())
    assert server.requests == 1


def test_a_callers_session_gets_the_same_treatment(raw_server: Any) -> None:
    """The client's adapter is mounted on a session passed in, for its base URL."""
    server = raw_server(redirect(302, b"http://127.0.0.1:99999/x"))
    with (
        requests.Session() as session,
        bex_client_at(server.url, session=session) as client,
        pytest.raises(ResponseError),
    ):
        client.get_gift_card("PK-1")


def test_a_redirect_whose_body_breaks_is_a_transport_error(raw_server: Any) -> None:
    """The redirect's body is read where the response is built: cut short, it is lost."""
    answer = b"HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 100\r\n\r\nshort"
    server = raw_server(answer)
    with bex_client_at(server.url) as client, pytest.raises(TransportError) as caught:
        client.get_bonus_balance("1")
    assert caught.value.status is None


def test_a_header_urllib3_cannot_read_is_a_transport_error(raw_server: Any) -> None:
    """Two different Content-Lengths: urllib3 refuses the response, and so does the client."""
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\nConnection: close\r\n\r\n{}"
    server = raw_server(answer)
    with warnings.catch_warnings():
        # urllib3 drops http.client's response unclosed when it refuses one; collect it here.
        warnings.simplefilter("ignore", ResourceWarning)
        with bex_client_at(server.url) as client, pytest.raises(TransportError) as caught:
            client.get_bonus_balance("1")
        error = caught.value
        del caught
        gc.collect()
    assert "a header that cannot be read" in error.message
    assert error.connected
    assert server.requests == 1


def stuck_pages(page: dict[str, Any], last: dict[str, Any]) -> Any:
    """A handler sending ``page`` whatever the offset; after 20 requests, ``last``.

    The cap only keeps a client without the guard from looping for ever.
    """
    served = itertools.count()

    def handler(_request: Any) -> Response:
        document = page if next(served) < 20 else last
        return Response(json.dumps(document), content_type="application/json")

    return handler


def test_a_shop_that_ignores_offset_stops_at_the_second_page(httpserver: HTTPServer) -> None:
    """The same non-empty page with orders remaining, whatever the offset: a ResponseError."""
    page = {"list": [vendre_order_doc(1), vendre_order_doc(2)], "remaining": 5}
    last = {"list": [], "remaining": 0}
    httpserver.expect_request("/API/1/orders").respond_with_handler(stuck_pages(page, last))
    with vendre_client_at(httpserver.url_for("/API/1/")) as client:
        received = []
        with pytest.raises(ResponseError, match="previous page again") as caught:
            received.extend(client.iter_orders(page_size=2))
    assert [order.id for order in received] == [1, 2]
    assert caught.value.mapping_error is not None
    problem = caught.value.mapping_error.problems[0]
    assert (problem.path, problem.message) == ("$.list", "repeats the previous page, at offset 2")
    assert [r.args.get("offset") for r, _ in httpserver.log] == ["0", "2"]


def test_unloaded_order_documents_stop_too(httpserver: HTTPServer) -> None:
    """iter_order_documents shares the paging, and its guard."""
    page = {"list": [vendre_order_doc(1)], "remaining": 1}
    last = {"list": [], "remaining": 0}
    httpserver.expect_request("/API/1/orders").respond_with_handler(stuck_pages(page, last))
    with vendre_client_at(httpserver.url_for("/API/1/")) as client, pytest.raises(ResponseError):
        list(client.iter_order_documents())
    assert len(httpserver.log) == 2


@pytest.mark.parametrize("listing", ["order_statuses", "articles", "reservations"])
def test_bex_ignoring_offset_stops_at_the_second_page(httpserver: HTTPServer, listing: str) -> None:
    """Bex's lists: the same page with hasMore, whatever the offset: a ResponseError."""
    reservation = {
        "ReservationsID": "R1",
        "Nummer": "PK-2",
        "Belopp": "1.00",
        "Referens": "other",
        "Status": "Reserverad",
    }
    item = {
        "order_statuses": {"Ordernr": "1", "Status": "SKICKAD"},
        "articles": {},
        "reservations": reservation,
    }[listing]
    handler = stuck_pages({"items": [item], "hasMore": True}, {"items": [], "hasMore": False})
    for path in ("/api/OrderStatuses", "/api/Articles", "/api/GiftCardReservations"):
        httpserver.expect_request(path).respond_with_handler(handler)
    with bex_client_at(httpserver.url_for("/api/")) as client:
        iterations = {
            "order_statuses": client.iter_order_statuses,
            "articles": client.iter_article_documents,
            "reservations": lambda: iter([client.find_gift_card_reservation("PK-1", "ref")]),
        }
        with pytest.raises(ResponseError, match="previous page again") as caught:
            list(iterations[listing]())
    assert caught.value.mapping_error is not None
    assert caught.value.mapping_error.problems[0].path == "$.items"
    assert [r.args.get("offset") for r, _ in httpserver.log] == ["0", "1"]


def test_pages_that_only_overlap_are_not_a_repeat(httpserver: HTTPServer) -> None:
    """Offset paging over changing data may show an item twice; only an exact repeat stops."""
    pages = {
        "0": {"items": [{"Ordernr": "1"}, {"Ordernr": "2"}], "hasMore": True},
        "2": {"items": [{"Ordernr": "2"}, {"Ordernr": "3"}], "hasMore": False},
    }
    httpserver.expect_request("/api/OrderStatuses").respond_with_handler(
        lambda request: Response(
            json.dumps(pages[request.args["offset"]]),
            content_type="application/json",
        )
    )
    with bex_client_at(httpserver.url_for("/api/")) as client:
        documents = list(client.iter_order_status_documents(page_size=2))
    assert [d["Ordernr"] for d in documents] == ["1", "2", "2", "3"]


@pytest.mark.parametrize(("status", "value"), [(429, "soon"), (503, "1.5"), (502, "")])
def test_an_unreadable_retry_after_is_retried_like_an_absent_one(
    httpserver: HTTPServer, status: int, value: str
) -> None:
    """urllib3 would give up at once without a status; the client backs off and retries."""
    httpserver.expect_ordered_request("/api/GiftCards/PK-1").respond_with_json(
        {"error": "busy"}, status=status, headers={"Retry-After": value}
    )
    httpserver.expect_ordered_request("/api/GiftCards/PK-1").respond_with_json(
        gift_card_doc("PK-1")
    )
    with bex_client_at(httpserver.url_for("/api/"), retries=TWO_QUICK_RETRIES) as client:
        assert client.get_gift_card("PK-1").number == "PK-1"
    assert len(httpserver.log) == 2


@pytest.mark.parametrize(
    ("status", "error_class"), [(429, RateLimited), (503, ServerError), (504, ServerError)]
)
def test_retries_used_up_under_an_unreadable_retry_after(
    httpserver: HTTPServer, status: int, error_class: type[RateLimited | ServerError]
) -> None:
    """In the end the status's own error, without a retry_after."""
    httpserver.expect_request("/api/GiftCards/PK-1").respond_with_json(
        {"error": "busy"}, status=status, headers={"Retry-After": "in a while"}
    )
    with (
        bex_client_at(httpserver.url_for("/api/"), retries=TWO_QUICK_RETRIES) as client,
        pytest.raises(error_class) as caught,
    ):
        client.get_gift_card("PK-1")
    assert (caught.value.status, caught.value.retry_after) == (status, None)
    assert len(httpserver.log) == 1 + TWO_QUICK_RETRIES.total


def test_a_server_error_carries_its_retry_after(httpserver: HTTPServer) -> None:
    """A 503 with Retry-After: 7 after the retries: ServerError.retry_after, through pickling."""
    httpserver.expect_request("/api/GiftCards/PK-1").respond_with_json(
        {"error": "down"}, status=503, headers={"Retry-After": "7"}
    )
    with bex_client_at(httpserver.url_for("/api/")) as client, pytest.raises(ServerError) as caught:
        client.get_gift_card("PK-1")
    assert caught.value.retry_after == 7
    copy = pickle.loads(pickle.dumps(caught.value))  # noqa: S301 - our own error
    assert (type(copy), copy.retry_after, str(copy)) == (ServerError, 7, str(caught.value))


@pytest.mark.parametrize("status", [429, 503])
def test_a_create_waits_the_retry_after_of_a_429_and_of_a_503(
    sandbox: Sandbox, status: int
) -> None:
    """Between the failed POST and the look-up, the server's Retry-After (cut to 1 s) passes."""
    sandbox.add_bex_gift_card(gift_card_doc("PK-1"))
    sandbox.inject("bex", method="POST", path="GiftCardReservations", status=status, retry_after=1)
    client = sandbox.bex_client()
    started = time.monotonic()
    reservation = client.reserve_gift_card("PK-1", Decimal("10.00"), "checkout-1")
    waited = time.monotonic() - started
    assert reservation.reference == "checkout-1"
    assert [(c.method, c.status) for c in sandbox.calls("bex")] == [
        ("POST", status),
        ("GET", 200),
        ("POST", 201),
    ]
    assert waited >= 0.9


def test_a_create_order_waits_a_503s_retry_after(sandbox: Sandbox) -> None:
    """create_order shares the create loop: the same wait."""
    sandbox.inject("bex", method="POST", path="Orders", status=503, retry_after=1)
    started = time.monotonic()
    sandbox.bex_client().create_order(bex_order())
    assert time.monotonic() - started >= 0.9
    assert [o["Ordernr"] for o in sandbox.bex_orders()] == [bex_order().number]


def test_a_new_reservation_never_takes_a_seeded_ones_id(sandbox: Sandbox) -> None:
    """A seeded R000002 stays; the reservations made after it get ids of their own."""
    sandbox.add_bex_gift_card(gift_card_doc("PK-1"))
    seeded = {
        "ReservationsID": "R000002",
        "Nummer": "PK-1",
        "Belopp": "100.00",
        "Referens": "checkout-A",
        "Status": "Reserverad",
    }
    sandbox.add_bex_gift_card_reservation(seeded)
    client = sandbox.bex_client()
    first = client.reserve_gift_card("PK-1", Decimal("50.00"), "checkout-B")
    second = client.reserve_gift_card("PK-1", Decimal("25.00"), "checkout-C")
    assert {first.reservation_id, second.reservation_id}.isdisjoint({"R000002"})
    assert first.reservation_id != second.reservation_id
    held = {r["ReservationsID"]: (r["Referens"], r["Belopp"]) for r in sandbox.reservations()}
    assert held == {
        "R000002": ("checkout-A", "100.00"),
        first.reservation_id: ("checkout-B", "50.00"),
        second.reservation_id: ("checkout-C", "25.00"),
    }
    assert client.find_gift_card_reservation("PK-1", "checkout-A") is not None


@pytest.mark.parametrize("key", ["k3y\n", "k3y\r\nX-Other: 1", "k\x00y"])
def test_an_api_key_with_a_line_break_is_refused_at_once(key: str) -> None:
    """requests would refuse the header only when sending, as if the server had sent it."""
    with pytest.raises(ValueError, match="api_key holds a line break or another control"):
        VendreClient("http://127.0.0.1:9/API/1", key)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:99999/API/1", "Port out of range"),
        ("http://user:pw@127.0.0.1:abc/API/1", "Port could not be cast"),
        ("http://[::1/API/1", "Invalid IPv6 URL"),
    ],
)
def test_a_base_url_that_cannot_be_parsed_is_refused_when_the_client_is_made(
    url: str, reason: str
) -> None:
    """Before, the client was made and every request failed with requests' own ValueError."""
    with pytest.raises(ValueError, match="base_url cannot be parsed") as caught:
        VendreClient(url, "k3y")
    assert reason in str(caught.value)
    assert "pw" not in str(caught.value)


# --- announced rate limits: RateLimit-Remaining and RateLimit-Reset -------------------------------


def test_remaining_zero_makes_the_client_wait_instead_of_a_429(sandbox: Sandbox) -> None:
    """Two requests per second: the third page waits for the reset and is never refused."""
    for order_id in (1, 2, 3):
        sandbox.add_vendre_order(vendre_order_doc(order_id))
    limiter = sandbox.rate_limit("vendre", limit=2, per=1)
    client = sandbox.vendre_client()

    orders = list(client.iter_orders(page_size=1))

    assert [o.id for o in orders] == [1, 2, 3]
    assert (limiter.requests, limiter.refused) == (3, 0)
    assert statuses(sandbox) == [200, 200, 200]


def test_the_rate_limit_wait_is_charged_to_the_wait_budget(sandbox: Sandbox) -> None:
    """A reset 30 s away with 5 s of budget: the next request is given up, and never sent."""
    sandbox.add_vendre_order(vendre_order_doc(1))
    limiter = sandbox.rate_limit("vendre", limit=1, per=30)
    policy = RetryPolicy(total=3, backoff_factor=0, jitter=0, retry_after_max=60, wait_budget=5)
    client = sandbox.vendre_client(retries=policy)

    assert client.get_order(1).id == 1
    with pytest.raises(RetryBudgetExhausted) as caught:
        client.get_order(1)

    assert "rate limit to reset (RateLimit-Reset)" in str(caught.value)
    assert caught.value.status is None
    assert caught.value.url.endswith("/API/1/orders/1")
    assert (limiter.requests, limiter.refused) == (1, 0)


def test_the_rate_limit_wait_is_at_most_retry_after_max(httpserver: HTTPServer) -> None:
    """A reset of 30 s is waited as 1 s (retry_after_max): two waits pass a budget of 1.5 s."""
    httpserver.expect_request("/API/1/orders/1").respond_with_json(
        vendre_order_doc(1), headers={"RateLimit-Remaining": "0", "RateLimit-Reset": "30"}
    )
    policy = RetryPolicy(total=0, retry_after_max=1, wait_budget=1.5)
    with vendre_client_of(httpserver, retries=policy) as client:
        client.get_order(1)
        client.get_order(1)  # after a wait of 1 s: 0.5 s of the budget left
        with pytest.raises(RetryBudgetExhausted):
            client.get_order(1)
    assert len(httpserver.log) == 2


@pytest.mark.parametrize(
    "headers",
    [
        {"RateLimit-Remaining": "1", "RateLimit-Reset": "30"},
        {"RateLimit-Remaining": "0", "RateLimit-Reset": "soon"},
        {"RateLimit-Remaining": "0", "RateLimit-Reset": "-3"},
        {"RateLimit-Remaining": "0", "RateLimit-Reset": "0"},
        {"RateLimit-Remaining": "0"},
        {"RateLimit-Reset": "30"},
        {"RateLimit-Remaining": "none", "RateLimit-Reset": "30"},
    ],
    ids=["left", "unreadable-reset", "negative", "zero", "no-reset", "no-remaining", "bad-count"],
)
def test_no_wait_without_a_readable_announcement(
    httpserver: HTTPServer, headers: dict[str, str]
) -> None:
    """Requests left, or headers that cannot be read: no wait (a budget of 0 would refuse one)."""
    httpserver.expect_request("/API/1/orders/1").respond_with_json(
        vendre_order_doc(1), headers=headers
    )
    with vendre_client_of(httpserver, retries=RetryPolicy(total=0, wait_budget=0)) as client:
        for _ in range(3):
            client.get_order(1)
    assert len(httpserver.log) == 3


def test_a_429_without_retry_after_waits_for_the_rate_limit_reset(httpserver: HTTPServer) -> None:
    """The retry of a 429 waits RateLimit-Reset, not the backoff (0 here)."""
    httpserver.expect_oneshot_request("/API/1/orders/1").respond_with_json(
        {"errors": [{"status": "429"}]},
        status=429,
        headers={"RateLimit-Remaining": "0", "RateLimit-Reset": "1"},
    )
    httpserver.expect_request("/API/1/orders/1").respond_with_json(vendre_order_doc(1))
    policy = RetryPolicy(total=3, backoff_factor=0, jitter=0, wait_budget=0.5)
    with (
        vendre_client_of(httpserver, retries=policy) as client,
        pytest.raises(RetryBudgetExhausted) as caught,
    ):
        client.get_order(1)
    assert caught.value.status == 429
    assert len(httpserver.log) == 1


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"RateLimit-Remaining": "0", "RateLimit-Reset": "3"}, 3.0),
        ({"RateLimit-Remaining": " 0 ", "RateLimit-Reset": " 1.5 "}, 1.5),
        ({"RateLimit-Remaining": "-1", "RateLimit-Reset": "2"}, 2.0),
        ({"RateLimit-Remaining": "0", "RateLimit-Reset": "500"}, 120.0),
        ({"RateLimit-Remaining": "0", "RateLimit-Reset": "9" * 40}, 120.0),
        ({"RateLimit-Remaining": "0", "RateLimit-Reset": "0"}, 0.0),
        ({"RateLimit-Remaining": "2", "RateLimit-Reset": "3"}, None),
        ({"RateLimit-Remaining": "0", "RateLimit-Reset": "\u0663"}, None),
        ({"RateLimit-Remaining": "0", "RateLimit-Reset": "1e3"}, None),
        ({"RateLimit-Remaining": "0"}, None),
        ({}, None),
    ],
)
def test_rate_limit_wait_reads_the_headers(headers: dict[str, str], expected: float | None) -> None:
    """Seconds from RateLimit-Reset when none remain, at most the cap; else None."""
    from bexvendre_mapping.http._transport import rate_limit_wait  # noqa: PLC0415

    assert rate_limit_wait(headers, 120) == expected
    insensitive = requests.structures.CaseInsensitiveDict(
        {k.lower(): v for k, v in headers.items()}
    )
    assert rate_limit_wait(insensitive, 120) == expected


# --- error bodies: {"errors": [...]} ----------------------------------------------------------


def test_an_errors_body_becomes_request_rejected_errors(httpserver: HTTPServer) -> None:
    """Each error object, in order; the message shows the first three."""
    body = {
        "errors": [
            {
                "status": "400",
                "code": "invalid_value",
                "title": "Invalid value",
                "detail": "price must be a number",
                "source": {"parameter": "price"},
            },
            {"status": 422, "code": "missing", "title": "Missing", "source": {"parameter": "name"}},
            "not an error object",
            {"detail": "tax_class_id 9 does not exist"},
            {"title": "The fourth"},
        ]
    }
    httpserver.expect_request("/API/1/products/4", method="PUT").respond_with_json(body, status=400)
    with vendre_client_of(httpserver) as client, pytest.raises(RequestRejected) as caught:
        client.save_product(vendre_product(product_id=4))
    error = caught.value
    assert error.errors == (
        ApiError(
            status="400",
            code="invalid_value",
            title="Invalid value",
            detail="price must be a number",
            parameter="price",
        ),
        ApiError(status="422", code="missing", title="Missing", parameter="name"),
        ApiError(detail="tax_class_id 9 does not exist"),
        ApiError(title="The fourth"),
    )
    assert str(error).startswith(
        "the server rejected the request: PUT "
        + httpserver.url_for("/API/1/products/4")
        + " -> HTTP 400; errors: price: Invalid value: price must be a number (invalid_value); "
        "name: Missing (missing); tax_class_id 9 does not exist; and 1 more; body: {"
    )


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"error": "bad request"}',
        b'{"errors": "bad"}',
        b'{"errors": {"status": "400"}}',
        b'{"errors": [1, "x", null, [], {}]}',
        b'{"errors": [{"status": true, "title": ["x"], "source": "price"}]}',
        b'{"errors": [{"title": "cut',
    ],
)
def test_a_body_of_another_shape_leaves_errors_empty(httpserver: HTTPServer, body: bytes) -> None:
    """Tolerant: RequestRejected as before, with its body excerpt and no errors."""
    httpserver.expect_request("/API/1/products/4").respond_with_data(body, status=400)
    with vendre_client_of(httpserver) as client, pytest.raises(RequestRejected) as caught:
        client.save_stock(4, stock_update())
    assert caught.value.errors == ()
    assert caught.value.body_excerpt == body.decode()
    assert "errors:" not in str(caught.value)


def test_error_fields_of_odd_types(httpserver: HTTPServer) -> None:
    """Numbers are kept as text; other types are left out; a 409 is parsed too."""
    body = {"errors": [{"status": 409, "code": 17, "title": ["x"], "source": {"parameter": 3}}]}
    httpserver.expect_request("/API/1/orders/5/status").respond_with_json(body, status=409)
    update = bexvendre_mapping.vendre.OrderStatusUpdate(id=5, status=3)
    with vendre_client_of(httpserver) as client, pytest.raises(RequestRejected) as caught:
        client.update_order_status(update)
    assert caught.value.errors == (ApiError(status="409", code="17", parameter="3"),)


def test_errors_show_no_credentials(httpserver: HTTPServer) -> None:
    """A server that echoes the key in an error's detail: redacted there too."""
    body = {"errors": [{"title": "bad key k3y-1234", "detail": "X-Authorization: k3y-1234"}]}
    httpserver.expect_request("/API/1/products/4").respond_with_json(body, status=400)
    with vendre_client_of(httpserver) as client, pytest.raises(RequestRejected) as caught:
        client.save_stock(4, stock_update())
    assert caught.value.errors == (ApiError(title="bad key ***", detail="X-Authorization: ***"),)
    assert "k3y-1234" not in str(caught.value)


def test_request_rejected_pickles_with_its_errors() -> None:
    """The errors survive pickling, as the other attributes do."""
    error = RequestRejected(
        "the server rejected the request",
        method="PUT",
        url="https://shop.example/API/1/products/4",
        status=400,
        errors=[ApiError(title="Invalid value", parameter="price")],
    )
    again = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own data
    assert again.errors == error.errors
    assert str(again) == str(error)
    assert str(error).endswith("-> HTTP 400; errors: price: Invalid value")
    assert RequestRejected("x", method="GET", url="u").errors == ()


def test_the_deadlines_of_every_request_share_one_thread(httpserver: HTTPServer) -> None:
    """The deadline's watchdog is one thread for the process, however many requests and
    threads: no thread is started per request (nor left behind by one)."""
    httpserver.expect_request("/api/Customers/1/Bonus").respond_with_json(
        {"Kundnr": "1", "Bonuspoäng": 5}
    )
    before = set(threading.enumerate())
    seen: set[threading.Thread] = set()
    with bex_client(httpserver.url_for("/api/"), deadline=30) as client:

        def work() -> None:
            for _ in range(50):
                assert client.get_bonus_balance("1").points == 5

        for _ in range(3):
            workers = [threading.Thread(target=work) for _ in range(4)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            seen |= set(threading.enumerate()) - before
    assert {thread.name for thread in seen} <= {"bexvendre-deadlines"}
    assert len(seen) <= 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_has_deadlines_of_its_own(scripted: Any) -> None:
    """After a fork the child's requests still meet their deadline (its own watchdog)."""
    url = scripted(trickled_body)
    with (
        bex_client(url, deadline=1) as client,
        pytest.raises(TransportError, match="deadline"),
    ):
        client.get_bonus_balance("1")  # the parent's watchdog runs
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only when the deadline ended the request
        status = 1
        try:
            with bex_client(url, deadline=1) as client:
                client.get_bonus_balance("1")
        except TransportError as exc:
            status = 0 if "deadline" in str(exc) else 2
        finally:
            os._exit(status)
    _, wait_status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(wait_status) == 0
