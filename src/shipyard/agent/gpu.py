"""GPU discovery: NVIDIA devices through NVML, or a configured mock accelerator.

A machine without NVML (no driver, no GPU) simply has no GPUs. Mock devices exist so a
GPU-less machine can exercise GPU quotas; they are always reported with mock=True and
named "Mock GPU" wherever they show.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)
MOCK_MEMORY = 16 * 2**30


@dataclass(frozen=True)
class Gpu:
    index: int
    name: str
    memory: int
    mock: bool = False

    def report(self) -> dict[str, Any]:
        return {
            "kind": "cuda",
            "index": self.index,
            "name": self.name,
            "memory": self.memory,
            "mock": self.mock,
        }


def _nvml() -> Any:
    import pynvml  # noqa: PLC0415 - optional at run time: absent drivers are normal

    return pynvml


def detect(*, mock: int = 0) -> list[Gpu]:
    """The NVIDIA GPUs NVML sees, else `mock` mock devices (none by default)."""
    found = nvidia_gpus()
    if found:
        return found
    return [Gpu(index, "Mock GPU", MOCK_MEMORY, mock=True) for index in range(mock)]


def nvidia_gpus() -> list[Gpu]:
    try:
        nvml = _nvml()
        nvml.nvmlInit()
    except Exception as exc:
        log.info("no NVIDIA GPUs: %s", exc)
        return []
    try:
        gpus = []
        for index in range(nvml.nvmlDeviceGetCount()):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            name = nvml.nvmlDeviceGetName(handle)
            memory = nvml.nvmlDeviceGetMemoryInfo(handle).total
            gpus.append(Gpu(index, name if isinstance(name, str) else name.decode(), int(memory)))
        return gpus
    finally:
        nvml.nvmlShutdown()


def utilization(gpus: list[Gpu]) -> list[dict[str, Any]]:
    """Live use per GPU (percent busy, memory used); mock devices report zero, labelled."""
    if not gpus or gpus[0].mock:
        return [{"index": g.index, "util": 0, "mem_used": 0, "mock": True} for g in gpus]
    nvml = _nvml()
    nvml.nvmlInit()
    try:
        readings = []
        for gpu in gpus:
            handle = nvml.nvmlDeviceGetHandleByIndex(gpu.index)
            rates = nvml.nvmlDeviceGetUtilizationRates(handle)
            memory = nvml.nvmlDeviceGetMemoryInfo(handle)
            readings.append(
                {"index": gpu.index, "util": int(rates.gpu), "mem_used": int(memory.used)}
            )
        return readings
    finally:
        nvml.nvmlShutdown()
