"""Dates and times on the wire: shop-local wall-clock strings (SPEC §3).

Both systems write ``YYYY-MM-DD HH:MM:SS`` in the shop's time zone. Loaders also accept
ISO 8601 with an offset, converted to the shop's zone. A wall-clock time that falls in a
daylight-saving gap or overlap is kept exactly as written (``fold=0``) and dumps back
unchanged: it is never an error and never shifts by an hour.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bexvendre_mapping._errors import MappingError
from bexvendre_mapping._text import show

__all__ = [
    "DEFAULT_TIME_ZONE",
    "format_date",
    "format_datetime",
    "parse_date",
    "parse_datetime",
    "time_zone",
    "zone_name",
]

DEFAULT_TIME_ZONE = "Europe/Stockholm"


# What time_zone() gave for each name, kept alive so that an id is never reused.
_NAMES: dict[int, tuple[tzinfo, str]] = {}


@functools.cache
def time_zone(name: str) -> tzinfo:
    """The time zone called ``name``, from the system's database or through dateutil.

    ``name`` is an IANA name, or a POSIX TZ rule such as ``CET-1CEST,M3.5.0,M10.5.0/3``
    (which dateutil reads).

    Raises:
        MappingError: no such time zone; or not a zone at all, though the system or dateutil
            would make one of it: an empty name or a local abbreviation (the system's local
            zone), a file path; or not a string.
    """
    if not isinstance(name, str):
        raise MappingError(f"expected a time zone name, got {name!r}")
    found = _find_zone(name)
    if found is None:
        raise MappingError(f"unknown time zone {show(name)}")
    _NAMES[id(found)] = (found, name)
    return found


# Keys of the zone database that are no shop's zone: the computer's own, and a template.
_NOT_SHOP_ZONES = frozenset({"localtime", "posixrules"})


def _find_zone(name: str) -> tzinfo | None:
    if name in _NOT_SHOP_ZONES:
        return None
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        pass  # a well-formed key the database does not have, or no database at all
    except (ValueError, OSError):
        # Not a key (empty, absolute, '..', a NUL), a file that is no zone, a directory,
        # a name too long for the file system: dateutil would take some as a path.
        return None
    if name.startswith(":"):  # gettz's way to name a file: ':/etc/localtime'
        return None
    # Systems without a zone database (Windows without the tzdata package) still have the
    # copy that python-dateutil ships, which gettz reads; gettz also reads POSIX TZ rules.
    # It gives the local zone for an abbreviation of it ('CEST'): not taken.
    from dateutil import tz  # noqa: PLC0415

    try:
        found = tz.gettz(name)
    except (ValueError, OSError):  # a file it found but could not read: no zone all the same
        return None
    usable = found is not None and not isinstance(found, tz.tzlocal) and _usable(found)
    return found if usable else None


# Moments across a few years, both seasons: each gives a rule's offsets for that year.
_PROBES = tuple(datetime(year, month, 15) for year in (1970, 2000, 2026, 2100) for month in (1, 7))


def _usable(zone: tzinfo) -> bool:
    """Whether ``zone`` gives its offsets: dateutil reads some POSIX rules it cannot apply.

    ``EST5EDT,M13.1.0,M10.5.0`` (a 13th month) or ``X-99`` (99 hours ahead) are read, and
    fail only when an offset is asked for, as every date-time the zone is used for would.
    """
    try:
        for moment in _PROBES:
            aware = moment.replace(tzinfo=zone)  # datetime checks the offsets' range
            aware.utcoffset()
            aware.dst()
    except (ValueError, OverflowError, ArithmeticError, LookupError, TypeError):
        return False
    return True


def zone_name(zone: tzinfo) -> str:
    """The name :func:`time_zone` made ``zone`` from: ``time_zone(zone_name(z)) is z``.

    A zone from elsewhere gives its ``key`` (a ``ZoneInfo``'s) or its ``str()``.
    """
    known = _NAMES.get(id(zone))
    return known[1] if known is not None else str(getattr(zone, "key", None) or zone)


def _wall_clock(text: str) -> datetime | None:
    # The common case, written by both systems: exactly 'YYYY-MM-DD HH:MM:SS'.
    if (
        len(text) == 19
        and text[4] == "-"
        and text[7] == "-"
        and text[10] == " "
        and text[13] == ":"
        and text[16] == ":"
        and text[:4].isdigit()
        and text[5:7].isdigit()
        and text[8:10].isdigit()
        and text[11:13].isdigit()
        and text[14:16].isdigit()
        and text[17:19].isdigit()
    ):
        return datetime(
            int(text[:4]),
            int(text[5:7]),
            int(text[8:10]),
            int(text[11:13]),
            int(text[14:16]),
            int(text[17:19]),
        )
    return None


def parse_datetime(value: object, zone: tzinfo) -> datetime:
    """Read a wire date-time into an aware datetime in ``zone``.

    Raises:
        MappingError: not a string, or not a valid date-time.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            found = _wall_clock(value)
            if found is None:
                if not 19 <= len(value) <= 35 or value[10] not in "T ":
                    raise ValueError(value)
                from dateutil.parser import isoparse  # noqa: PLC0415 - only for ISO input

                found = isoparse(value)
        except (ValueError, OverflowError):
            raise MappingError(
                f"expected a date-time 'YYYY-MM-DD HH:MM:SS' or ISO 8601, got {show(value)}"
            ) from None
        parsed = found
    else:
        raise MappingError(f"expected a date-time string, got {show(value)}")
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=zone)
    try:
        return parsed.astimezone(zone)
    except OverflowError:
        raise MappingError(f"date-time {show(value)} is out of range") from None


# The datetime written last, its zone and its text. A gift card's payment carries the web
# payment's datetime object, written once so. One tuple, replaced whole: a thread never
# reads a text with another datetime. Only exact datetimes, which are immutable.
_last_written: tuple[object, object, str] = (object(), object(), "")


def format_datetime(value: datetime, zone: tzinfo) -> str:
    """Write a datetime as the shop's wall clock, ``YYYY-MM-DD HH:MM:SS``.

    A naive datetime is taken as the shop's wall clock already. Microseconds, when there
    are any, are kept as a fraction.

    Raises:
        MappingError: the shop's wall clock at that moment is beyond year 9999 or before
            year 1.
    """
    global _last_written  # noqa: PLW0603 - the one-entry memo above
    last = _last_written
    if last[0] is value and last[1] is zone:
        return last[2]
    wall = value
    if wall.tzinfo is not None and wall.tzinfo is not zone:
        try:
            wall = wall.astimezone(zone)
        except OverflowError:  # 9999-12-31 23:30 UTC is in year 10000 in Stockholm
            raise MappingError(
                f"the date-time {value.isoformat()} is out of range in the shop's time zone"
            ) from None
    # date.isoformat() pads the year to 4 digits; time.isoformat() (of the naive time)
    # writes HH:MM:SS and the 6-digit fraction only when there are microseconds. Twice as
    # fast as formatting the six fields.
    text = f"{wall.date().isoformat()} {wall.time().isoformat()}"
    if type(value) is datetime:
        _last_written = (value, zone, text)
    return text


def parse_date(value: object) -> date:
    """Read a wire date, ``YYYY-MM-DD``.

    Raises:
        MappingError: not a string, or not a valid date.
    """
    if type(value) is date:
        return value
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise MappingError(f"expected a date 'YYYY-MM-DD', got {show(value)}")


def format_date(value: date) -> str:
    """Write a date as ``YYYY-MM-DD``."""
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
