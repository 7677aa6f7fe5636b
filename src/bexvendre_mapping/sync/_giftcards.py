"""Gift cards at Vendre's checkout: look up, reserve (once per checkout), release."""

from __future__ import annotations

import warnings
from decimal import Decimal
from typing import overload

from bexvendre_mapping import bex, convert, vendre
from bexvendre_mapping._lookups import Lookups
from bexvendre_mapping.http import BexClient, VendreClient
from bexvendre_mapping.sync._state import Checkout, StateStore

__all__ = ["GiftCardCheckout"]


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

    def lookup(self, code: str) -> vendre.GiftCard:
        """The card as the checkout sees it (usable only when ``Aktiv``).

        Raises:
            NotFound: no such card.
            HttpError: the request failed.
        """
        return convert.gift_card_to_vendre(self.bex.get_gift_card(code), self.lookups)

    def reserve(self, code: str, amount: Decimal, reference: str) -> vendre.GiftCardUse:
        """Reserve ``amount`` of the card for the checkout ``reference``, exactly once.

        Returns:
            The gift card as the order will carry it (with its ``reservation_id``).

        A reference names one reservation for good: after :meth:`release`, reserve under a
        new reference.

        Raises:
            ValueError: the reference already holds another card or amount, or its
                reservation was released (or Bex holds it as released or redeemed).
            HttpError: Bex refused (a 409 for a card that is not usable) or failed.
        """
        amount = Decimal(amount)
        known = self.state.get_checkout(reference)
        if known is not None and (known.card_number != code or Decimal(known.amount) != amount):
            msg = (
                f"checkout {reference!r} already holds {known.amount} of card {known.card_number!r}"
            )
            raise ValueError(msg)
        if known is not None and known.state in ("released", "redeemed"):
            msg = f"checkout {reference!r} was {known.state}; reserve under a new reference"
            raise ValueError(msg)
        if known is not None and known.state == "reserved" and known.reservation_id:
            return vendre.GiftCardUse(code=code, amount=amount, reservation_id=known.reservation_id)
        self.state.put_checkout(
            Checkout(reference=reference, card_number=code, amount=str(amount), state="reserving")
        )
        reservation = None
        if known is not None:  # an earlier attempt may have reached Bex
            reservation = self.bex.find_gift_card_reservation(code, reference)
        if reservation is None:
            reservation = self.bex.reserve_gift_card(code, amount, reference)
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
            )
        )
        return vendre.GiftCardUse(
            code=code, amount=amount, reservation_id=reservation.reservation_id
        )

    def release(self, reference: str) -> bool:
        """Release the checkout's reservation (a cancelled or abandoned checkout).

        Returns:
            Whether there was a reservation to release.

        Raises:
            HttpError: the request failed (the checkout stays reserved; call again).
        """
        known = self.state.get_checkout(reference)
        if known is None or known.state in ("released", "redeemed"):
            return False
        reservation_id = known.reservation_id
        if reservation_id is None:
            found = self.bex.find_gift_card_reservation(known.card_number, reference)
            reservation_id = None if found is None else found.reservation_id
        if reservation_id is not None:
            self.bex.release_gift_card(reservation_id)
        self.state.put_checkout(
            Checkout(
                reference=reference,
                card_number=known.card_number,
                amount=known.amount,
                state="released",
                reservation_id=reservation_id,
            )
        )
        return reservation_id is not None
