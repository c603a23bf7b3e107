"""Queue disciplines the simulator compares: FIFO, strict priority, and pixelmill's lanes.

Each discipline holds the queued jobs and answers "which job does this free batch slot take
now?". :class:`LaneQueue` asks the real :class:`pixelmill.scheduling.LanePolicy` (the code the job
stores run inside their claim transaction); nothing of the policy is re-implemented here.
"""

from __future__ import annotations

from collections import deque
from itertools import islice
from typing import Protocol

from pixelmill.scheduling import LanePolicy, LaneState, QueueHead, relax_order
from pixelmill.tiers import LANES, Policy


class Queued(Protocol):
    """What a discipline needs of a job: its lane, when it was (re)queued, and a slot for the
    :class:`QueueHead` the lane discipline builds for the policy."""

    id: int
    lane: str
    tier: str
    enqueued: float
    head: QueueHead | None


class QueueDiscipline(Protocol):
    """A work-conserving queue: ``pop`` returns a job whenever one is queued."""

    name: str
    size: int

    def push(self, job: Queued) -> None: ...

    def pop(self, now: float) -> Queued: ...

    def __len__(self) -> int: ...

    def lane_lengths(self) -> dict[str, int]: ...

    def oldest(self) -> dict[str, float]: ...


class _Lanes:
    """Shared book-keeping: one deque per lane, oldest first."""

    def __init__(self) -> None:
        self.lanes: dict[str, deque[Queued]] = {lane: deque() for lane in LANES}
        self.size = 0

    def push(self, job: Queued) -> None:
        self.lanes[job.lane].append(job)
        self.size += 1

    def __len__(self) -> int:
        return self.size

    def lane_lengths(self) -> dict[str, int]:
        return {lane: len(q) for lane, q in self.lanes.items()}

    def oldest(self) -> dict[str, float]:
        """Enqueue time of each lane's oldest queued job (lanes with none are left out)."""
        out: dict[str, float] = {}
        for lane, q in self.lanes.items():
            if q:
                out[lane] = min(j.enqueued for j in islice(q, 64))
        return out


class FifoQueue(_Lanes):
    """One global queue in arrival order, lanes ignored (the deques only serve the metrics)."""

    name = "fifo"

    def __init__(self) -> None:
        super().__init__()
        self.order: deque[Queued] = deque()

    def push(self, job: Queued) -> None:
        super().push(job)
        self.order.append(job)

    def pop(self, now: float) -> Queued:
        job = self.order.popleft()
        lane = self.lanes[job.lane]
        if lane[0] is job:
            lane.popleft()
        else:  # a requeued job entered the global order behind younger jobs of its lane
            lane.remove(job)
        self.size -= 1
        return job


class StrictQueue(_Lanes):
    """Strict priority: turbo, then pro, paid, free, relax; oldest first within a lane."""

    name = "strict"

    def pop(self, now: float) -> Queued:
        for q in self.lanes.values():
            if q:
                self.size -= 1
                return q.popleft()
        raise IndexError("pop from an empty queue")


class LaneQueue(_Lanes):
    """pixelmill's lanes: the lane is chosen by :meth:`LanePolicy.pick` over the lanes' heads;
    within relax the job is chosen by :func:`relax_order` over the ``relax_window`` oldest relax
    jobs (their users' recent GPU usage read from ``usage``)."""

    name = "pixelmill"

    def __init__(self, policy: Policy | None = None, usage: dict[int, float] | None = None,
                 relax_window: int = 16) -> None:
        super().__init__()
        self.policy = LanePolicy(policy)
        self.states: dict[str, LaneState] = {lane: LaneState(lane) for lane in LANES}
        self.usage = usage if usage is not None else {}
        self.relax_window = relax_window

    def push(self, job: Queued) -> None:
        job.head = QueueHead(job.lane, str(job.id), job.enqueued, job.tier)
        super().push(job)

    def pop(self, now: float) -> Queued:
        heads = {lane: q[0].head for lane, q in self.lanes.items() if q}
        chosen = self.policy.pick(heads, self.states, now)
        if chosen is None:
            raise IndexError("pop from an empty queue")
        q = self.lanes[chosen.lane]
        self.size -= 1
        if chosen.lane != "relax" or len(q) == 1:
            return q.popleft()
        window = list(islice(q, self.relax_window))
        by_id = {str(j.id): j for j in window}
        ranked = relax_order([QueueHead(j.lane, str(j.id), j.enqueued, j.tier,
                                        self.usage.get(getattr(j, "user", -1), 0.0)) for j in window])
        job = by_id[ranked[0].job_id]
        q.remove(job)
        return job


def make_queue(name: str, policy: Policy | None = None,
               usage: dict[int, float] | None = None) -> QueueDiscipline:
    """``fifo``, ``strict`` or ``pixelmill``."""
    if name == "fifo":
        return FifoQueue()
    if name == "strict":
        return StrictQueue()
    if name == "pixelmill":
        return LaneQueue(policy, usage)
    raise ValueError(f"unknown policy {name!r}: use fifo, strict or pixelmill")


POLICIES: tuple[str, ...] = ("fifo", "strict", "pixelmill")
