"""The runtime's one notion of time: aware UTC, read in one place so tests can replace it."""

from __future__ import annotations

import datetime as dt


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def require_aware(moment: dt.datetime) -> dt.datetime:
    """`moment` in UTC; a naive time is refused (the classic source of hour-sized bugs)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: pass an aware UTC time")
    return moment.astimezone(dt.UTC)
