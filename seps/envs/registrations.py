"""Lazy registrations of the adapter envs: importing seps imports none of rware, lbforaging or smacv2.

Every entry is a factory ``factory(num_envs=1, **kw) -> MultiAgentEnv``; every family maps its
argument to such a factory (``ENVS.get("gymnasium:rware-tiny-2ag-v2")(num_envs=4)``).
"""

from __future__ import annotations

from seps.registry import ENVS

# The coloured warehouse and fixed-level foraging run on numpy-vectorised simulators (seps/envs/warehouse.py,
# seps/envs/foraging.py); the rware / lbforaging-backed references they are proven equal to stay available
# as ``crware-ref-*`` / ``crware-ref:`` and ``lbf-12ag-3lvl-lbforaging``.
ENVS.register("bps-late-1", "seps.envs.bps_late:bps_late_1")
ENVS.register("crware-1", "seps.envs.warehouse:crware_1")
ENVS.register("crware-2", "seps.envs.warehouse:crware_2")
ENVS.register("crware-3", "seps.envs.warehouse:crware_3")
ENVS.register("crware-9ag-3c", "seps.envs.warehouse:crware_9ag_3c")
ENVS.register("crware-ref-1", "seps.envs.coloured_rware:crware_1")
ENVS.register("crware-ref-2", "seps.envs.coloured_rware:crware_2")
ENVS.register("crware-ref-3", "seps.envs.coloured_rware:crware_3")
ENVS.register("crware-ref-9ag-3c", "seps.envs.coloured_rware:crware_9ag_3c")
ENVS.register("lbf-12ag-3lvl", "seps.envs.foraging:lbf_12ag_3lvl")
ENVS.register("lbf-12ag-3lvl-lbforaging", "seps.envs.lbf:lbf_12ag_3lvl_lbforaging")
ENVS.register("smac-mmm2", "seps.envs.smac:make_mmm2")

ENVS.register_family("bps-late", "seps.envs.bps_late:bps_late_family")
ENVS.register_family("crware", "seps.envs.warehouse:crware_family")
ENVS.register_family("crware-ref", "seps.envs.coloured_rware:crware_family")
ENVS.register_family("lbf", "seps.envs.foraging:lbf_family")
ENVS.register_family("gymnasium", "seps.envs.gymnasium_adapter:gymnasium_family")
ENVS.register_family("pettingzoo", "seps.envs.pettingzoo_adapter:pettingzoo_family")
ENVS.register_family("smacv2", "seps.envs.smac:smacv2_family")
ENVS.register_family("vmas", "seps.envs.vmas:vmas_family")
