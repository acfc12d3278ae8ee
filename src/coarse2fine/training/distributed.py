"""Single process or torchrun / DDP: which rank am I, on which device, and how to finish.

torchrun sets RANK, LOCAL_RANK and WORLD_SIZE; without them the job is one process. The
backend follows the device: NCCL on GPUs, gloo on CPU (the CPU path is what the tests run).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Runtime:
    rank: int
    local_rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def pick_device(preference: str, local_rank: int = 0) -> torch.device:
    if preference == "cpu" or (preference == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was asked for but torch sees no CUDA device")
    return torch.device("cuda", local_rank % torch.cuda.device_count())


def start(preference: str = "auto") -> Runtime:
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = pick_device(preference, local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Runtime(rank, local_rank, world_size, device)


def barrier(runtime: Runtime) -> None:
    if runtime.distributed:
        dist.barrier()


def mean_across_ranks(values: dict[str, float], runtime: Runtime) -> dict[str, float]:
    """Averages logged terms over ranks so the log describes the whole global batch."""
    if not runtime.distributed or not values:
        return values
    keys = sorted(values)
    tensor = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=runtime.device)
    dist.all_reduce(tensor)
    tensor /= runtime.world_size
    return dict(zip(keys, tensor.tolist()))


def stop(runtime: Runtime) -> None:
    if runtime.distributed and dist.is_initialized():
        dist.destroy_process_group()
