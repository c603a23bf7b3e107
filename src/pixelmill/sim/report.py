"""The human-readable summary ``pixelmill simulate`` prints without ``--json``."""

from __future__ import annotations

LANES_SHOWN: tuple[str, ...] = ("turbo", "pro", "paid", "free", "relax")


def format_table(report: dict[str, object]) -> str:
    """A few lines per variant and policy: p95 waits by lane, utilisation, cost, waste."""
    lines = [f"scenario {report['scenario']}: {report['description']}",
             f"simulated {float(report['simulated_s']) / 60:.0f} min, {report['arrivals']} arrivals, "  # type: ignore[arg-type]
             f"seed {report['seed']}, runtime {report['runtime_s']} s"]
    variants = report.get("variants") or {report["headline_variant"]: {"policies": report["policies"]}}
    for variant, body in variants.items():  # type: ignore[union-attr]
        lines.append(f"[{variant}]")
        lines.append(f"  {'policy':<10}" + "".join(f"{lane + ' p95':>11}" for lane in LANES_SHOWN)
                     + f"{'util':>7}{'$/image':>10}{'wasted GPU-s':>14}{'starved':>10}")
        for policy, p in body["policies"].items():
            waits = p["queue_wait_s"]
            lines.append(
                f"  {policy:<10}" + "".join(f"{waits[lane]['p95']:>11.2f}" for lane in LANES_SHOWN)
                + f"{p['utilisation']:>7.2f}{(p['cost_per_image_usd'] or 0):>10.5f}{p['wasted_gpu_s']:>14.0f}"
                + f"{','.join(p['starvation']['starved_lanes']) or '-':>10}")
    for key in ("goals", "waste_reduction"):
        if key in report:
            lines.append(f"{key}: {report[key]}")
    return "\n".join(lines)
