"""``tinygrad_rnn.accelerator``: the device-neutral "is there a GPU?" questions of PyTorch's
``torch.accelerator``. The one accelerator here is CUDA through CuPy (see ``tinygrad_rnn.cuda``).

    device = tg.accelerator.current_accelerator(check_available=True) or tg.device("cpu")
    model.to(device)

Nothing here imports CuPy at ``import tinygrad_rnn``, and no answer raises on a machine without
CuPy, a driver or a GPU.
"""
from __future__ import annotations

import importlib.util

from . import backend, cuda

__all__ = ["current_accelerator", "current_device_index", "device_count", "is_available",
           "synchronize"]


def current_accelerator(check_available: bool = False):
    """``device('cuda:0')`` when this installation can use a GPU at all (CuPy is installed: the
    counterpart of a PyTorch built with CUDA), else None. ``check_available=True`` also asks that a
    GPU really be usable now (``is_available()``)."""
    if importlib.util.find_spec("cupy") is None:
        return None
    if check_available and not is_available():
        return None
    return backend.Device("cuda")


def is_available() -> bool:
    """True when a GPU can be used now (CuPy, a driver and at least one device)."""
    return cuda.is_available()


def device_count() -> int:
    """How many GPUs can be used (0 without CuPy, a driver or a GPU)."""
    return cuda.device_count()


_NONE = "Cannot access accelerator device when none is available."


def current_device_index() -> int:
    """The index of the GPU that new CUDA arrays go to (CuPy's current device); RuntimeError when
    no GPU is usable, as in PyTorch."""
    if not is_available():
        raise RuntimeError(_NONE)
    import cupy
    return int(cupy.cuda.runtime.getDevice())


def synchronize(device=None) -> None:
    """Wait for all GPU work on ``device`` to finish (see ``cuda.synchronize``); RuntimeError
    when no GPU is usable, as in PyTorch."""
    if not is_available():
        raise RuntimeError(_NONE)
    cuda.synchronize(device)
