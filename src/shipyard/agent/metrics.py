"""What the agent reports about its machine: capacity and live utilisation (psutil, NVML)."""

from __future__ import annotations

from typing import Any

import psutil

from shipyard.agent.gpu import Gpu, utilization
from shipyard.resources.slots import ResourceSlots


def capacity(gpus: list[Gpu], *, reserve_mem: int = 0) -> ResourceSlots:
    """Cores, memory (minus what is kept for the host) and GPUs this node offers."""
    cores = psutil.cpu_count(logical=True) or 1
    memory = max(0, psutil.virtual_memory().total - reserve_mem)
    return ResourceSlots({"cpu": cores, "mem": memory, "cuda.device": len(gpus)})


def live(gpus: list[Gpu]) -> dict[str, Any]:
    memory = psutil.virtual_memory()
    return {
        "cpu_percent": psutil.cpu_percent(interval=None),
        "mem_used": memory.total - memory.available,
        "mem_total": memory.total,
        "gpus": utilization(gpus),
    }
