"""Keep one hotkey's requests to one validator under its rate limits. Pure arithmetic.

The validator allows 5 requests in any rolling second and 60 in any rolling minute per
hotkey, and answers the excess with a `rate_limited` failure. We keep a margin (4 and 50,
validator-defences.md §13) and space requests by when they *start*.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    limit: int
    seconds: float


DEFAULT_WINDOWS = (Window(4, 1.0), Window(50, 60.0))


class Pacer:
    """Sliding windows of start times; `reserve` books the earliest allowed start."""

    def __init__(self, windows: tuple[Window, ...] = DEFAULT_WINDOWS) -> None:
        self._windows = windows
        horizon = max(w.seconds for w in windows)
        self._horizon = horizon
        self._starts: deque[float] = deque()

    def reserve(self, now: float) -> float:
        """Book a request; returns the delay (s) before it may start (0 when free).

        Starts are kept in order, so a request never jumps ahead of one already booked.
        """
        while self._starts and self._starts[0] <= now - self._horizon:
            self._starts.popleft()
        start = max(now, self._starts[-1]) if self._starts else now
        moved = True
        while moved:
            moved = False
            for window in self._windows:
                inside = [t for t in self._starts if t > start - window.seconds]
                if len(inside) >= window.limit:
                    # Start when the limit-th most recent start has left the window.
                    start = inside[-window.limit] + window.seconds
                    moved = True
        self._starts.append(start)
        return start - now
