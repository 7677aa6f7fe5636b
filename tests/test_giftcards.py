"""Gift cards at a web checkout, through the public API against the sandbox (issue 21)."""

from __future__ import annotations

import json
import os
import pickle
import random
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
from tests.support import usage_error

from bexvendre_mapping import Lookups, MappingError, example_path
from bexvendre_mapping.cli import main
from bexvendre_mapping.http import RequestRejected
from bexvendre_mapping.sync import (
    CardBlocked,
    CardExpired,
    Checkout,
    CurrencyMismatch,
    GiftCardCheckout,
    GiftCardError,
    InsufficientBalance,
    InvalidAmount,
    ReservationExpired,
    SqliteState,
    UnknownCard,
    load_config,
)
from bexvendre_mapping.sync._daemon import DEFAULT_SCHEDULE, schedule_of
from bexvendre_mapping.testing.sandbox import Sandbox

CARD = "6000123412345678"


def add_card(sandbox: Sandbox, balance: str = "1000.00", **fields: str) -> None:
    sandbox.add_bex_gift_card(
        {"Nummer": CARD, "Saldo": balance, "Valuta": "SEK", "Status": "Aktiv", **fields}
    )


@pytest.fixture
def checkout(sandbox: Sandbox, state: SqliteState, lookups: Lookups) -> GiftCardCheckout:
    return GiftCardCheckout(None, sandbox.bex_client(), lookups, state)


# --- free balance ---------------------------------------------------------------------------


def test_lookup_reports_the_free_balance_and_the_double_click_succeeds(
    sandbox: Sandbox, checkout: GiftCardCheckout
) -> None:
    """Two carts, one card, amounts that fit together: both reserve; lookup says what is free."""
    add_card(sandbox)
    checkout.reserve(CARD, Decimal("100.00"), "cart-1")
    seen = checkout.lookup(CARD)
    assert (seen.balance, seen.usable, seen.status) == (Decimal("900.00"), True, "active")
    checkout.reserve(CARD, Decimal("900.00"), "cart-2", currency="SEK")
    seen = checkout.lookup(CARD)
    assert (seen.balance, seen.usable, seen.status) == (Decimal(0), False, "reserved")
    assert [r["Status"] for r in sandbox.reservations()] == ["Reserverad", "Reserverad"]


def test_reserving_beyond_the_free_balance_is_insufficient_balance(
    sandbox: Sandbox, checkout: GiftCardCheckout
) -> None:
    add_card(sandbox)
    checkout.reserve(CARD, Decimal("700.00"), "cart-1")
    with pytest.raises(InsufficientBalance) as caught:
        checkout.reserve(CARD, Decimal("300.01"), "cart-2")
    error = caught.value
    assert (error.number, error.asked, error.free) == (CARD, Decimal("300.01"), Decimal("300.00"))
    assert str(error) == "amount: card ...5678: asked for 300.01, the gift card has 300.00 free"
    assert CARD not in str(error)
    assert "12341234" not in repr(error)
    assert error.paths == ("amount",)
    assert len(sandbox.reservations()) == 1  # Bex was not asked
    assert checkout.state.get_checkout("cart-2") is None


def test_a_used_card_has_nothing_free(sandbox: Sandbox, checkout: GiftCardCheckout) -> None:
    add_card(sandbox, balance="0.00", Status="Använd")
    assert checkout.lookup(CARD).status == "used"
    with pytest.raises(InsufficientBalance) as caught:
        checkout.reserve(CARD, Decimal("1.00"), "cart-1")
    assert caught.value.free == 0


# --- domain errors --------------------------------------------------------------------------


def test_a_blocked_card(sandbox: Sandbox, checkout: GiftCardCheckout) -> None:
    add_card(sandbox, Status="Spärrad")
    assert checkout.lookup(CARD).status == "blocked"
    with pytest.raises(CardBlocked, match=r"^code: card \.\.\.5678: the gift card is blocked$"):
        checkout.reserve(CARD, Decimal("10.00"), "cart-1")
    assert sandbox.reservations() == []


def test_an_expired_card(sandbox: Sandbox, checkout: GiftCardCheckout) -> None:
    add_card(sandbox, **{"Giltig till": "2020-06-30"})
    with pytest.raises(CardExpired, match="expired after 2020-06-30") as caught:
        checkout.reserve(CARD, Decimal("10.00"), "cart-1")
    assert caught.value.valid_until == date(2020, 6, 30)
    assert sandbox.reservations() == []


def test_a_card_valid_until_today_can_be_used(sandbox: Sandbox, checkout: GiftCardCheckout) -> None:
    today = datetime.now(UTC).astimezone().date()  # within a day of the shop's
    add_card(sandbox, **{"Giltig till": (today + timedelta(days=2)).isoformat()})
    assert checkout.reserve(CARD, Decimal("10.00"), "cart-1").reservation_id


def test_a_card_in_another_currency(sandbox: Sandbox, checkout: GiftCardCheckout) -> None:
    add_card(sandbox, Valuta="EUR")
    with pytest.raises(CurrencyMismatch, match="in EUR, the checkout in SEK") as caught:
        checkout.reserve(CARD, Decimal("10.00"), "cart-1", currency="SEK")
    assert (caught.value.card_currency, caught.value.checkout_currency) == ("EUR", "SEK")
    assert caught.value.paths == ("currency",)
    assert sandbox.reservations() == []


def test_an_unknown_card(sandbox: Sandbox, checkout: GiftCardCheckout) -> None:
    with pytest.raises(UnknownCard) as caught:
        checkout.lookup("0000999988887777")
    assert isinstance(caught.value, LookupError)
    assert str(caught.value) == "code: card ...7777: no such gift card"
    with pytest.raises(UnknownCard):
        checkout.reserve("0000999988887777", Decimal("1.00"), "cart-1")


@pytest.mark.parametrize(
    ("amount", "why"),
    [
        (Decimal("10.005"), "has more than 2 decimals"),
        (Decimal(0), "is not above 0"),
        (Decimal("-5.00"), "is not above 0"),
        (Decimal("NaN"), "is not a number"),
    ],
)
def test_amount_problems_name_the_argument(
    sandbox: Sandbox, checkout: GiftCardCheckout, amount: Decimal, why: str
) -> None:
    add_card(sandbox)
    with pytest.raises(InvalidAmount, match=why) as caught:
        checkout.reserve(CARD, amount, "cart-1")
    assert caught.value.paths == ("amount",)
    assert "Belopp" not in str(caught.value)
    assert sandbox.calls() == []


def test_a_float_amount_is_a_type_error(checkout: GiftCardCheckout) -> None:
    with pytest.raises(TypeError, match="amount must be a Decimal"):
        checkout.reserve(CARD, 10.5, "cart-1")  # type: ignore[arg-type]


def test_the_errors_are_one_family_and_survive_pickling() -> None:
    errors: list[GiftCardError] = [
        InsufficientBalance(CARD, Decimal(5), Decimal(1)),
        CardBlocked(CARD),
        CardExpired(CARD, date(2020, 1, 1)),
        CurrencyMismatch(CARD, "EUR", "SEK"),
        UnknownCard(CARD),
        InvalidAmount(CARD, Decimal("1.001"), "has more than 2 decimals"),
        ReservationExpired(CARD, "cart-1"),
    ]
    for error in errors:
        assert isinstance(error, MappingError)
        assert isinstance(error, ValueError)
        assert "5678" in str(error)
        assert "600012341234" not in str(error)
        again = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
        assert (type(again), str(again), again.number) == (type(error), str(error), CARD)


def test_bex_refusing_after_the_check_is_reported_with_the_same_error(
    sandbox: Sandbox, checkout: GiftCardCheckout
) -> None:
    """Another checkout takes the balance between the check and Bex's answer."""
    add_card(sandbox)
    sandbox.inject("bex", method="POST", path="GiftCardReservations", delay=1.0)
    other = sandbox.bex_client()

    def take_the_balance() -> None:
        time.sleep(0.3)  # the check (two GETs) is done; the POST waits on its fault
        other.reserve_gift_card(CARD, Decimal("600.00"), "elsewhere")

    thief = threading.Thread(target=take_the_balance)
    thief.start()
    with pytest.raises(InsufficientBalance) as caught:
        checkout.reserve(CARD, Decimal("500.00"), "cart-1")
    thief.join()
    assert caught.value.free == Decimal("400.00")


def test_a_bex_refusal_the_check_cannot_explain_stays_an_http_error(
    sandbox: Sandbox, checkout: GiftCardCheckout
) -> None:
    add_card(sandbox)
    sandbox.inject("bex", method="POST", path="GiftCardReservations", status=409)
    with pytest.raises(RequestRejected):
        checkout.reserve(CARD, Decimal("5.00"), "cart-1")
    sandbox.inject("bex", method="POST", path="GiftCardReservations", status=400)
    with pytest.raises(RequestRejected):
        checkout.reserve(CARD, Decimal("5.00"), "cart-1")


def test_a_card_removed_between_check_and_reservation_is_unknown(
    sandbox: Sandbox, checkout: GiftCardCheckout
) -> None:
    add_card(sandbox)
    sandbox.inject("bex", method="POST", path="GiftCardReservations", status=404)
    with pytest.raises(UnknownCard):
        checkout.reserve(CARD, Decimal("5.00"), "cart-1")


def test_the_sandbox_refuses_what_the_checkout_refuses(sandbox: Sandbox) -> None:
    """Straight to Bex, without the checkout's checks: the same rules, as 409s."""
    add_card(sandbox, Valuta="EUR")
    client = sandbox.bex_client()
    with pytest.raises(RequestRejected, match="is in EUR, not SEK") as caught:
        client.reserve_gift_card(CARD, Decimal("1.00"), "c-1", currency="SEK")
    assert caught.value.status == 409
    made = client.reserve_gift_card(CARD, Decimal("600.00"), "c-2", currency="EUR")
    with pytest.raises(RequestRejected, match=r"has 400\.00 free"):
        client.reserve_gift_card(CARD, Decimal("400.01"), "c-3")
    sent = [c for c in sandbox.calls("bex") if c.method == "POST"]
    assert len(sent) == 3
    assert made.amount == Decimal("600.00")
    assert sandbox.bex_gift_card_free_balance(CARD) == Decimal("400.00")


# --- changing the amount --------------------------------------------------------------------


def test_the_same_checkout_may_change_its_amount_idempotently(
    sandbox: Sandbox, checkout: GiftCardCheckout
) -> None:
    add_card(sandbox, balance="500.00")
    first = checkout.reserve(CARD, Decimal("400.00"), "cart-1")
    # 450 fits because the checkout's own 400 counts as free for it.
    second = checkout.reserve(CARD, Decimal("450.00"), "cart-1")
    assert second.amount == Decimal("450.00")
    assert second.reservation_id != first.reservation_id
    calls = len(sandbox.calls())
    assert checkout.reserve(CARD, Decimal("450.00"), "cart-1") == second
    assert len(sandbox.calls()) == calls  # repeating changes nothing, asks nothing
    third = checkout.reserve(CARD, Decimal("400.00"), "cart-1")  # back to an earlier amount
    assert [(r["Belopp"], r["Status"], r["Referens"]) for r in sandbox.reservations()] == [
        ("400.00", "Släppt", "cart-1"),
        ("450.00", "Släppt", "cart-1~2"),
        ("400.00", "Reserverad", "cart-1~3"),
    ]
    assert sandbox.bex_gift_card_free_balance(CARD) == Decimal("100.00")
    assert checkout.redeem("cart-1") == third
    assert checkout.redeem("cart-1") == third  # idempotent
    assert sandbox.bex_gift_card_free_balance(CARD) == Decimal("100.00")


def test_a_change_the_card_cannot_pay_keeps_the_reservation(
    sandbox: Sandbox, checkout: GiftCardCheckout
) -> None:
    add_card(sandbox, balance="500.00")
    first = checkout.reserve(CARD, Decimal("400.00"), "cart-1")
    with pytest.raises(InsufficientBalance) as caught:
        checkout.reserve(CARD, Decimal("500.01"), "cart-1")
    assert caught.value.free == Decimal("500.00")
    assert checkout.reserve(CARD, Decimal("400.00"), "cart-1") == first
    assert [r["Status"] for r in sandbox.reservations()] == ["Reserverad"]


def test_a_checkout_may_switch_cards(sandbox: Sandbox, checkout: GiftCardCheckout) -> None:
    add_card(sandbox, balance="100.00")
    sandbox.add_bex_gift_card(
        {"Nummer": "PK-2", "Saldo": "50.00", "Valuta": "SEK", "Status": "Aktiv"}
    )
    checkout.reserve(CARD, Decimal("80.00"), "cart-1")
    with pytest.raises(InsufficientBalance):  # the 80 held on the other card do not count
        checkout.reserve("PK-2", Decimal("80.00"), "cart-1")
    use = checkout.reserve("PK-2", Decimal("50.00"), "cart-1")
    assert use.code == "PK-2"
    assert sandbox.bex_gift_card_free_balance(CARD) == Decimal("100.00")
    assert sandbox.bex_gift_card_free_balance("PK-2") == Decimal(0)


def test_a_change_after_a_crash_while_reserving_releases_what_reached_bex(
    sandbox: Sandbox, state: SqliteState, checkout: GiftCardCheckout
) -> None:
    add_card(sandbox)
    sandbox.bex_client().reserve_gift_card(CARD, Decimal("100.00"), "cart-1")
    state.put_checkout(
        Checkout(reference="cart-1", card_number=CARD, amount="100.00", state="reserving")
    )
    checkout.reserve(CARD, Decimal("200.00"), "cart-1")
    assert [(r["Belopp"], r["Status"]) for r in sandbox.reservations()] == [
        ("100.00", "Släppt"),
        ("200.00", "Reserverad"),
    ]


# --- expiry ---------------------------------------------------------------------------------


def test_sweep_releases_stale_reservations_and_redeeming_one_is_expired(
    sandbox: Sandbox, state: SqliteState, lookups: Lookups
) -> None:
    add_card(sandbox)
    checkout = GiftCardCheckout(
        None, sandbox.bex_client(), lookups, state, reservation_ttl=timedelta(minutes=30)
    )
    assert checkout.reservation_ttl == timedelta(minutes=30)
    assert GiftCardCheckout(None, sandbox.bex_client(), lookups, state).reservation_ttl == (
        timedelta(hours=2)
    )
    checkout.reserve(CARD, Decimal("100.00"), "old")
    checkout.reserve(CARD, Decimal("50.00"), "young")
    now = datetime.now(UTC)
    old = state.get_checkout("old")
    assert old is not None
    state.put_checkout(attrs.evolve(old, reserved_at=now - timedelta(minutes=31)))
    state.put_checkout(  # an abandoned row from before reservations had a time
        Checkout(reference="ancient", card_number=CARD, amount="5.00", state="reserving")
    )
    assert checkout.sweep(now) == ["ancient", "old"]
    assert checkout.sweep(now + timedelta(minutes=29)) == []
    assert [(r["Referens"], r["Status"]) for r in sandbox.reservations()] == [
        ("old", "Släppt"),
        ("young", "Reserverad"),
    ]
    with pytest.raises(ReservationExpired, match="checkout 'old' expired") as caught:
        checkout.redeem("old")
    assert caught.value.reference == "old"
    with pytest.raises(ReservationExpired):
        checkout.reserve(CARD, Decimal("100.00"), "old")
    assert not checkout.release("old")
    assert checkout.redeem("young").amount == Decimal("50.00")
    assert checkout.sweep(now + timedelta(days=1)) == []


def test_redeeming_what_holds_no_reservation(
    sandbox: Sandbox, state: SqliteState, checkout: GiftCardCheckout
) -> None:
    add_card(sandbox)
    with pytest.raises(ValueError, match="no gift-card checkout 'nope'"):
        checkout.redeem("nope")
    checkout.reserve(CARD, Decimal("10.00"), "cart-1")
    checkout.release("cart-1")
    with pytest.raises(ValueError, match="holds no reservation to redeem"):
        checkout.redeem("cart-1")


def test_an_old_state_file_gains_the_checkout_columns(tmp_path: Path) -> None:
    import sqlite3  # noqa: PLC0415

    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE checkouts (reference TEXT PRIMARY KEY, card_number TEXT NOT NULL, "
            "amount TEXT NOT NULL, state TEXT NOT NULL, reservation_id TEXT)"
        )
        db.execute("INSERT INTO checkouts VALUES ('c', 'PK', '1.00', 'reserved', 'R1')")
    db.close()
    with SqliteState(path) as state:
        assert state.checkouts("reserved") == [
            Checkout(
                reference="c",
                card_number="PK",
                amount="1.00",
                state="reserved",
                reservation_id="R1",
            )
        ]


# --- threads --------------------------------------------------------------------------------


def shop(
    sandbox: Sandbox, path: Path, lookups: Lookups, worker: int, outcomes: dict[str, str]
) -> None:
    """One web worker: six checkouts on the card, each refused, released or redeemed."""
    rng = random.Random(worker)
    with SqliteState(path, lock_timeout=30) as state:
        checkout = GiftCardCheckout(None, sandbox.bex_client(), lookups, state)
        for turn in range(6):
            reference = f"w{worker}-{turn}"
            amount = Decimal(rng.choice(["50.00", "120.00", "300.00"]))
            try:
                checkout.reserve(CARD, amount, reference, currency="SEK")
            except (InsufficientBalance, RequestRejected):
                checkout.release(reference)
                outcomes[reference] = "refused"
                continue
            if rng.random() < 0.5:
                checkout.release(reference)
                outcomes[reference] = "released"
            else:
                checkout.redeem(reference)
                outcomes[reference] = "redeemed"


#: How many times the concurrency test runs; `.ci/run` sets 20 in a step of its own.
CONCURRENCY_RUNS = int(os.environ.get("BEXVENDRE_GIFTCARD_CONCURRENCY_RUNS", "3"))


@pytest.mark.parametrize("run", range(CONCURRENCY_RUNS))
def test_concurrent_checkouts_on_one_card_never_overdraw_it(
    sandbox: Sandbox, tmp_path: Path, lookups: Lookups, run: int
) -> None:
    """Threads reserve, release and redeem on one card, each with its own state connection."""
    add_card(sandbox, balance="1000.00")
    path = tmp_path / f"shared-{run}.sqlite3"
    SqliteState(path).close()
    lowest: list[Decimal] = []
    failures: list[BaseException] = []
    outcomes: dict[str, str] = {}
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            lowest.append(sandbox.bex_gift_card_free_balance(CARD))

    def work(worker: int) -> None:
        try:
            shop(sandbox, path, lookups, worker + 10 * run, outcomes)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=watch)]
    threads += [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads[1:]:
        thread.join()
    stop.set()
    threads[0].join()
    assert failures == []
    assert min(lowest) >= 0
    assert len(outcomes) == 48
    assert set(outcomes.values()) == {"refused", "released", "redeemed"}  # all three happened
    check_books(sandbox, path, outcomes)


def check_books(sandbox: Sandbox, path: Path, outcomes: dict[str, str]) -> None:
    """Bex and the state agree on every checkout: none lost, none doubled."""
    in_bex: dict[str, list[str]] = {}
    for reservation in sandbox.reservations():
        in_bex.setdefault(reservation["Referens"], []).append(reservation["Status"])
    expected = {"refused": [], "released": ["Släppt"], "redeemed": ["Inlöst"]}
    spent = Decimal(0)
    with SqliteState(path) as state:
        for reference, outcome in outcomes.items():
            assert in_bex.get(reference, []) == expected[outcome], reference
            known = state.get_checkout(reference)
            if outcome == "refused":
                assert known is None or known.state == "released"
                continue
            assert known is not None
            assert known.state == outcome
            if outcome == "redeemed":
                spent += Decimal(known.amount)
    balance = sandbox.bex_client().get_gift_card(CARD).balance
    assert balance == Decimal("1000.00") - spent
    assert sandbox.bex_gift_card_free_balance(CARD) == balance >= 0


# --- bexvendre giftcards sweep --------------------------------------------------------------


def write_config(sandbox: Sandbox, folder: Path, *extra: str) -> Path:
    (folder / "lookups.toml").write_bytes(example_path("lookups.toml").read_bytes())
    config = folder / "bexvendre.toml"
    config.write_text(
        'lookups = "lookups.toml"\nstate = "state.sqlite3"\n'
        + "".join(f"{line}\n" for line in extra)
        + f'\n[vendre]\nurl = "{sandbox.vendre_url}"\napi_key = "{sandbox.vendre_api_key}"\n\n'
        f'[bex]\nurl = "{sandbox.bex_url}"\napi_key = "{sandbox.bex_api_key}"\n'
        f'secret = "{sandbox.bex_secret}"\n',
        "utf-8",
    )
    return config


def age(state: SqliteState, reference: str, minutes: int) -> None:
    known = state.get_checkout(reference)
    assert known is not None
    moment = datetime.now(UTC) - timedelta(minutes=minutes)
    state.put_checkout(attrs.evolve(known, reserved_at=moment))


def reserve_stale(sandbox: Sandbox, lookups: Lookups, path: Path) -> None:
    """A checkout ``stale`` holding 10.00 of the card, reserved past the default 2 hours."""
    with SqliteState(path) as state:
        GiftCardCheckout(None, sandbox.bex_client(), lookups, state).reserve(
            CARD, Decimal("10.00"), "stale"
        )
        age(state, "stale", 121)


def test_the_sweep_command_releases_what_outlived_the_configured_ttl(
    sandbox: Sandbox, tmp_path: Path, lookups: Lookups, capsys: pytest.CaptureFixture[str]
) -> None:
    add_card(sandbox)
    config = write_config(sandbox, tmp_path, 'reservation_ttl = "30m"')
    with SqliteState(tmp_path / "state.sqlite3") as state:
        checkout = GiftCardCheckout(None, sandbox.bex_client(), lookups, state)
        checkout.reserve(CARD, Decimal("10.00"), "stale")
        checkout.reserve(CARD, Decimal("10.00"), "fresh")
        age(state, "stale", 31)  # past 30 minutes, within the default 2 hours
        age(state, "fresh", 29)
    assert main(["giftcards", "sweep", "--config", str(config)]) == 0
    assert capsys.readouterr().out == "released 1 expired gift-card reservation(s)\n  stale\n"
    assert [(r["Referens"], r["Status"]) for r in sandbox.reservations()] == [
        ("stale", "Släppt"),
        ("fresh", "Reserverad"),
    ]


def test_the_sweep_command_reports_a_failed_request(
    sandbox: Sandbox, tmp_path: Path, lookups: Lookups, capsys: pytest.CaptureFixture[str]
) -> None:
    add_card(sandbox)
    config = write_config(sandbox, tmp_path)
    reserve_stale(sandbox, lookups, tmp_path / "state.sqlite3")
    sandbox.inject("bex", method="PUT", path="GiftCardReservations", status=409)
    assert main(["giftcards", "sweep", "--config", str(config)]) == 1
    assert capsys.readouterr().out.startswith("sweep stopped: ")
    assert sandbox.reservations()[0]["Status"] == "Reserverad"


def test_the_sweep_command_refuses_a_bad_ttl(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(sandbox, tmp_path, 'reservation_ttl = "forever"')
    message = usage_error(["giftcards", "sweep", "--config", str(config)], capsys)
    assert "bad configuration" in message
    assert "reservation_ttl" in message


def test_redeeming_while_a_sweep_releases_it_is_expired(
    sandbox: Sandbox, tmp_path: Path, lookups: Lookups
) -> None:
    """The sweep (another process) releases the reservation while the redeem is on its way."""
    add_card(sandbox)
    path = tmp_path / "state.sqlite3"
    with SqliteState(path) as state:
        checkout = GiftCardCheckout(None, sandbox.bex_client(), lookups, state)
        use = checkout.reserve(CARD, Decimal("10.00"), "cart-1")
        redeem_path = f"GiftCardReservations/{use.reservation_id}/Redeem"
        sandbox.inject("bex", method="PUT", path=redeem_path, delay=1.0)

        def sweep() -> None:
            time.sleep(0.3)
            with SqliteState(path) as own:
                sweeper = GiftCardCheckout(None, sandbox.bex_client(), lookups, own)
                assert sweeper.sweep(datetime.now(UTC) + timedelta(hours=3)) == ["cart-1"]

        sweeper = threading.Thread(target=sweep)
        sweeper.start()
        with pytest.raises(ReservationExpired):
            checkout.redeem("cart-1")
        sweeper.join()
        # Any other refusal stays what it is.
        other = checkout.reserve(CARD, Decimal("10.00"), "cart-2")
        sandbox.bex_client().release_gift_card(other.reservation_id)
        with pytest.raises(RequestRejected):
            checkout.redeem("cart-2")


def test_the_sweep_command_without_the_http_extra_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import bexvendre_mapping.sync  # noqa: PLC0415

    monkeypatch.delattr(bexvendre_mapping.sync, "_cli")
    monkeypatch.setitem(sys.modules, "bexvendre_mapping.sync._cli", None)
    message = usage_error(["giftcards", "sweep", "--config", "bexvendre.toml"], capsys)
    assert "bexvendre_mapping.sync._cli" in message


# --- the sweep scheduled by `bexvendre run` ------------------------------------------------


def test_run_sweeps_expired_reservations_on_its_schedule(
    sandbox: Sandbox,
    tmp_path: Path,
    lookups: Lookups,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`[schedule] giftcards` makes `bexvendre run` sweep: the stale reservation is released,
    the report and the audit log name it, and `status` shows the job's last run."""
    monkeypatch.chdir(tmp_path)
    add_card(sandbox)
    config = write_config(sandbox, tmp_path, 'reservation_ttl = "30m"', 'audit = "audit.jsonl"')
    config.write_text(config.read_text("utf-8") + '\n[schedule]\ngiftcards = "5m"\n', "utf-8")
    with SqliteState(tmp_path / "state.sqlite3") as state:
        checkout = GiftCardCheckout(None, sandbox.bex_client(), lookups, state)
        checkout.reserve(CARD, Decimal("10.00"), "stale")
        checkout.reserve(CARD, Decimal("20.00"), "fresh")
        age(state, "stale", 31)
    assert main(["run", "--once", "--config", str(config), "--output", "json"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    report = json.loads(line)
    assert (report["flow"], report["result"], report["counts"]) == ("giftcards", "ok", {"done": 1})
    assert [(o["entity"], o["action"]) for o in report["outcomes"]] == [("stale", "release")]
    assert [(r["Referens"], r["Status"]) for r in sandbox.reservations()] == [
        ("stale", "Släppt"),
        ("fresh", "Reserverad"),
    ]
    audit = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text("utf-8").splitlines()]
    assert [(a["flow"], a["entity"], a["run_id"]) for a in audit] == [
        ("giftcards", "stale", report["run_id"])
    ]
    with SqliteState(tmp_path / "state.sqlite3") as state, pytest.raises(ReservationExpired):
        GiftCardCheckout(None, sandbox.bex_client(), lookups, state).redeem("stale")
    assert main(["status", "--config", str(config), "--output", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["flows"]["giftcards"]["result"] == "ok"


def test_a_failed_scheduled_sweep_is_exit_1_and_the_next_sweep_finishes(
    sandbox: Sandbox,
    tmp_path: Path,
    lookups: Lookups,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    add_card(sandbox)
    config = write_config(sandbox, tmp_path)
    config.write_text(config.read_text("utf-8") + '\n[schedule]\ngiftcards = "1m"\n', "utf-8")
    reserve_stale(sandbox, lookups, tmp_path / "state.sqlite3")
    sandbox.inject("bex", method="PUT", path="GiftCardReservations", status=409)
    assert main(["run", "--once", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("giftcards: 1 failed")
    assert sandbox.reservations()[0]["Status"] == "Reserverad"
    assert main(["run", "--once", "--config", str(config)]) == 0
    assert capsys.readouterr().out.startswith("giftcards: 1 done")
    assert sandbox.reservations()[0]["Status"] == "Släppt"


def test_the_default_schedule_sweeps_gift_cards(tmp_path: Path) -> None:
    """Without `[schedule]`, `bexvendre run` runs every flow and the sweep (every 5 minutes);
    `[schedule]` may name `giftcards` alone."""
    assert DEFAULT_SCHEDULE["giftcards"] == 300.0
    (tmp_path / "lookups.toml").write_bytes(example_path("lookups.toml").read_bytes())
    base = (
        'lookups = "lookups.toml"\nstate = "s.sqlite3"\n[vendre]\nurl = "http://127.0.0.1:1/"\n'
        'api_key = "k"\n[bex]\nurl = "http://127.0.0.1:1/"\napi_key = "k"\nsecret = "s"\n'
    )
    path = tmp_path / "bexvendre.toml"
    path.write_text(base, "utf-8")
    assert schedule_of(load_config(path), path) == DEFAULT_SCHEDULE
    path.write_text(base + '[schedule]\ngiftcards = "10m"\n', "utf-8")
    assert load_config(path).schedule == {"giftcards": 600.0}
    path.write_text(base + '[schedule]\ngiftcard = "10m"\n', "utf-8")
    with pytest.raises(MappingError, match=r"did you mean 'giftcards'"):
        load_config(path)
