"""The named scenarios of ``pixelmill simulate`` and the side-by-side runner.

Every scenario draws ONE arrival trace from its seed and replays it through each queue
discipline (fifo, strict, pixelmill) and each of its variants (checkpointing on/off, quick/slow
outage detection, pre-filter on/off, autoscaling off/on), so the figures differ only by the
thing compared.
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace

from pixelmill.sim.fleet import AutoscaleConfig, FaultConfig, FleetConfig, Outage
from pixelmill.sim.metrics import series, summarise
from pixelmill.sim.profile import ServiceProfile, load_profile
from pixelmill.sim.queues import POLICIES
from pixelmill.sim.simulator import RunResult, Simulation
from pixelmill.sim.workload import Spike, Trace, Workload, generate_trace


@dataclass(frozen=True)
class Variant:
    """One configuration a scenario compares (the first variant is the headline one)."""

    name: str
    faults: FaultConfig = field(default_factory=FaultConfig)
    autoscale: AutoscaleConfig = field(default_factory=AutoscaleConfig)
    prefilter: bool = True


@dataclass(frozen=True)
class Scenario:
    """A named experiment: its workload, fleet, variants and the windows reported apart."""

    name: str
    description: str
    minutes: float
    workload: Workload
    fleet: FleetConfig
    variants: tuple[Variant, ...]
    windows: dict[str, tuple[float, float]] = field(default_factory=dict)


def _scenarios() -> dict[str, Scenario]:
    base = Workload()
    fleet = FleetConfig()
    spike = Spike(start_s=300.0, duration_s=900.0, multiplier=4.0, tiers=("paid",))
    outage_at, outage_for = 300.0, 1800.0
    return {
        "baseline": Scenario(
            "baseline", "1200 GPUs, 100 jobs/s at the daily peak, no faults.", 20, base, fleet,
            (Variant("baseline"),)),
        "paid-spike": Scenario(
            "paid-spike", "A viral surge: paid-tier arrivals x4 for 15 minutes from minute 5; "
            "autoscaling off (headline) and on.", 30, replace(base, spikes=(spike,)), fleet,
            (Variant("autoscale_off"), Variant("autoscale_on", autoscale=AutoscaleConfig(enabled=True))),
            {"spike": (spike.start_s, spike.start_s + spike.duration_s)}),
        "outage": Scenario(
            "outage", "50% of the GPUs vanish at minute 5 for 30 minutes; the fleet notices after 2 "
            "minutes (headline) or 30 minutes and orders replacements (5 minutes to serve).", 45, base, fleet,
            tuple(Variant(f"detect_{m}min",
                          faults=FaultConfig(outages=(Outage(outage_at, outage_for, 0.5, m * 60.0),)))
                  for m in (2, 30)),
            {"outage": (outage_at, outage_at + outage_for)}),
        "instability": Scenario(
            "instability", "Each generation crashes its worker (and batch) with a probability rising "
            "from 1% to 5%; checkpoints every 10 steps (headline) vs restart from step 0.", 20, base, fleet,
            (Variant("checkpoint_on", faults=FaultConfig(0.01, 0.05, checkpoint_every=10)),
             Variant("checkpoint_off", faults=FaultConfig(0.01, 0.05, checkpoint_every=0)))),
        "adversarial": Scenario(
            "adversarial", "2% of arrivals are abusive prompts at the most expensive shape; the "
            "pre-filter on (headline, 97% recall, the rest blocked after generation) vs off.", 20,
            replace(base, adversarial_fraction=0.02), fleet,
            (Variant("prefilter_on"), Variant("prefilter_off", prefilter=False))),
        "relax-fill": Scenario(
            "relax-fill", "Relax work far beyond idle capacity (70% of each tier's jobs are relax): "
            "relax should soak the idle GPUs without delaying the fast lanes.", 20,
            replace(base, mode_mix={"free": {"draft": 0.3, "relax": 0.7},
                                    "paid": {"fast": 0.25, "draft": 0.05, "relax": 0.7},
                                    "pro": {"fast": 0.2, "turbo": 0.05, "draft": 0.05, "relax": 0.7}},
                    rate_per_s=140.0), fleet,
            (Variant("relax_fill"),)),
    }


SCENARIOS: dict[str, Scenario] = _scenarios()


@dataclass
class ScenarioRun:
    """The report (JSON-ready) and the raw runs (variant -> policy -> result) for the plot."""

    report: dict[str, object]
    runs: dict[str, dict[str, RunResult]]
    scenario: Scenario


def get_scenario(name: str) -> Scenario:
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; choose one of: {', '.join(SCENARIOS)}")
    return SCENARIOS[name]


def run_scenario(name: str, *, minutes: float | None = None, seed: int = 0,
                 policies: tuple[str, ...] = POLICIES, gpus: int | None = None, rate: float | None = None,
                 autoscale: bool | None = None,
                 profile: str | ServiceProfile = "sd15-datacenter", workers: int = 1) -> ScenarioRun:
    """Run scenario ``name`` for every variant and policy over one seeded trace.

    ``minutes``, ``gpus`` and ``rate`` override the scenario's window, fleet size and base
    arrival rate; ``autoscale`` forces autoscaling on or off in every variant. ``workers`` > 1
    runs the (variant, policy) pairs in that many processes; the results are the same as with
    one (each run is deterministic and independent)."""
    sc = get_scenario(name)
    bad = [p for p in policies if p not in POLICIES]
    if bad:
        raise ValueError(f"unknown policies {bad}; use some of {', '.join(POLICIES)}")
    prof = profile if isinstance(profile, ServiceProfile) else load_profile(profile)
    duration = (minutes if minutes is not None else sc.minutes) * 60.0
    if duration <= 0:
        raise ValueError("the simulated window must be > 0 minutes")
    workload = sc.workload if rate is None else replace(sc.workload, rate_per_s=rate)
    fleet = sc.fleet if gpus is None else replace(sc.fleet, gpus=gpus)
    started = time.perf_counter()
    trace = generate_trace(workload, duration, seed)
    runs: dict[str, dict[str, RunResult]] = {}
    reports: dict[str, dict[str, object]] = {}
    windows = {k: (w0, min(w1, duration)) for k, (w0, w1) in sc.windows.items() if w0 < duration}
    jobs = []
    for variant in sc.variants:
        auto = variant.autoscale if autoscale is None else replace(variant.autoscale, enabled=autoscale)
        auto = replace(auto, max_gpus=max(auto.max_gpus, fleet.gpus), min_gpus=min(auto.min_gpus, fleet.gpus))
        for policy in policies:
            jobs.append(_Job(trace, workload, prof, policy, duration, fleet, variant.faults, auto, seed,
                             variant.prefilter))
    if workers > 1 and len(jobs) > 1:
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=ctx) as pool:
            results = list(pool.map(_run_job, jobs))
    else:
        results = [_run_job(job) for job in jobs]
    done = iter(results)
    for variant in sc.variants:
        runs[variant.name] = {}
        reports[variant.name] = {}
        for policy in policies:
            result = next(done)
            runs[variant.name][policy] = result
            summary = summarise(result, windows)
            if variant.faults.outages:
                summary["recovered_after_s"] = _recovery(result, variant.faults.outages[0].start_s,
                                                         fleet.gpus * fleet.slots)
            reports[variant.name][policy] = summary
    headline = sc.variants[0].name
    report: dict[str, object] = {
        "scenario": sc.name,
        "description": sc.description,
        "seed": seed,
        "simulated_s": duration,
        "arrivals": len(trace),
        "profile": {"name": prof.name, "source": prof.source},
        "fleet": {"gpus": fleet.gpus, "slots": fleet.slots, "price_per_gpu_hour": fleet.price_per_gpu_hour},
        "rate_per_s": workload.rate_per_s,
        "headline_variant": headline,
        "policies": reports[headline],
    }
    if len(sc.variants) > 1:
        report["variants"] = {v: {"policies": reports[v]} for v in reports}
    if name == "instability":
        report["waste_reduction"] = _ratio(reports, "checkpoint_off", "checkpoint_on", "pixelmill", policies)
        report["waste_reduction_by_policy"] = {
            p: _ratio(reports, "checkpoint_off", "checkpoint_on", p, policies) for p in policies}
    if name in ("baseline", "paid-spike") and "pixelmill" in policies:
        report["goals"] = _goals(reports[headline]["pixelmill"], "spike" if "spike" in windows else None)
    report["runtime_s"] = round(time.perf_counter() - started, 2)
    return ScenarioRun(report, runs, sc)


@dataclass(frozen=True)
class _Job:
    trace: Trace
    workload: Workload
    profile: ServiceProfile
    policy: str
    duration: float
    fleet: FleetConfig
    faults: FaultConfig
    autoscale: AutoscaleConfig
    seed: int
    prefilter: bool


def _run_job(job: _Job) -> RunResult:
    sim = Simulation(job.trace, job.workload, job.profile, job.policy, job.duration, fleet=job.fleet,
                     faults=job.faults, autoscale=job.autoscale, seed=job.seed)
    return sim.run(prefilter=job.prefilter)


def _ratio(reports: dict[str, dict[str, dict[str, object]]], off: str, on: str, policy: str,
           policies: tuple[str, ...]) -> float | None:
    if policy not in policies:
        return None
    w_off = float(reports[off][policy]["wasted_gpu_s"])  # type: ignore[arg-type]
    w_on = float(reports[on][policy]["wasted_gpu_s"])  # type: ignore[arg-type]
    return round(w_off / w_on, 2) if w_on > 0 else None


def _recovery(r: RunResult, start: float, slots: int) -> float | None:
    """Seconds from the outage's start until the backlog (every lane, relax included: under lanes,
    relax absorbs most of an outage) is back under max(5, 1% of the slots) after its peak;
    0 if it never rose above that, None if it had not recovered by the end of the window."""
    threshold = max(5.0, 0.01 * slots)
    after = [(t, q) for t, q in zip(r.tick_t, r.tick_backlog, strict=True) if t >= start]
    if not after or max(q for _, q in after) <= threshold:
        return 0.0
    peak = max(range(len(after)), key=lambda k: after[k][1])
    for t, q in after[peak:]:
        if q <= threshold:
            return round(t - start, 1)
    return None


def _goals(p: dict[str, object], spike: str | None) -> dict[str, object]:
    waits = p["queue_wait_s"]
    assert isinstance(waits, dict)
    free_p95 = waits["free"]["p95"]
    if spike:
        sp = p[spike]
        assert isinstance(sp, dict)
        free_p95 = sp["queue_wait_s"]["free"]["p95"]
    starvation = p["starvation"]
    assert isinstance(starvation, dict)
    util = float(p["utilisation"])  # type: ignore[arg-type]
    return {
        "pro_p95_wait_s": waits["pro"]["p95"], "pro_p95_under_5s": waits["pro"]["p95"] < 5.0,
        "free_p95_wait_s": free_p95, "free_p95_under_120s": free_p95 < 120.0,
        "starved_lanes": starvation["starved_lanes"], "no_lane_starves": not starvation["starved_lanes"],
        "utilisation": util, "utilisation_at_least_85pct": util >= 0.85,
    }


def plot_series(run: ScenarioRun, bucket_s: float | None = None) -> dict[str, dict[str, object]]:
    """The headline variant's per-policy time series (see :func:`pixelmill.sim.metrics.series`)."""
    headline = run.scenario.variants[0].name
    any_run = next(iter(run.runs[headline].values()))
    bucket = bucket_s or max(30.0, any_run.duration_s / 60)
    return {policy: series(r, bucket) for policy, r in run.runs[headline].items()}
