"""The discrete-event fleet simulator (one queue discipline, one arrival trace).

Events live in one ``heapq`` keyed by (time, sequence); the trace's arrivals are merged in from
their sorted array instead of being pushed. The unit of simulation is the job, not the step:

- A GPU holds up to ``slots`` jobs (continuous batching). While its batch does not change, every
  step takes the same time (the profile's step time for the batch's samples per resolution,
  plus the amortised checkpoint writes), so the GPU needs ONE pending event: the moment its
  first job finishes (or crashes). When a job joins or leaves, the GPU's jobs are advanced by
  ``elapsed / step_time`` steps and the event is re-planned; stale events are skipped by a
  version number. A join takes effect at once rather than at the next step boundary (an error
  under one step).
- A GPU that frees a slot claims the next job itself (a worker claiming at a step boundary);
  when the queue is empty the slot waits in a FIFO of free slots, so arrivals go to the slot
  that has been free longest.
- Crashes lose each running job's steps since its last checkpoint (all of them without
  checkpoints); that GPU time is counted as wasted. The jobs stay claimed until the lease
  expires (or the outage is detected), then go back to their lanes.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from pixelmill.scheduling import QueueHead
from pixelmill.sim.fleet import AutoscaleConfig, FaultConfig, FleetConfig
from pixelmill.sim.profile import RESOLUTIONS, ServiceProfile
from pixelmill.sim.queues import make_queue
from pixelmill.sim.workload import Trace, Workload
from pixelmill.tiers import LANES, Policy

(EV_GPU, EV_DETECT, EV_UP, EV_FOLLOWUP, EV_TICK,
 EV_OUTAGE, EV_OUTAGE_DETECT, EV_OUTAGE_END, EV_READY) = range(9)
_EPS = 1e-6


class SimJob:
    """A job in the simulation. ``done`` counts steps (fractional between events); ``start_step``
    is where the current attempt began (0 or a checkpoint); ``work`` is the GPU-seconds the
    current attempt has used (the job's share of each batched step)."""

    __slots__ = ("adversarial", "arrival", "crashes", "done", "enqueued", "fail_at", "followup", "head",
                 "id", "index", "lane", "res", "samples", "start_step", "steps", "tier", "user", "work")

    def __init__(self, jid: int, index: int, lane: str, tier: str, res: int, samples: int, steps: int,
                 arrival: float, user: int, adversarial: bool, followup: bool) -> None:
        self.id = jid
        self.index = index
        self.lane = lane
        self.tier = tier
        self.res = res
        self.samples = samples
        self.steps = steps
        self.arrival = arrival
        self.user = user
        self.adversarial = adversarial
        self.followup = followup
        self.done = 0.0
        self.start_step = 0.0
        self.work = 0.0
        self.fail_at = math.inf
        self.crashes = 0
        self.enqueued = arrival
        self.head: QueueHead | None = None  # set by the lane discipline when it queues the job


class Gpu:
    """One GPU and its worker. ``epoch`` changes when it dies so stale free-slot entries are
    dropped; ``version`` changes whenever its pending event is re-planned."""

    __slots__ = ("alive", "ckpt_s", "epoch", "held", "id", "jobs", "n_res", "released", "samples",
                 "step_s", "t_last", "version")

    def __init__(self, gid: int, now: float) -> None:
        self.id = gid
        self.jobs: list[SimJob] = []
        self.held: list[SimJob] = []
        self.alive = True
        self.released = False
        self.version = 0
        self.epoch = 0
        self.t_last = now
        self.step_s = 0.0
        self.ckpt_s = 0.0
        self.n_res = [0] * len(RESOLUTIONS)
        self.samples = 0


@dataclass
class RunResult:
    """Raw figures of one run; :mod:`pixelmill.sim.metrics` turns them into the report."""

    policy: str
    duration_s: float
    warmup_s: float
    price_per_gpu_hour: float
    wait_t: dict[str, list[float]] = field(default_factory=lambda: {lane: [] for lane in LANES})
    wait_v: dict[str, list[float]] = field(default_factory=lambda: {lane: [] for lane in LANES})
    e2e_t: dict[str, list[float]] = field(default_factory=dict)
    e2e_v: dict[str, list[float]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    served_by_lane: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LANES, 0))
    served_samples_by_lane: dict[str, float] = field(default_factory=lambda: dict.fromkeys(LANES, 0.0))
    queued_oldest: dict[str, float] = field(default_factory=dict)
    wasted_gpu_s: float = 0.0
    blocked_gpu_s: float = 0.0
    checkpoint_gpu_s: float = 0.0
    lost_steps: float = 0.0
    crashed_jobs: int = 0
    images: int = 0
    tick_t: list[float] = field(default_factory=list)
    tick_busy: list[float] = field(default_factory=list)
    tick_billed: list[float] = field(default_factory=list)
    tick_alive: list[int] = field(default_factory=list)
    tick_queue: list[int] = field(default_factory=list)
    tick_backlog: list[int] = field(default_factory=list)
    tick_running: list[int] = field(default_factory=list)
    tick_oldest: dict[str, list[float]] = field(default_factory=lambda: {lane: [] for lane in LANES})
    slots: int = 1
    lane_gpu_s: dict[str, float] = field(default_factory=lambda: dict.fromkeys(LANES, 0.0))


class Simulation:
    """One run of one queue discipline over one trace. ``run()`` is deterministic: the fault RNG
    is seeded from ``seed`` and every tie in the event heap is broken by insertion order."""

    def __init__(self, trace: Trace, workload: Workload, profile: ServiceProfile, queue: str,
                 duration_s: float, *, fleet: FleetConfig | None = None, faults: FaultConfig | None = None,
                 autoscale: AutoscaleConfig | None = None, policy: Policy | None = None, seed: int = 0,
                 warmup_s: float = 60.0, tick_s: float = 10.0) -> None:
        self.trace = trace
        self.workload = workload
        self.profile = profile
        self.fleet = fleet or FleetConfig()
        self.faults = faults or FaultConfig()
        self.autoscale = autoscale or AutoscaleConfig()
        self.fleet.validate(profile.max_samples, workload.images_per_job)
        self.duration_s = duration_s
        self.warmup_s = min(warmup_s, duration_s / 4)
        self.tick_s = tick_s
        self.rng = random.Random(seed * 7919 + 1)
        self.usage: dict[int, float] = {}
        self.queue = make_queue(queue, policy, self.usage)
        self.result = RunResult(queue, duration_s, self.warmup_s, self.fleet.price_per_gpu_hour,
                                slots=self.fleet.slots)
        self.heap: list[tuple[float, int, int, object, int]] = []
        self.seq = itertools.count()
        self.free: deque[tuple[Gpu, int]] = deque()
        self.gpus: list[Gpu] = []
        self.n_busy = 0
        self.n_billed = 0
        self.busy_int = 0.0
        self.billed_int = 0.0
        self.t_int = 0.0
        self.next_id = len(trace)
        self.counts = dict.fromkeys(("arrived", "rejected", "completed", "blocked", "failed", "crashes"), 0)
        self._ckpt_cost = (profile.checkpoint_write_s / self.faults.checkpoint_every
                           if self.faults.checkpoint_every > 0 else 0.0)
        self._step = profile.step_s
        self._up_since: float | None = None
        self._low_since: float | None = None
        self._cooldown_until = 0.0
        self._pending_gpus = 0
        self._outage_gpus: dict[int, list[Gpu]] = {}
        self._prefilter = True
        self._faulty = self.faults.fail_prob_start > 0 or self.faults.fail_prob_end > 0
        self._wait_t = self.result.wait_t
        self._wait_v = self.result.wait_v

    # --- bookkeeping -------------------------------------------------------------------------

    def _push(self, t: float, kind: int, obj: object = None, version: int = 0) -> None:
        heapq.heappush(self.heap, (t, next(self.seq), kind, obj, version))

    def _integrate(self, now: float) -> None:
        dt = now - self.t_int
        if dt > 0:
            self.busy_int += self.n_busy * dt
            self.billed_int += self.n_billed * dt
            self.t_int = now

    def _add_gpu(self, now: float) -> Gpu:
        self._integrate(now)
        gpu = Gpu(len(self.gpus), now)
        self.gpus.append(gpu)
        self.n_billed += 1
        for _ in range(self.fleet.slots):
            self.free.append((gpu, gpu.epoch))
        return gpu

    # --- the GPU's batch ---------------------------------------------------------------------

    def _advance(self, gpu: Gpu, now: float) -> None:
        """Move every running job of ``gpu`` forward to ``now``."""
        dt = now - gpu.t_last
        gpu.t_last = now
        if dt <= 0 or not gpu.jobs:
            return
        steps = dt / gpu.step_s
        per_sample = dt / gpu.samples
        for job in gpu.jobs:
            job.done += steps
            job.work += per_sample * job.samples
        if gpu.ckpt_s:
            self.result.checkpoint_gpu_s += dt * gpu.ckpt_s / gpu.step_s

    def _replan(self, gpu: Gpu, now: float) -> None:
        """Recompute the step time after the batch changed and plan the next event."""
        jobs = gpu.jobs
        gpu.version += 1
        if not jobs:
            gpu.step_s = 0.0
            return
        step = self._step
        n = gpu.n_res
        gpu.ckpt_s = self._ckpt_cost * len(jobs)
        gpu.step_s = step[0][n[0]] + step[1][n[1]] + step[2][n[2]] + gpu.ckpt_s
        remaining = math.inf
        for j in jobs:
            left = (j.steps if j.steps < j.fail_at else j.fail_at) - j.done
            if left < remaining:
                remaining = left
        if remaining < 0:
            remaining = 0.0
        heapq.heappush(self.heap, (now + remaining * gpu.step_s, next(self.seq), EV_GPU, gpu, gpu.version))

    def _join(self, gpu: Gpu, job: SimJob, now: float) -> None:
        if not gpu.jobs:
            self._integrate(now)
            self.n_busy += 1
        gpu.jobs.append(job)
        gpu.n_res[job.res] += job.samples
        gpu.samples += job.samples
        if self._faulty:
            job.fail_at = self._draw_failure(job, now)

    def _leave(self, gpu: Gpu, job: SimJob, now: float) -> None:
        gpu.jobs.remove(job)
        gpu.n_res[job.res] -= job.samples
        gpu.samples -= job.samples
        if not gpu.jobs:
            self._integrate(now)
            self.n_busy -= 1

    def _draw_failure(self, job: SimJob, now: float) -> float:
        f = self.faults
        p = f.fail_prob_start + (f.fail_prob_end - f.fail_prob_start) * min(1.0, now / self.duration_s)
        if p <= 0 or self.rng.random() >= p:
            return math.inf
        return job.done + self.rng.random() * (job.steps - job.done)

    def _claim(self, gpu: Gpu, now: float) -> bool:
        """The GPU's worker takes the next queued job into its batch (False: queue empty)."""
        if not self.queue.size:
            return False
        job: SimJob = self.queue.pop(now)  # type: ignore[assignment]
        lane = job.lane
        self._wait_t[lane].append(now)
        self._wait_v[lane].append(now - job.enqueued)
        self._join(gpu, job, now)
        return True

    def _dispatch(self, now: float) -> None:
        """Give queued jobs to free slots, longest-free slot first."""
        free = self.free
        queue = self.queue
        slots = self.fleet.slots
        touched: dict[int, Gpu] = {}
        while free and queue.size:
            gpu, epoch = free.popleft()
            if epoch != gpu.epoch or not gpu.alive or len(gpu.jobs) >= slots:
                continue
            if gpu.id not in touched:
                self._advance(gpu, now)
                touched[gpu.id] = gpu
            self._claim(gpu, now)
        for gpu in touched.values():
            self._replan(gpu, now)

    def _on_gpu(self, gpu: Gpu, now: float) -> None:
        self._advance(gpu, now)
        finished = []
        for j in gpu.jobs:
            if j.done >= j.fail_at - _EPS:
                self._crash(gpu, now)
                self._push(now + self.faults.lease_s, EV_DETECT, gpu, gpu.epoch)
                return
            if j.done >= j.steps - _EPS:
                finished.append(j)
        for job in finished:
            self._leave(gpu, job, now)
            self._complete(job, now)
        for _ in finished:
            if not self._claim(gpu, now):
                self.free.append((gpu, gpu.epoch))
        self._replan(gpu, now)

    def _complete(self, job: SimJob, now: float) -> None:
        r = self.result
        r.served_by_lane[job.lane] += 1
        r.lane_gpu_s[job.lane] += job.work
        self.usage[job.user] = self.usage.get(job.user, 0.0) + job.work
        if job.adversarial:
            self.counts["blocked"] += 1
            r.blocked_gpu_s += job.work
            return
        self.counts["completed"] += 1
        r.images += job.samples
        key = "relax" if job.lane == "relax" else job.tier
        if key not in r.e2e_t:
            r.e2e_t[key], r.e2e_v[key] = [], []
        r.e2e_t[key].append(now)
        r.e2e_v[key].append(now - job.arrival)
        if not job.followup and self._wants_followup[job.index]:
            self._push(now + self._think[job.index], EV_FOLLOWUP, job)

    # --- faults ------------------------------------------------------------------------------

    def _crash(self, gpu: Gpu, now: float) -> None:
        """The worker dies: its jobs lose the steps since their last checkpoint and stay held."""
        every = self.faults.checkpoint_every
        self.counts["crashes"] += 1
        for job in list(gpu.jobs):
            base = math.floor(job.done / every + _EPS) * every if every > 0 else 0.0
            base = max(base, job.start_step)
            ran = job.done - job.start_step
            self.result.lost_steps += job.done - base
            self.result.crashed_jobs += 1
            if ran > 0:
                self.result.wasted_gpu_s += job.work * (job.done - base) / ran
            job.done = job.start_step = base
            job.work = 0.0
            job.fail_at = math.inf
            job.crashes += 1
            self._leave(gpu, job, now)
            gpu.held.append(job)
        gpu.alive = False
        gpu.epoch += 1
        gpu.version += 1
        gpu.step_s = 0.0

    def _requeue_held(self, gpu: Gpu, now: float) -> None:
        for job in gpu.held:
            if job.crashes >= self.faults.max_attempts:
                self.counts["failed"] += 1
                continue
            job.enqueued = now
            self.queue.push(job)
        gpu.held = []

    def _revive(self, gpu: Gpu, now: float) -> None:
        gpu.alive = True
        gpu.t_last = now
        for _ in range(self.fleet.slots):
            self.free.append((gpu, gpu.epoch))

    def _release(self, gpu: Gpu, now: float) -> None:
        self._integrate(now)
        gpu.released = True
        gpu.alive = False
        gpu.epoch += 1
        self.n_billed -= 1

    def _on_outage(self, index: int, now: float) -> None:
        outage = self.faults.outages[index]
        alive = [g for g in self.gpus if g.alive and not g.released]
        lost = alive[: round(len(alive) * outage.fraction)]
        for gpu in lost:  # their jobs stay held until detection or the end of the outage
            self._crash(gpu, now)
        self._outage_gpus[index] = lost
        if outage.detection_s < outage.duration_s:
            self._push(now + outage.detection_s, EV_OUTAGE_DETECT, index)
        self._push(now + outage.duration_s, EV_OUTAGE_END, index)

    def _on_outage_detect(self, index: int, now: float) -> None:
        for gpu in self._outage_gpus[index]:
            if gpu.released or gpu.alive:
                continue
            self._requeue_held(gpu, now)
            self._release(gpu, now)
            self._order_gpu(now)

    def _on_outage_end(self, index: int, now: float) -> None:
        for gpu in self._outage_gpus[index]:
            if gpu.released or gpu.alive:
                continue
            self._requeue_held(gpu, now)
            self._revive(gpu, now)

    def _order_gpu(self, now: float) -> None:
        """A new GPU is billed from the order and serves after ``replacement_s``."""
        self._integrate(now)
        self.n_billed += 1
        self._pending_gpus += 1
        self._push(now + self.faults.replacement_s, EV_READY)

    # --- autoscaling and sampling ------------------------------------------------------------

    def _on_tick(self, now: float) -> None:
        self._integrate(now)
        r = self.result
        alive = sum(1 for g in self.gpus if g.alive)
        lengths = self.queue.lane_lengths()
        fast_queue = sum(n for lane, n in lengths.items() if lane != "relax")
        r.tick_t.append(now)
        r.tick_busy.append(self.busy_int)
        r.tick_billed.append(self.billed_int)
        r.tick_alive.append(alive)
        r.tick_queue.append(fast_queue)
        r.tick_backlog.append(self.queue.size)
        r.tick_running.append(sum(len(g.jobs) for g in self.gpus))
        oldest = self.queue.oldest()
        for lane, ages in r.tick_oldest.items():
            ages.append(now - oldest[lane] if lane in oldest else 0.0)
        a = self.autoscale
        if not a.enabled or now < self._cooldown_until:
            return
        fleet = alive + self._pending_gpus
        if fast_queue > a.up_queue_per_gpu * max(alive, 1):
            self._up_since = now if self._up_since is None else self._up_since
        else:
            self._up_since = None
        util = self.n_busy / max(alive, 1)
        if util < a.down_utilisation:
            self._low_since = now if self._low_since is None else self._low_since
        else:
            self._low_since = None
        if self._up_since is not None and now - self._up_since >= a.up_window_s and fleet < a.max_gpus:
            for _ in range(min(a.max_gpus - fleet, max(1, round(fleet * a.step)))):
                self._order_gpu(now)
            self._up_since, self._cooldown_until = None, now + a.cooldown_s
        elif self._low_since is not None and now - self._low_since >= a.down_window_s and fleet > a.min_gpus:
            idle = [g for g in self.gpus if g.alive and not g.jobs]
            for gpu in idle[: min(fleet - a.min_gpus, max(1, round(fleet * a.step)))]:
                self._release(gpu, now)
            self._low_since, self._cooldown_until = None, now + a.cooldown_s

    # --- the loop ----------------------------------------------------------------------------

    def _arrive(self, i: int, now: float) -> None:
        tr = self.trace
        self.counts["arrived"] += 1
        adversarial = self._adversarial[i]
        if adversarial and self._prefilter and self._catches[i]:
            self.counts["rejected"] += 1
            return
        job = SimJob(i, i, tr.lane[i], tr.tier[i], self._res[i], self.workload.images_per_job,
                     self._steps[i], now, self._user[i], adversarial, False)
        self.queue.push(job)

    def _arrive_followup(self, parent: SimJob, now: float) -> None:
        self.counts["arrived"] += 1
        wl = self.workload
        upscale = self.trace.followup_kind_u[parent.index] < wl.upscale_share
        jid = self.next_id
        self.next_id += 1
        job = SimJob(jid, parent.index, parent.lane, parent.tier,
                     len(RESOLUTIONS) - 1 if upscale else parent.res,
                     1 if upscale else parent.samples,
                     wl.upscale_steps if upscale else parent.steps,
                     now, parent.user, False, True)
        self.queue.push(job)

    def run(self, prefilter: bool = True) -> RunResult:
        """Simulate ``duration_s`` seconds and return the raw figures."""
        self._prefilter = prefilter
        tr = self.trace
        self._res = tr.res.tolist()
        self._steps = tr.steps.tolist()
        self._user = tr.user.tolist()
        self._adversarial = tr.adversarial.tolist()
        self._catches = tr.prefilter_catches.tolist()
        self._wants_followup = (tr.followup_u < self.workload.followup_fraction).tolist()
        self._think = tr.think_s.tolist()
        times = tr.time.tolist()
        for _ in range(self.fleet.gpus):
            self._add_gpu(0.0)
        for k, outage in enumerate(self.faults.outages):
            self._push(outage.start_s, EV_OUTAGE, k)
        t = self.tick_s
        while t <= self.duration_s + _EPS:
            self._push(t, EV_TICK)
            t += self.tick_s
        end = self.duration_s
        heap = self.heap
        free = self.free
        queue = self.queue
        n = len(times)
        i = 0
        while True:
            t_arr = times[i] if i < n else math.inf
            if heap and heap[0][0] <= t_arr:
                now, _, kind, obj, version = heapq.heappop(heap)
                if now > end:
                    break
                if kind == EV_GPU:
                    gpu = obj
                    if version == gpu.version and gpu.alive:  # type: ignore[union-attr]
                        self._on_gpu(gpu, now)  # type: ignore[arg-type]
                else:
                    self._on_event(kind, obj, version, now)
            else:
                if t_arr > end:
                    break
                self._arrive(i, t_arr)
                i += 1
                now = t_arr
            if free and queue.size:
                self._dispatch(now)
        return self._finish(end)

    def _on_event(self, kind: int, obj: object, version: int, now: float) -> None:
        if kind == EV_FOLLOWUP:
            self._arrive_followup(obj, now)  # type: ignore[arg-type]
        elif kind == EV_TICK:
            self._on_tick(now)
        elif kind == EV_DETECT:
            gpu: Gpu = obj  # type: ignore[assignment]
            self._requeue_held(gpu, now)
            self._push(now + self.faults.restart_s, EV_UP, gpu, gpu.epoch)
        elif kind == EV_UP:
            gpu = obj  # type: ignore[assignment]
            if not gpu.released and gpu.epoch == version:
                self._revive(gpu, now)
        elif kind == EV_READY:
            self._pending_gpus -= 1
            self.n_billed -= 1  # _add_gpu bills it again
            self._add_gpu(now)
        elif kind == EV_OUTAGE:
            self._on_outage(obj, now)  # type: ignore[arg-type]
        elif kind == EV_OUTAGE_DETECT:
            self._on_outage_detect(obj, now)  # type: ignore[arg-type]
        elif kind == EV_OUTAGE_END:
            self._on_outage_end(obj, now)  # type: ignore[arg-type]

    def _finish(self, end: float) -> RunResult:
        self._integrate(end)
        for gpu in self.gpus:
            if gpu.alive:
                self._advance(gpu, end)
        r = self.result
        running = sum(len(g.jobs) for g in self.gpus)
        held = sum(len(g.held) for g in self.gpus)
        r.counts = {**self.counts, "queued": len(self.queue), "running": running, "held": held}
        r.queued_oldest = {lane: end - t for lane, t in self.queue.oldest().items()}
        return r


def simulate(trace: Trace, workload: Workload, profile: ServiceProfile, queue: str, duration_s: float,
             *, prefilter: bool = True, **kwargs: object) -> RunResult:
    """Run one queue discipline over ``trace`` (see :class:`Simulation` for the keywords)."""
    return Simulation(trace, workload, profile, queue, duration_s, **kwargs).run(prefilter)  # type: ignore[arg-type]


def percentiles(values: list[float] | np.ndarray) -> dict[str, float]:
    """p50 / p95 / p99 of ``values`` (zeros when empty)."""
    if len(values) == 0:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0}
    p50, p95, p99 = np.percentile(np.asarray(values, dtype=float), [50, 95, 99])
    return {"p50": round(float(p50), 3), "p95": round(float(p95), 3), "p99": round(float(p99), 3)}
