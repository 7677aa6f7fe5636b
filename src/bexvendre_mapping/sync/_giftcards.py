"""Gift cards at Vendre's checkout: look up, reserve (once per checkout), release, redeem."""

from __future__ import annotations

import threading
import warnings
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import overload

from bexvendre_mapping import bex, vendre
from bexvendre_mapping._dates import time_zone
from bexvendre_mapping._errors import MappingError
from bexvendre_mapping._lookups import Lookups
from bexvendre_mapping.http import BexClient, NotFound, RequestRejected, VendreClient
from bexvendre_mapping.money import CONTEXT, quantize
from bexvendre_mapping.sync._state import Checkout, StateStore

__all__ = [
    "CardBlocked",
    "CardExpired",
    "CurrencyMismatch",
    "GiftCardCheckout",
    "GiftCardError",
    "InsufficientBalance",
    "InvalidAmount",
    "ReservationExpired",
    "UnknownCard",
]

DEFAULT_RESERVATION_TTL = timedelta(hours=2)

_CARD_STATES = {
    bex.GiftCardStatus.ACTIVE: "active",
    bex.GiftCardStatus.RESERVED: "reserved",
    bex.GiftCardStatus.USED: "used",
    bex.GiftCardStatus.BLOCKED: "blocked",
}


def _mask(number: str) -> str:
    """A card number as messages show it: its last four characters only."""
    return f"card ...{number[-4:]}"


class GiftCardError(MappingError):
    """A gift card cannot be used as asked (a ``MappingError``, so also a ``ValueError``).

    Its one problem is reported against the caller's argument (``code``, ``amount``), and
    its message shows the card number masked: its last four characters.

    Attributes:
        number: the card number, in full (for the caller's logs to mask as they see fit).
    """

    def __init__(self, number: str, message: str, *, path: str = "code") -> None:
        self.number = number
        super().__init__(f"{_mask(number)}: {message}", path=path)


class UnknownCard(GiftCardError, LookupError):
    """Bex has no such card."""

    def __init__(self, number: str) -> None:
        super().__init__(number, "no such gift card")


class CardBlocked(GiftCardError):
    """The card is blocked (``Spärrad``)."""

    def __init__(self, number: str) -> None:
        super().__init__(number, "the gift card is blocked")


class CardExpired(GiftCardError):
    """The card's last valid day has passed.

    Attributes:
        valid_until: the card's last valid day.
    """

    def __init__(self, number: str, valid_until: date) -> None:
        self.valid_until = valid_until
        super().__init__(number, f"the gift card expired after {valid_until.isoformat()}")


class CurrencyMismatch(GiftCardError):
    """The card is in another currency than the checkout.

    Attributes:
        card_currency: the card's currency.
        checkout_currency: the checkout's currency.
    """

    def __init__(self, number: str, card_currency: str, checkout_currency: str) -> None:
        self.card_currency = card_currency
        self.checkout_currency = checkout_currency
        super().__init__(
            number,
            f"the gift card is in {card_currency}, the checkout in {checkout_currency}",
            path="currency",
        )


class InsufficientBalance(GiftCardError):
    """The card's free balance (its balance less active reservations) is below the amount.

    Attributes:
        asked: the amount asked for.
        free: the card's free balance when asked.
    """

    def __init__(self, number: str, asked: Decimal, free: Decimal) -> None:
        self.asked = asked
        self.free = free
        super().__init__(
            number,
            f"asked for {_money(asked)}, the gift card has {_money(free)} free",
            path="amount",
        )


class InvalidAmount(GiftCardError):
    """The amount is not money the card can pay: not finite, above 2 decimals, or not above 0."""

    def __init__(self, number: str, amount: Decimal, why: str) -> None:
        self.amount = amount
        super().__init__(number, f"amount {amount} {why}", path="amount")


class ReservationExpired(GiftCardError):
    """The checkout's reservation outlived ``reservation_ttl`` and was released by a sweep.

    Attributes:
        reference: the checkout.
    """

    def __init__(self, number: str, reference: str) -> None:
        self.reference = reference
        super().__init__(
            number,
            f"the reservation of checkout {reference!r} expired and was released",
            path="reference",
        )


def _money(value: Decimal) -> str:
    return format(quantize(value, 2), "f")


def _checked_amount(code: str, amount: object) -> Decimal:
    if isinstance(amount, bool) or not isinstance(amount, Decimal | int):
        msg = f"amount must be a Decimal (money is never a float), got {type(amount).__name__}"
        raise TypeError(msg)
    value = Decimal(amount)
    if not value.is_finite():
        raise InvalidAmount(code, value, "is not a number")
    if quantize(value, 2) != value:
        raise InvalidAmount(code, value, "has more than 2 decimals")
    if value <= 0:
        raise InvalidAmount(code, value, "is not above 0")
    return quantize(value, 2)


class GiftCardCheckout:
    """The shop side of gift cards held in Bex, with states that survive a crash.

    A checkout is identified by its ``reference`` (the Vendre checkout or order reference).
    Reserving twice under one reference gives the same reservation: the state records the
    intent before Bex is asked, and a reservation whose answer was lost is found in Bex by
    its reference before anything is asked again.

    Args:
        vendre_client: not used (``None`` will do): there so that the checkout takes its
            arguments in the flows' order.
        bex_client: the Bex API.
        lookups: for the conversion of cards to what the checkout sees.
        state: where checkouts are kept.
        reservation_ttl: how long a reservation may wait for its order before
            :meth:`sweep` releases it; default 2 hours.

    The old order ``GiftCardCheckout(bex_client, state, lookups)`` still works, with a
    ``DeprecationWarning``, until the next release.
    """

    @overload
    def __init__(
        self,
        vendre_client: VendreClient | None,
        bex_client: BexClient,
        lookups: Lookups,
        state: StateStore,
        *,
        reservation_ttl: timedelta = ...,
    ) -> None: ...

    @overload
    def __init__(  # deprecated: the old order (bex_client, state, lookups)
        self, vendre_client: BexClient, bex_client: StateStore, lookups: Lookups
    ) -> None: ...

    def __init__(
        self,
        vendre_client: VendreClient | BexClient | None,
        bex_client: BexClient | StateStore,
        lookups: Lookups,
        state: StateStore | None = None,
        *,
        reservation_ttl: timedelta = DEFAULT_RESERVATION_TTL,
    ) -> None:
        if state is None:  # three arguments: the old order
            warnings.warn(
                "GiftCardCheckout(bex_client, state, lookups) is deprecated; pass "
                "(vendre_client, bex_client, lookups, state) in that order (the old order is "
                "accepted until the next release)",
                DeprecationWarning,
                stacklevel=2,
            )
            vendre_client, bex_client, state = None, vendre_client, bex_client  # type: ignore[assignment]
        self.vendre: VendreClient | None = vendre_client  # type: ignore[assignment]
        self.bex: BexClient = bex_client  # type: ignore[assignment]
        self.state: StateStore = state  # type: ignore[assignment]
        self.lookups = lookups
        self.reservation_ttl = reservation_ttl
        # Calls on one checkout run one at a time. Bex's own checks keep checkouts made
        # elsewhere (other threads, each with its own state connection) from overdrawing.
        self._lock = threading.RLock()

    def lookup(self, code: str) -> vendre.GiftCard:
        """The card as the checkout sees it, with its **free** balance.

        ``balance`` is what the checkout may still reserve: the card's balance less its
        active reservations. ``usable`` (and ``status == "active"``) when the card is
        ``Aktiv`` or ``Reserverad`` with something free; a card whose balance is all
        reserved is ``reserved``; ``used`` and ``blocked`` as in Bex.

        Raises:
            UnknownCard: no such card.
            HttpError: the request failed.
        """
        card = self._card(code)
        free = self.bex.free_gift_card_balance(card)
        status = _CARD_STATES[card.status]
        if card.status in (bex.GiftCardStatus.ACTIVE, bex.GiftCardStatus.RESERVED):
            status = "active" if free > 0 else "reserved"
        return vendre.GiftCard(
            code=card.number,
            balance=quantize(free, 4),
            currency=card.currency,
            expires=card.valid_until,
            usable=status == "active",
            status=status,
        )

    def _card(self, code: str) -> bex.GiftCard:
        try:
            return self.bex.get_gift_card(code)
        except NotFound:
            raise UnknownCard(code) from None

    def _check(
        self,
        code: str,
        amount: Decimal,
        currency: str | None,
        *,
        held_by_us: Decimal = Decimal(0),
    ) -> None:
        """Raise the error that stops ``amount`` of the card now, if any."""
        card = self._card(code)
        if card.status is bex.GiftCardStatus.BLOCKED:
            raise CardBlocked(code)
        today = datetime.now(time_zone(self.bex.time_zone)).date()
        if card.valid_until is not None and card.valid_until < today:
            raise CardExpired(code, card.valid_until)
        if currency is not None and currency != card.currency:
            raise CurrencyMismatch(code, card.currency, currency)
        free = CONTEXT.add(self.bex.free_gift_card_balance(card), held_by_us)
        if card.status is bex.GiftCardStatus.USED:
            free = Decimal(0)
        if amount > free:
            raise InsufficientBalance(code, amount, free)

    def reserve(
        self, code: str, amount: Decimal, reference: str, *, currency: str | None = None
    ) -> vendre.GiftCardUse:
        """Reserve ``amount`` of the card for the checkout ``reference``, exactly once.

        The card is checked first (known, not blocked, not expired, in the checkout's
        ``currency`` when given, with ``amount`` free); Bex checks the same again, and its
        refusal is reported with the same errors.

        Repeating the call with the same reference, card and amount changes nothing. With
        another amount (or card), the checkout's reservation is replaced: the new one is
        checked (counting what the checkout already holds of the card as free), the old
        one released, the new one made.

        Returns:
            The gift card as the order will carry it (with its ``reservation_id``).

        Raises:
            TypeError: ``amount`` is a float.
            InvalidAmount: ``amount`` is not above 0 or has more than 2 decimals.
            UnknownCard, CardBlocked, CardExpired, CurrencyMismatch, InsufficientBalance:
                the card cannot pay ``amount`` now.
            ReservationExpired: the checkout's reservation was swept; start a new checkout.
            ValueError: the checkout was released or redeemed (or Bex holds its
                reservation as such): reserve under a new reference.
            HttpError: Bex failed.
        """
        amount = _checked_amount(code, amount)
        with self._lock:
            return self._reserve(code, amount, reference, currency)

    def _reserve(
        self, code: str, amount: Decimal, reference: str, currency: str | None
    ) -> vendre.GiftCardUse:
        known = self.state.get_checkout(reference)
        if known is not None and known.state == "expired":
            raise ReservationExpired(known.card_number, reference)
        if known is not None and known.state in ("released", "redeemed"):
            msg = f"checkout {reference!r} was {known.state}; reserve under a new reference"
            raise ValueError(msg)
        same = known is not None and known.card_number == code and Decimal(known.amount) == amount
        if known is not None and same and known.state == "reserved" and known.reservation_id:
            return vendre.GiftCardUse(code=code, amount=amount, reservation_id=known.reservation_id)
        bex_reference = reference
        if known is not None and not same:
            # Another amount or card: check the new one, then replace the reservation.
            held = Decimal(known.amount) if known.card_number == code else Decimal(0)
            self._check(code, amount, currency, held_by_us=held)
            self._release_in_bex(known)
            bex_reference = _next_reference(reference, known.bex_reference)
            known = None
        elif known is None:
            self._check(code, amount, currency)
        else:
            bex_reference = known.bex_reference or reference
        self.state.put_checkout(
            Checkout(
                reference=reference,
                card_number=code,
                amount=str(amount),
                state="reserving",
                reserved_at=datetime.now(UTC),
                bex_reference=None if bex_reference == reference else bex_reference,
            )
        )
        reservation = None
        if known is not None:  # an earlier attempt may have reached Bex
            reservation = self.bex.find_gift_card_reservation(code, bex_reference)
        if reservation is None:
            try:
                reservation = self.bex.reserve_gift_card(
                    code, amount, bex_reference, currency=currency
                )
            except NotFound:
                raise UnknownCard(code) from None
            except RequestRejected as exc:
                if exc.status == 409:
                    # Bex saw the card otherwise than the check did (another checkout took
                    # the balance meanwhile): say why as the check would.
                    self._check(code, amount, currency)
                raise
        if reservation.status is not bex.ReservationStatus.RESERVED:
            # Bex keeps one reservation per reference: this one is used up.
            msg = (
                f"Bex holds reservation {reservation.reservation_id!r} of checkout "
                f"{reference!r} as {reservation.status.value}; reserve under a new reference"
            )
            raise ValueError(msg)
        self.state.put_checkout(
            Checkout(
                reference=reference,
                card_number=code,
                amount=str(amount),
                state="reserved",
                reservation_id=reservation.reservation_id,
                reserved_at=datetime.now(UTC),
                bex_reference=None if bex_reference == reference else bex_reference,
            )
        )
        return vendre.GiftCardUse(
            code=code, amount=amount, reservation_id=reservation.reservation_id
        )

    def _release_in_bex(self, known: Checkout) -> str | None:
        """Release the checkout's reservation in Bex; its id, ``None`` when it never got there."""
        reservation_id = known.reservation_id
        if reservation_id is None:
            found = self.bex.find_gift_card_reservation(
                known.card_number, known.bex_reference or known.reference
            )
            reservation_id = None if found is None else found.reservation_id
        if reservation_id is not None:
            self.bex.release_gift_card(reservation_id)
        return reservation_id

    def release(self, reference: str) -> bool:
        """Release the checkout's reservation (a cancelled or abandoned checkout).

        Returns:
            Whether there was a reservation to release.

        Raises:
            HttpError: the request failed (the checkout stays reserved; call again).
        """
        with self._lock:
            return self._close(reference, expired=False)

    def _close(self, reference: str, *, expired: bool) -> bool:
        known = self.state.get_checkout(reference)
        if known is None or known.state in ("released", "redeemed", "expired"):
            return False
        reservation_id = self._release_in_bex(known)
        self.state.put_checkout(
            Checkout(
                reference=reference,
                card_number=known.card_number,
                amount=known.amount,
                state="expired" if expired else "released",
                reservation_id=reservation_id,
                reserved_at=known.reserved_at,
                bex_reference=known.bex_reference,
            )
        )
        return reservation_id is not None

    def redeem(self, reference: str) -> vendre.GiftCardUse:
        """Redeem the checkout's reservation: the amount is drawn from the card.

        Idempotent: redeeming a redeemed checkout answers the same.

        Raises:
            ReservationExpired: the reservation outlived ``reservation_ttl`` and was swept.
            ValueError: no such checkout, or it was released or never reached Bex.
            HttpError: Bex refused or failed.
        """
        with self._lock:
            known = self.state.get_checkout(reference)
            if known is None:
                msg = f"no gift-card checkout {reference!r}"
                raise ValueError(msg)
            if known.state == "expired":
                raise ReservationExpired(known.card_number, reference)
            if known.state == "released" or known.reservation_id is None:
                msg = f"checkout {reference!r} holds no reservation to redeem ({known.state})"
                raise ValueError(msg)
            if known.state != "redeemed":
                try:
                    self.bex.redeem_gift_card(known.reservation_id)
                except RequestRejected as exc:
                    now = self.state.get_checkout(reference)
                    if exc.status == 409 and now is not None and now.state == "expired":
                        # Swept (elsewhere) while this call was on its way.
                        raise ReservationExpired(known.card_number, reference) from None
                    raise
                self.state.put_checkout(
                    Checkout(
                        reference=reference,
                        card_number=known.card_number,
                        amount=known.amount,
                        state="redeemed",
                        reservation_id=known.reservation_id,
                        reserved_at=known.reserved_at,
                        bex_reference=known.bex_reference,
                    )
                )
            return vendre.GiftCardUse(
                code=known.card_number,
                amount=Decimal(known.amount),
                reservation_id=known.reservation_id,
            )

    def sweep(self, now: datetime | None = None) -> list[str]:
        """Release every reservation older than ``reservation_ttl`` (abandoned checkouts).

        A swept checkout is ``expired``: redeeming or reserving it again raises
        :class:`ReservationExpired`.

        Args:
            now: the moment to measure ages from (aware); default the current time.

        Returns:
            The references of the checkouts swept, in order.

        Raises:
            HttpError: Bex failed (the checkouts swept before stay swept; sweep again).
        """
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        swept = []
        with self._lock:
            for state in ("reserving", "reserved"):
                for known in self.state.checkouts(state):
                    started = known.reserved_at
                    if started is not None and moment - started < self.reservation_ttl:
                        continue
                    self._close(known.reference, expired=True)
                    swept.append(known.reference)
        return sorted(swept)


def _next_reference(reference: str, current: str | None) -> str:
    """The Bex reference of a checkout's next reservation: ``ref``, ``ref~2``, ``ref~3``, ..."""
    if current is None:
        return f"{reference}~2"
    return f"{reference}~{int(current.rsplit('~', 1)[1]) + 1}"
