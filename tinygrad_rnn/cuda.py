"""``tinygrad_rnn.cuda``: is a GPU usable here? (PyTorch's ``torch.cuda.is_available`` and
``device_count``.)

CuPy is imported on the first call, never at ``import tinygrad_rnn``; without CuPy, without a
driver or without a GPU the answers are ``False`` and ``0``, never an exception.
"""
from __future__ import annotations

__all__ = ["device_count", "is_available", "synchronize"]


def device_count() -> int:
    """The number of GPUs CuPy can see (0 when CuPy, the driver or the GPU is missing)."""
    try:
        import cupy
        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:   # ImportError, CUDARuntimeError (no driver / no device), ...
        return 0


def is_available() -> bool:
    """True when at least one GPU can be used through CuPy."""
    return device_count() > 0


def synchronize(device=None) -> None:
    """Wait for all GPU work on ``device`` (default: the current one) to finish; for timing."""
    if not is_available():
        raise RuntimeError("cuda.synchronize: no GPU is available (CuPy or a CUDA device is missing)")
    import cupy
    from . import backend
    index = backend.device(device).index if device is not None else cupy.cuda.runtime.getDevice()
    with cupy.cuda.Device(index):
        cupy.cuda.Device(index).synchronize()
