"""Fleet, fault and autoscaling settings (plain data; the simulator reads them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outage:
    """``fraction`` of the GPUs alive at ``start_s`` vanish (a zone, a rack) until ``start_s +
    duration_s``. Their workers stop heartbeating; the fleet notices after ``detection_s``: the
    jobs they held go back to their lanes and replacements are ordered (ready after
    ``FaultConfig.replacement_s``). If the outage ends first, the GPUs come back then."""

    start_s: float
    duration_s: float
    fraction: float
    detection_s: float


@dataclass(frozen=True)
class FaultConfig:
    """Failures and recovery.

    - ``fail_prob_start`` / ``fail_prob_end``: probability that a generation crashes its GPU's
      worker (taking the whole batch down), ramping linearly over the run; the crash point is
      uniform over the generation's remaining steps.
    - ``checkpoint_every``: steps between checkpoints (0 = off: a crashed job restarts at step 0).
    - ``lease_s``: how long a crashed worker's jobs stay claimed (lease expiry) before requeue.
    - ``restart_s``: time until a crashed worker serves again.
    - ``replacement_s``: time to bring up a replacement GPU after an outage is detected (also the
      autoscaler's provisioning time).
    - ``max_attempts``: a job that crashed this many times ends FAILED.
    """

    fail_prob_start: float = 0.0
    fail_prob_end: float = 0.0
    checkpoint_every: int = 10
    lease_s: float = 15.0
    restart_s: float = 30.0
    replacement_s: float = 300.0
    max_attempts: int = 5
    outages: tuple[Outage, ...] = ()


@dataclass(frozen=True)
class AutoscaleConfig:
    """Scale up by ``step`` of the fleet when the fast lanes' average queue exceeds
    ``up_queue_per_gpu`` jobs per GPU for ``up_window_s``; scale down by ``step`` (idle GPUs only)
    when utilisation stays under ``down_utilisation`` for ``down_window_s``. New GPUs are ready
    after ``FaultConfig.replacement_s``; no decision for ``cooldown_s`` after one."""

    enabled: bool = False
    step: float = 0.15
    up_queue_per_gpu: float = 0.5
    up_window_s: float = 120.0
    down_utilisation: float = 0.6
    down_window_s: float = 900.0
    cooldown_s: float = 300.0
    min_gpus: int = 1
    max_gpus: int = 100_000


@dataclass(frozen=True)
class FleetConfig:
    """The fleet: ``gpus`` at start, ``slots`` jobs per GPU batch (continuous batching: a job
    joins or leaves at a step boundary), the price of a GPU-hour in dollars."""

    gpus: int = 1200
    slots: int = 4
    price_per_gpu_hour: float = 3.50

    def validate(self, max_samples: int, images_per_job: int) -> None:
        if self.gpus < 1:
            raise ValueError("gpus must be >= 1")
        if self.slots < 1 or self.slots * images_per_job > max_samples:
            raise ValueError(f"slots x images_per_job must be between 1 and the profile's max_samples "
                             f"({max_samples}); got {self.slots} x {images_per_job}")
