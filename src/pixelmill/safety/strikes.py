"""Repeated-violation restriction: pure logic, clock injected, no I/O.

A user whose prompts were blocked ``max_violations`` times within ``window_s`` seconds is
restricted for ``restrict_s`` seconds from the last violation. The gateway owns persistence: it
can snapshot one user's state with :meth:`ViolationTracker.state` and put it back with
:meth:`ViolationTracker.load` (plain floats, so any store can hold them).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class UserStrikes:
    """One user's recent violation times (seconds, ascending) and restriction end (0 = none)."""

    times: deque[float] = field(default_factory=deque)
    restricted_until: float = 0.0


class ViolationTracker:
    """Counts blocked prompts per user in a sliding window and restricts repeat offenders.

    - ``max_violations``: violations within the window that trigger a restriction (>= 1).
    - ``window_s``: length of the sliding window in seconds (> 0).
    - ``restrict_s``: how long a restriction lasts, from the triggering violation (> 0).

    Not thread-safe: the gateway calls it under its own lock or per process.
    """

    def __init__(
        self, max_violations: int = 5, window_s: float = 3600.0, restrict_s: float = 86400.0
    ) -> None:
        if max_violations < 1:
            raise ValueError(f"max_violations must be >= 1, got {max_violations}")
        if window_s <= 0 or restrict_s <= 0:
            raise ValueError(f"window_s and restrict_s must be > 0, got {window_s} and {restrict_s}")
        self.max_violations = max_violations
        self.window_s = float(window_s)
        self.restrict_s = float(restrict_s)
        self._users: dict[str, UserStrikes] = {}

    def record(self, user_id: str, now: float) -> float | None:
        """Record one violation at ``now``; return the restriction end if this one triggers
        (or extends) a restriction, else None."""
        user = self._users.setdefault(user_id, UserStrikes())
        self._expire(user, now)
        user.times.append(now)
        if len(user.times) >= self.max_violations:
            user.restricted_until = max(user.restricted_until, now + self.restrict_s)
            return user.restricted_until
        return None

    def is_restricted(self, user_id: str, now: float) -> bool:
        """True while the user's restriction runs (``now < restricted_until``)."""
        return self.restricted_until(user_id, now) is not None

    def restricted_until(self, user_id: str, now: float) -> float | None:
        """The restriction end if the user is restricted at ``now``, else None."""
        user = self._users.get(user_id)
        if user is None or now >= user.restricted_until:
            return None
        return user.restricted_until

    def violations(self, user_id: str, now: float) -> int:
        """Violations inside the window ending at ``now``."""
        user = self._users.get(user_id)
        if user is None:
            return 0
        self._expire(user, now)
        return len(user.times)

    def state(self, user_id: str) -> tuple[list[float], float]:
        """(violation times, restricted_until) for persistence."""
        user = self._users.get(user_id, UserStrikes())
        return list(user.times), user.restricted_until

    def load(self, user_id: str, times: list[float], restricted_until: float = 0.0) -> None:
        """Restore a user's state saved with :meth:`state`."""
        self._users[user_id] = UserStrikes(deque(sorted(times)), float(restricted_until))

    def _expire(self, user: UserStrikes, now: float) -> None:
        while user.times and user.times[0] <= now - self.window_s:
            user.times.popleft()
