"""Lane policy: which queued job a free batch slot takes next (DESIGN.md decision 3).

Pure policy: no I/O, no SQL, the clock is the ``now`` argument. The job stores call it inside
their claim transaction (SQLite under ``BEGIN IMMEDIATE``, PostgreSQL with the lane rows locked)
and the fleet simulator calls the very same code.

The rule, in the order it is applied by :meth:`LanePolicy.pick`:

1. ``turbo`` first: a turbo head is always taken before every other lane.
2. Free floor: a ``free`` head older than ``policy.free_floor_s`` is taken next, as long as the
   free lane's pass is at most ``floor_credit`` ahead of the lowest active fair-lane pass (the
   credit bounds the jump, so under saturation the long-run split is still 4:2:1).
3. Weighted fair share between ``pro``/``paid``/``free`` (stride scheduling): the lane with the
   lowest ``pass - staleness bonus`` wins (bonus = ``policy.staleness_bonus_per_s * age`` of its
   head, capped at ``max_staleness_bonus``); ties go to the higher-priority lane.
4. ``relax`` only when no other lane has a head.

Every chosen lane's pass grows by ``1 / weight`` (pro:paid:free = 4:2:1). A fair lane that was
idle at the previous decision and has work now is raised to the lowest pass of the lanes that
stayed active, so it cannot burst through the credit it "saved" while idle.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass

from pixelmill.tiers import Policy

FAIR_LANES: tuple[str, ...] = ("pro", "paid", "free")
"""The lanes that share capacity by weight (turbo is above them, relax below)."""


@dataclass
class LaneState:
    """One lane's scheduler state (persisted by the stores as the lane rows)."""

    lane: str
    pass_value: float = 0.0
    active: bool = False


@dataclass(frozen=True)
class QueueHead:
    """The candidate a lane offers: a queued job (a lane's oldest, or relax's least-used user's)."""

    lane: str
    job_id: str
    enqueued_at: float
    tier: str
    user_usage_s: float = 0.0


def relax_order(heads: Sequence[QueueHead]) -> list[QueueHead]:
    """Within relax, users who used less GPU time go first, then the oldest job."""
    return sorted(heads, key=lambda h: (h.user_usage_s, h.enqueued_at, h.job_id))


class LanePolicy:
    """The lane choice. Stateless apart from its configuration; lane state lives in ``lanes``.

    - ``policy``: weights, free floor and staleness bonus (default :class:`pixelmill.tiers.Policy`).
    - ``floor_credit``: how far (in pass units) the free lane may run ahead of the other active
      fair lanes through the free floor.
    - ``max_staleness_bonus``: cap of the age bonus, in pass units (bounded so the long-run split
      stays at the weights even when every lane is saturated and heads grow old).
    """

    def __init__(
        self,
        policy: Policy | None = None,
        *,
        floor_credit: float = 1.0,
        max_staleness_bonus: float = 1.0,
    ) -> None:
        self.policy = policy or Policy()
        self.floor_credit = floor_credit
        self.max_staleness_bonus = max_staleness_bonus

    def _bonus(self, head: QueueHead, now: float) -> float:
        age = max(0.0, now - head.enqueued_at)
        return min(self.max_staleness_bonus, self.policy.staleness_bonus_per_s * age)

    def _wake(self, heads: Mapping[str, QueueHead], lanes: MutableMapping[str, LaneState]) -> None:
        """Update ``active`` flags; raise waking fair lanes to the lowest still-active pass."""
        for lane in heads:
            lanes.setdefault(lane, LaneState(lane))
        stayed = [lanes[name].pass_value for name in FAIR_LANES
                  if name in heads and lanes[name].active]
        floor = min(stayed) if stayed else None
        for name, state in lanes.items():
            has_work = name in heads
            if has_work and not state.active and floor is not None and name in FAIR_LANES:
                state.pass_value = max(state.pass_value, floor)
            state.active = has_work

    def _choose(self, heads: Mapping[str, QueueHead], lanes: Mapping[str, LaneState],
                now: float) -> QueueHead | None:
        if "turbo" in heads:
            return heads["turbo"]
        fair = [name for name in FAIR_LANES if name in heads]
        if "free" in heads and now - heads["free"].enqueued_at >= self.policy.free_floor_s:
            others = [lanes[name].pass_value for name in fair if name != "free"]
            if not others or lanes["free"].pass_value <= min(others) + self.floor_credit:
                return heads["free"]
        if fair:
            best = min(fair, key=lambda name: (lanes[name].pass_value - self._bonus(heads[name], now),
                                               FAIR_LANES.index(name)))
            return heads[best]
        return heads.get("relax")

    def pick(self, heads: Mapping[str, QueueHead], lanes: MutableMapping[str, LaneState],
             now: float) -> QueueHead | None:
        """Choose the next job among the lanes' heads and charge the chosen lane.

        ``heads`` maps lane -> that lane's candidate. Mutates ``lanes`` in place (missing lanes
        are added); returns None when ``heads`` is empty. Unknown lane names raise ValueError.
        """
        unknown = set(heads) - {"turbo", *FAIR_LANES, "relax"}
        if unknown:
            raise ValueError(f"unknown lane(s) {sorted(unknown)}: lanes are turbo, pro, paid, free, relax")
        self._wake(heads, lanes)
        head = self._choose(heads, lanes, now)
        if head is not None:
            lanes[head.lane].pass_value += 1.0 / self.policy.weight(head.lane)
        return head

    def pick_many(self, heads_by_lane: Mapping[str, Sequence[QueueHead]],
                  lanes: MutableMapping[str, LaneState], now: float, k: int) -> list[QueueHead]:
        """Batch-aware claim: up to ``k`` jobs, applying :meth:`pick` ``k`` times.

        ``heads_by_lane`` holds each lane's queued candidates oldest first (the store fetches at
        least ``k`` per lane, already filtered to the worker's model/resolution); relax
        candidates are reordered with :func:`relax_order`. A lane whose list runs out counts as
        idle for the rest of the batch.
        """
        queues = {lane: list(relax_order(q) if lane == "relax" else q)
                  for lane, q in heads_by_lane.items() if q}
        cursor = dict.fromkeys(queues, 0)
        chosen: list[QueueHead] = []
        while len(chosen) < k:
            heads = {lane: q[cursor[lane]] for lane, q in queues.items() if cursor[lane] < len(q)}
            head = self.pick(heads, lanes, now)
            if head is None:
                break
            cursor[head.lane] += 1
            chosen.append(head)
        return chosen
