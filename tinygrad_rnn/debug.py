"""Watching autograd work: step-by-step backward tracing and anomaly detection.

Both plug into the engine's ``autograd.watch`` hooks while their ``with`` block runs and cost
nothing outside it.

    with tg.autograd.trace_backward():        # print every node as backward processes it
        loss.backward()

    with tg.autograd.detect_anomaly():        # the first op making nan/inf raises, naming itself
        loss = model(x).log().sum()            # ... and the file:line of the code that called it
        loss.backward()
"""
from __future__ import annotations

import os
import sys
import threading

import numpy as np

from . import autograd
from .autograd import op_name

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_lock = threading.Lock()


def user_site() -> str:
    """``file:line in function`` of the innermost caller outside this package."""
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    return f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"


def _shapes(items):
    parts = []
    for a in items:
        data = getattr(a, "array", None)
        if data is not None and hasattr(data, "shape"):
            parts.append(f"{tuple(data.shape)} {data.dtype}")
    return ", ".join(parts) or "none"


def _array(g):
    """A gradient as an array: backward passes raw arrays, or Tensors under create_graph."""
    if isinstance(g, autograd.Function._tensor_cls):
        return g.array
    return np.asarray(g) if isinstance(g, np.generic) else g


def _non_finite(array):
    """None when every entry is finite, else a short description ("nan at 2 of 6 entries")."""
    if array.dtype.kind != "f" or array.size == 0:
        return None
    xp = autograd.get_array_module(array)
    bad = ~xp.isfinite(array)
    n = int(bad.sum())
    if n == 0:
        return None
    kinds = [k for k, test in (("nan", xp.isnan), ("inf", xp.isinf)) if bool(test(array).any())]
    return f"{' and '.join(kinds)} at {n} of {array.size} entries"


def _in_backward() -> bool:
    frame = sys._getframe(2)
    code = autograd.run_backward.__code__
    while frame is not None:
        if frame.f_code is code:
            return True
        frame = frame.f_back
    return False


class _Hooked:
    """Install hooks on ``autograd.watch`` for the duration of a ``with`` block (one at a time per
    hook; nested use of the same tool keeps the outer one)."""
    _slots = ()

    def __enter__(self):
        with _lock:
            self._saved = {k: getattr(autograd.watch, k) for k in self._slots}
            for k in self._slots:
                setattr(autograd.watch, k, getattr(self, "_" + k))
        return self

    def __exit__(self, *exc):
        with _lock:
            for k, v in self._saved.items():
                setattr(autograd.watch, k, v)

    def __call__(self, fn):             # usable as a decorator, like no_grad
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)(**self._options):
                return fn(*args, **kwargs)
        return wrapper


# ----------------------------------------------------------------------------- anomaly detection

class AnomalyError(RuntimeError):
    """A non-finite value appeared; the message names the op, where it was created and its inputs."""


class detect_anomaly(_Hooked):
    """Raise at the first op whose forward output, or whose backward gradient, is nan or inf.

    The error names the op, the ``file:line`` of your code that created it, and its input shapes.
    ``check_nan=False`` keeps the creation sites (for messages) but checks nothing. Slow: it looks
    at every value; use it to find a bug, not for training.
    """
    _slots = ("forward", "node")

    def __init__(self, check_nan=True):
        self.check_nan = check_nan
        self._options = {"check_nan": check_nan}

    def _forward(self, cls, args, outs, ctx):
        if _in_backward():      # ops inside a backward formula: the node check names the op
            return
        site = user_site()
        if ctx is not None:
            ctx._site, ctx._input_shapes = site, _shapes(args)
        if not self.check_nan:
            return
        for i, o in enumerate(outs):
            what = _non_finite(o.array)
            if what is not None:
                raise AnomalyError(
                    f"detect_anomaly: {op_name(cls)} produced non-finite values in its forward output "
                    f"{i} ({what}); called at {site}; inputs: {_shapes(args)}")

    def _node(self, node, grads_out, grads_in):
        if not self.check_nan:
            return
        for i, g in enumerate(grads_in):
            if g is None:
                continue
            what = _non_finite(_array(g))
            if what is not None:
                site = getattr(node, "_site", "<created before detect_anomaly was on>")
                shapes = getattr(node, "_input_shapes", "unknown")
                raise AnomalyError(
                    f"detect_anomaly: {op_name(type(node))} backward returned non-finite values in "
                    f"the gradient of its input {i} ({what}); the op was created at {site}; "
                    f"inputs: {shapes}")


_global_anomaly = None


def set_detect_anomaly(mode: bool, check_nan: bool = True):
    """Turn anomaly detection on or off outside a ``with`` block (PyTorch's name)."""
    global _global_anomaly
    if mode and _global_anomaly is None:
        _global_anomaly = detect_anomaly(check_nan)
        _global_anomaly.__enter__()
    elif not mode and _global_anomaly is not None:
        _global_anomaly.__exit__(None, None, None)
        _global_anomaly = None


def is_anomaly_enabled() -> bool:
    return isinstance(getattr(autograd.watch.forward, "__self__", None), detect_anomaly)


# ----------------------------------------------------------------------------- tracing backward

def _describe(g, values):
    data = _array(g)
    text = f"{tuple(data.shape)}"
    if values:
        from . import backend
        arr = backend.to_numpy(data)
        text += " " + (str(backend.rounded(arr)) if arr.size <= 8 else f"[{arr.size} values]")
    return text


class trace_backward(_Hooked):
    """Print each graph node as backward processes it: its order, name, generation, the gradient
    it receives for each output and the gradients it passes to each input; then what each leaf
    receives. ``values=True`` prints small gradients' values too. ``file``: where to print
    (default stdout). Example output::

        backward step 1: SumBackward (generation 3) got (); passes (2, 3) to input 0
        backward step 2: MulBackward (generation 2) got (2, 3); passes (2, 3) to input 0, (2, 3) to input 1
        leaf (2, 3) float32 receives (2, 3)
    """
    _slots = ("node", "leaf")

    def __init__(self, values=False, file=None):
        self.values, self.file, self.step = values, file, 0
        self._options = {"values": values, "file": file}

    def _print(self, text):
        print(text, file=self.file if self.file is not None else sys.stdout)

    def _node(self, node, grads_out, grads_in):
        self.step += 1
        got = ", ".join(_describe(g, self.values) for g in grads_out)
        passes = ", ".join(f"{_describe(g, self.values)} to input {i}"
                           for i, (g, e) in enumerate(zip(grads_in, node._edges))
                           if g is not None and e is not None) or "nothing"
        self._print(f"backward step {self.step}: {type(node).__name__}Backward (generation "
                    f"{node._generation}) got {got}; "
                    f"passes {passes}")

    def _leaf(self, leaf, g):
        self._print(f"leaf {tuple(leaf.shape)} {leaf.dtype} receives {_describe(g, self.values)}")
