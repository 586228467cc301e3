"""Active health probes (I/O): what to probe per instance, one probe, and the background prober.

    targets = list(probe_targets(config, ADAPTERS))     # jairouter.adapters.registry.ADAPTERS
    results = await probe_all(targets)                  # once, concurrently (`jairouter probe`)
    prober = Prober(targets); prober.start() ... await prober.stop()   # in the router

The state logic (rise/fall hysteresis, outlier ejection, circuit breaker) is pure and lives in
`jairouter.core.health` and `jairouter.core.breaker`.
"""

from jairouter.health.probe import ProbeResult, new_client, probe, probe_all
from jairouter.health.prober import Prober
from jairouter.health.target import Probeable, ProbeTarget, probe_target, probe_targets

__all__ = [
    "ProbeResult",
    "ProbeTarget",
    "Probeable",
    "Prober",
    "new_client",
    "probe",
    "probe_all",
    "probe_target",
    "probe_targets",
]
