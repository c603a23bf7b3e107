"""Fleet simulator: a discrete-event model of a GPU fleet serving pixelmill, driving the real
lane policy (:mod:`pixelmill.scheduling`). Entry points: :func:`run_scenario` (the named
scenarios of ``pixelmill simulate``) and :class:`Simulation` (one policy over one trace)."""

from pixelmill.sim.fleet import AutoscaleConfig, FaultConfig, FleetConfig, Outage
from pixelmill.sim.profile import ServiceProfile, load_profile
from pixelmill.sim.scenarios import SCENARIOS, ScenarioRun, run_scenario
from pixelmill.sim.simulator import RunResult, Simulation, simulate
from pixelmill.sim.workload import Spike, Trace, Workload, generate_trace

__all__ = [
    "SCENARIOS",
    "AutoscaleConfig",
    "FaultConfig",
    "FleetConfig",
    "Outage",
    "RunResult",
    "ScenarioRun",
    "ServiceProfile",
    "Simulation",
    "Spike",
    "Trace",
    "Workload",
    "generate_trace",
    "load_profile",
    "run_scenario",
    "simulate",
]
