"""When a solver must stop: one object for a deadline and a cancel flag.

Every long computation (route search, plan, tours, sweeps) takes a :class:`Stop` and asks it
``stop()`` at safe points, as PyVRP's stopping criteria are asked once per iteration. The
deadline is on the monotonic clock, so a wall-clock jump never ends or extends a search.
A cancel flag set from another thread (a job being cancelled, a server shutting down) stops
the solver at its next check.
"""

from __future__ import annotations

import threading
import time

from graphs.errors import SilkrouteError

__all__ = ["Stop", "StoppedError"]


class StoppedError(SilkrouteError, TimeoutError):
    """A computation stopped by its deadline or a cancel before it had any answer."""


class Stop:
    """A deadline (seconds from now, ``None`` for none) and a cancel flag.

    Calling the object answers whether the solver should stop now.
    """

    __slots__ = ("_cancel", "_deadline", "time_limit_s")

    def __init__(self, time_limit_s: float | None = None) -> None:
        if time_limit_s is not None and not time_limit_s > 0:
            raise ValueError(f"a time limit must be positive seconds, not {time_limit_s!r}")
        self.time_limit_s = time_limit_s
        self._deadline = None if time_limit_s is None else time.monotonic() + time_limit_s
        self._cancel = threading.Event()

    def __call__(self) -> bool:
        return self._cancel.is_set() or (
            self._deadline is not None and time.monotonic() >= self._deadline
        )

    def cancel(self) -> None:
        """Ask the solver to stop at its next check (safe from any thread)."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._cancel.is_set()

    def remaining_s(self) -> float | None:
        """Seconds left before the deadline (0 once passed), ``None`` without a deadline."""
        if self._deadline is None:
            return None
        return max(0.0, self._deadline - time.monotonic())

    def __repr__(self) -> str:
        left = self.remaining_s()
        return f"Stop(remaining_s={left!r}, cancelled={self.cancelled})"
