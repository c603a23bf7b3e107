"""Fleet simulator: determinism, conservation, fair share, faults, and the CLI.

Small fleets and short windows (the fleet and the rate are scaled down together, 1200 GPUs at
100 jobs/s becoming 24 GPUs at 2 jobs/s), so each test runs in about a second.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import pytest

import pixelmill.scheduling as scheduling
from pixelmill.sim import (
    FaultConfig,
    FleetConfig,
    Outage,
    Simulation,
    Spike,
    Workload,
    generate_trace,
    load_profile,
    run_scenario,
)
from pixelmill.sim.profile import ProfileError, ServiceProfile
from pixelmill.sim.workload import TIERS

PROFILE = load_profile("sd15-datacenter")
SMALL = FleetConfig(gpus=24)
RATE = 2.0  # 100 jobs/s x 24/1200


def _run(policy: str, *, minutes: float = 10, seed: int = 1, workload: Workload | None = None,
         faults: FaultConfig | None = None, fleet: FleetConfig = SMALL, prefilter: bool = True):
    wl = workload or Workload(rate_per_s=RATE)
    trace = generate_trace(wl, minutes * 60, seed)
    sim = Simulation(trace, wl, PROFILE, policy, minutes * 60, fleet=fleet, faults=faults, seed=seed)
    return sim.run(prefilter=prefilter)


def test_same_seed_gives_the_same_run_and_another_seed_does_not():
    faults = FaultConfig(0.02, 0.02)
    a = _run("pixelmill", faults=faults)
    b = _run("pixelmill", faults=faults)
    c = _run("pixelmill", faults=faults, seed=2)
    assert a.wait_v == b.wait_v and a.e2e_v == b.e2e_v
    assert a.counts == b.counts and a.wasted_gpu_s == b.wasted_gpu_s
    assert a.counts != c.counts


@pytest.mark.parametrize("policy", ["fifo", "strict", "pixelmill"])
def test_every_job_is_accounted_for(policy):
    """Arrived = rejected + completed + blocked + failed + queued + running + held, with crashes,
    an outage, adversarial traffic and an overloaded fleet all in one run."""
    wl = Workload(rate_per_s=RATE * 1.6, adversarial_fraction=0.05)
    faults = FaultConfig(0.05, 0.2, checkpoint_every=10, max_attempts=2,
                         outages=(Outage(120.0, 120.0, 0.5, 30.0),))
    r = _run(policy, workload=wl, faults=faults, prefilter=False)
    c = r.counts
    assert c["crashes"] > 0 and c["blocked"] > 0 and c["failed"] > 0 and c["queued"] > 0
    assert c["arrived"] == (c["rejected"] + c["completed"] + c["blocked"] + c["failed"]
                            + c["queued"] + c["running"] + c["held"])
    assert sum(r.served_by_lane.values()) == c["completed"] + c["blocked"]


def _saturated_workload() -> Workload:
    """Only fast work of the three fair lanes, equal arrivals, about three times the capacity."""
    return Workload(rate_per_s=9.0, tier_mix={"free": 1 / 3, "paid": 1 / 3, "pro": 1 / 3},
                    mode_mix={"free": {"draft": 1.0}, "paid": {"draft": 1.0}, "pro": {"draft": 1.0}},
                    followup_fraction=0.0)


def test_pixelmill_splits_a_saturated_fleet_4_2_1_and_fifo_does_not():
    wl = _saturated_workload()
    lanes = _run("pixelmill", workload=wl).served_by_lane
    assert lanes["free"] > 100
    assert lanes["pro"] / lanes["free"] == pytest.approx(4.0, rel=0.15)
    assert lanes["paid"] / lanes["free"] == pytest.approx(2.0, rel=0.15)
    fifo = _run("fifo", workload=wl).served_by_lane
    assert fifo["pro"] / fifo["free"] == pytest.approx(1.0, rel=0.15)


def test_the_pixelmill_discipline_asks_the_real_lane_policy(monkeypatch):
    calls = []
    real = scheduling.LanePolicy.pick

    def spy(self, heads, lanes, now):
        head = real(self, heads, lanes, now)
        calls.append(head.lane)
        return head

    monkeypatch.setattr(scheduling.LanePolicy, "pick", spy)
    r = _run("pixelmill", minutes=3)
    claims = sum(len(v) for v in r.wait_v.values())
    assert claims > 100 and len(calls) == claims


def test_checkpointing_cuts_the_gpu_time_lost_to_crashes():
    on = _run("pixelmill", faults=FaultConfig(0.03, 0.03, checkpoint_every=10))
    off = _run("pixelmill", faults=FaultConfig(0.03, 0.03, checkpoint_every=0))
    assert on.counts["crashes"] > 20 and off.counts["crashes"] > 20
    assert off.wasted_gpu_s > 3 * on.wasted_gpu_s
    assert on.checkpoint_gpu_s > 0 and off.checkpoint_gpu_s == 0


def test_quick_outage_detection_recovers_sooner_than_slow():
    run = run_scenario("outage", minutes=45, gpus=24, rate=RATE, policies=("pixelmill",), seed=3)
    variants = run.report["variants"]
    quick = variants["detect_2min"]["policies"]["pixelmill"]
    slow = variants["detect_30min"]["policies"]["pixelmill"]
    assert quick["recovered_after_s"] is not None and quick["recovered_after_s"] > 0
    assert slow["recovered_after_s"] is None or quick["recovered_after_s"] + 600 < slow["recovered_after_s"]
    assert quick["outage"]["queue_wait_s"]["paid"]["p95"] < slow["outage"]["queue_wait_s"]["paid"]["p95"]


def test_lanes_protect_pro_during_a_paid_spike_where_fifo_does_not():
    wl = Workload(rate_per_s=RATE, spikes=(Spike(60.0, 300.0, 4.0, ("paid",)),))
    lanes = _run("pixelmill", minutes=6, workload=wl)
    fifo = _run("fifo", minutes=6, workload=wl)
    from pixelmill.sim.metrics import lane_waits
    pro_lanes = lane_waits(lanes, 60, 360)["pro"]["p95"]
    pro_fifo = lane_waits(fifo, 60, 360)["pro"]["p95"]
    assert pro_fifo > 30 and pro_lanes < 5


def test_bad_input_says_what_to_fix():
    with pytest.raises(ValueError, match="tier_mix"):
        generate_trace(Workload(tier_mix={"free": 0.5, "gold": 0.5}), 60, 0)
    with pytest.raises(ValueError, match="may not use"):
        generate_trace(Workload(mode_mix={**Workload().mode_mix, "free": {"turbo": 1.0}}), 60, 0)
    with pytest.raises(ProfileError, match="max_samples"):
        ServiceProfile.from_dict({"batch_sizes": [1], "step_ms": {}})
    with pytest.raises(ProfileError, match="unknown profile"):
        load_profile("no-such-profile")
    with pytest.raises(ValueError, match="unknown scenario"):
        run_scenario("sunny-day")
    with pytest.raises(ValueError, match="slots"):
        Simulation(generate_trace(Workload(rate_per_s=1), 10, 0), Workload(), PROFILE, "fifo", 10,
                   fleet=replace(SMALL, slots=5))


def test_trace_follows_the_mix_and_the_spike():
    wl = Workload(rate_per_s=50, spikes=(Spike(100.0, 100.0, 3.0, ("paid",)),))
    tr = generate_trace(wl, 300, 5)
    paid_in = sum(1 for t, tier in zip(tr.time, tr.tier, strict=True) if tier == "paid" and 100 <= t < 200)
    paid_out = sum(1 for t, tier in zip(tr.time, tr.tier, strict=True) if tier == "paid" and t < 100)
    assert paid_in / paid_out == pytest.approx(3.0, rel=0.15)
    shares = {t: tr.tier.count(t) / len(tr) for t in TIERS}
    assert shares["pro"] < shares["free"]


def test_cli_prints_the_report_and_writes_a_png(tmp_path):
    png = tmp_path / "spike.png"
    out = subprocess.run(
        [sys.executable, "-m", "pixelmill.cli", "simulate", "--scenario", "paid-spike", "--minutes", "4",
         "--gpus", "12", "--rate", "1", "--json", "--plot", str(png)],
        capture_output=True, text=True, timeout=120, check=True)
    report = json.loads(out.stdout)
    assert report["scenario"] == "paid-spike"
    assert set(report["policies"]) == {"fifo", "strict", "pixelmill"}
    for p in report["policies"].values():
        assert set(p["queue_wait_s"]) >= {"pro", "paid", "free", "relax"}
        assert set(p["queue_wait_s"]["pro"]) == {"p50", "p95", "p99"}
        for key in ("e2e_p95_s", "utilisation", "jobs_completed", "starvation", "cost_per_image_usd",
                    "wasted_gpu_s", "slo_attainment"):
            assert key in p
        assert 0.0 <= p["utilisation"] <= 1.0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = subprocess.run([sys.executable, "-m", "pixelmill.cli", "simulate", "--scenario", "nope"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "unknown scenario" in bad.stderr


def test_parallel_runs_give_the_same_report_as_serial():
    serial = run_scenario("instability", minutes=3, gpus=12, rate=1.0, seed=4)
    parallel = run_scenario("instability", minutes=3, gpus=12, rate=1.0, seed=4, workers=2)
    strip = ("runtime_s",)
    a = {k: v for k, v in serial.report.items() if k not in strip}
    b = {k: v for k, v in parallel.report.items() if k not in strip}
    assert a == b and a["waste_reduction"] is not None


def test_autoscaling_adds_gpus_under_a_surge_and_not_when_off():
    from pixelmill.sim import AutoscaleConfig

    wl = Workload(rate_per_s=RATE, spikes=(Spike(60.0, 900.0, 5.0, ("paid", "pro")),))
    trace = generate_trace(wl, 900, 6)
    on = Simulation(trace, wl, PROFILE, "pixelmill", 900, fleet=SMALL, seed=6,
                    autoscale=AutoscaleConfig(enabled=True, max_gpus=100)).run()
    off = Simulation(trace, wl, PROFILE, "pixelmill", 900, fleet=SMALL, seed=6).run()
    assert max(off.tick_alive) == SMALL.gpus
    assert max(on.tick_alive) > SMALL.gpus * 1.1
    assert on.tick_billed[-1] > off.tick_billed[-1]
