"""Watching autograd work: step-by-step backward tracing and anomaly detection.

    with tg.autograd.trace_backward(names={"w": w}):   # print every node as backward processes it
        loss = (w * x).sum()                            # (made inside: each node's line is known)
        loss.backward()

    with tg.autograd.detect_anomaly():        # the first op making nan/inf raises, naming itself
        loss = model(x).log().sum()            # ... and the file:line of the code that called it
        loss.backward()

Both read the graph through its public API and plug into the engine's ``autograd.watch`` hooks
only while one of their ``with`` blocks is open; outside, the engine pays one attribute check per
op. While a tool is on, every op that records a node also records where your code created it (the
innermost ``file:line`` outside this package): a short frame walk and one dict entry per op, kept
as long as the node lives, read back with ``creation_site(node)``.
"""
from __future__ import annotations

import functools
import os
import sys
import threading
import weakref

import numpy as np

from . import autograd, backend
from .autograd import op_name
from .tensor import Tensor

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


# ============================================================================= the tools that are on

_lock = threading.Lock()
_active = ()            # the tools whose with-blocks are open, outermost first
_before = None          # the watch hooks that were there when the first tool came (still called)
_sites = weakref.WeakKeyDictionary()     # node -> (file, line, function, input shapes)
_in_package = {}        # file name -> whether it belongs to this package (a frame walk's cache)


def _start(tool):
    global _active, _before
    with _lock:
        if not _active:
            w = autograd.watch
            _before = (w.forward, w.node, w.leaf)
            w.forward, w.node, w.leaf = _on_forward, _on_node, _on_leaf
        _active = _active + (tool,)


def _stop(tool):
    global _active
    with _lock:
        _active = tuple(t for t in _active if t is not tool)
        if not _active:
            autograd.watch.forward, autograd.watch.node, autograd.watch.leaf = _before


def _in_backward() -> bool:
    """True while this thread runs a backward pass: ops made there belong to backward formulas."""
    return autograd.in_backward()


def _on_forward(cls, args, outs, ctx):
    if not _in_backward():
        if ctx is not None:
            _sites[ctx] = _caller() + (_shapes(args),)
        for tool in _active:
            tool._forward(cls, args, outs)
    if _before[0] is not None:
        _before[0](cls, args, outs, ctx)


def _on_node(node, grads_out, grads_in):
    for tool in _active:
        tool._node(node, grads_out, grads_in)
    if _before[1] is not None:
        _before[1](node, grads_out, grads_in)


def _on_leaf(leaf, grad):
    for tool in _active:
        tool._leaf(leaf, grad)
    if _before[2] is not None:
        _before[2](leaf, grad)


class _Tool:
    """A ``with`` block (or a decorator, like ``no_grad``) during which the tool is on."""
    _options = {}

    def __enter__(self):
        _start(self)
        return self

    def __exit__(self, *exc):
        _stop(self)

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)(**self._options):
                return fn(*args, **kwargs)
        return wrapper

    def _forward(self, cls, args, outs):
        pass

    def _node(self, node, grads_out, grads_in):
        pass

    def _leaf(self, leaf, grad):
        pass


# ============================================================================= where a node was made

def _caller():
    """``(file, line, function)`` of the innermost frame outside this package."""
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_code.co_filename
        inside = _in_package.get(name)
        if inside is None:
            inside = _in_package[name] = os.path.abspath(name).startswith(_PACKAGE_DIR)
        if not inside:
            return name, frame.f_lineno, frame.f_code.co_name
        frame = frame.f_back
    return "<unknown>", 0, "?"


def user_site() -> str:
    """``file:line in function`` of the innermost caller outside this package."""
    file, line, fn = _caller()
    return f"{file}:{line} in {fn}"


def creation_site(node, short=False):
    """Where your code created ``node`` (``file:line in function``; ``short``: ``file:line``
    with the file's base name), or None if no tool was on then."""
    site = _sites.get(node)
    if site is None:
        return None
    file, line, fn, _ = site
    return f"{os.path.basename(file)}:{line}" if short else f"{file}:{line} in {fn}"


def _shapes(items):
    return tuple((tuple(a.shape), a.dtype) for a in items if isinstance(a, Tensor))


def _shapes_text(shapes):
    return ", ".join(f"{shape} {dtype}" for shape, dtype in shapes) or "none"


# ============================================================================= anomaly detection

def _array(g):
    """A gradient as an array: backward passes raw arrays, or Tensors under create_graph."""
    if isinstance(g, Tensor):
        return g.array
    return np.asarray(g) if isinstance(g, np.generic) else g


def _non_finite(array):
    """None when every entry is finite, else a short description ("nan at 2 of 6 entries")."""
    if array.dtype.kind != "f" or array.size == 0:
        return None
    xp = backend.get_array_module(array)
    bad = ~xp.isfinite(array)
    n = int(bad.sum())
    if n == 0:
        return None
    kinds = [k for k, test in (("nan", xp.isnan), ("inf", xp.isinf)) if bool(test(array).any())]
    return f"{' and '.join(kinds)} at {n} of {array.size} entries"


class AnomalyError(RuntimeError):
    """A non-finite value appeared; the message names the op, where it was created and its inputs."""


class detect_anomaly(_Tool):
    """Raise at the first op whose forward output, or whose backward gradient, is nan or inf.

    The error names the op, the ``file:line`` of your code that created it, and its input shapes.
    ``check_nan=False`` keeps the creation sites (for messages) but checks nothing. Slow: it looks
    at every value; use it to find a bug, not for training.
    """

    def __init__(self, check_nan=True):
        self.check_nan = check_nan
        self._options = {"check_nan": check_nan}

    def _forward(self, cls, args, outs):
        if not self.check_nan:
            return
        for i, o in enumerate(outs):
            what = _non_finite(o.array)
            if what is not None:
                raise AnomalyError(
                    f"detect_anomaly: {op_name(cls)} produced non-finite values in its forward output "
                    f"{i} ({what}); called at {user_site()}; inputs: {_shapes_text(_shapes(args))}")

    def _node(self, node, grads_out, grads_in):
        if not self.check_nan:
            return
        for i, g in enumerate(grads_in):
            if g is None:
                continue
            what = _non_finite(_array(g))
            if what is not None:
                site = _sites.get(node)
                where = creation_site(node) or "<created before detect_anomaly was on>"
                shapes = _shapes_text(site[3]) if site is not None else "unknown"
                raise AnomalyError(
                    f"detect_anomaly: {node.op} backward returned non-finite values in the gradient "
                    f"of its input {i} ({what}); the op was created at {where}; inputs: {shapes}")


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
    return any(isinstance(t, detect_anomaly) for t in _active)


# ============================================================================= tracing backward

def _describe(g, values):
    data = _array(g)
    text = f"{tuple(data.shape)}"
    if values:
        arr = backend.to_numpy(data)
        text += " " + (str(backend.rounded(arr)) if arr.size <= 8 else f"[{arr.size} values]")
    return text


def _names_of(names):
    """``{id(tensor): name}`` from a dict, ``(name, tensor)`` pairs or a Module (as viz)."""
    if names is None:
        return {}
    if hasattr(names, "named_parameters"):
        names = names.named_parameters()
    return {id(t): n for n, t in (names.items() if isinstance(names, dict) else names)}


class trace_backward(_Tool):
    """Print each graph node as backward processes it: its order, name, generation, where your
    code created it (for ops made while the block was open), the gradient it receives for each
    output and the gradients it passes to each input; then what each leaf receives.

    ``names``: ``{name: tensor}``, ``(name, tensor)`` pairs (``model.named_parameters()``) or a
    Module, to name leaves and inputs. ``values=True`` prints small gradients' values too.
    ``file``: where to print (default stdout). Example output::

        backward step 1: SumBackward (generation 2, created at train.py:12) got (); passes (2, 3) to input 0
        backward step 2: MulBackward (generation 1, created at train.py:12) got (2, 3); passes (2, 3) to input 0 (w)
        leaf w (2, 3) float32 receives (2, 3)
    """

    def __init__(self, values=False, file=None, names=None):
        self.values, self.file, self.step = values, file, 0
        self.name_of = _names_of(names)
        self._options = {"values": values, "file": file, "names": names}

    def _print(self, text):
        print(text, file=self.file if self.file is not None else sys.stdout)

    def _input_name(self, src, slot):
        t = src if isinstance(src, Tensor) else src.outputs[slot]
        name = self.name_of.get(id(t)) if t is not None else None
        return f" ({name})" if name else ""

    def _node(self, node, grads_out, grads_in):
        self.step += 1
        got = ", ".join(_describe(g, self.values) for g in grads_out)
        inputs = zip(grads_in, node.inputs, node.input_slots)
        passes = ", ".join(f"{_describe(g, self.values)} to input {i}{self._input_name(src, slot)}"
                           for i, (g, src, slot) in enumerate(inputs)
                           if g is not None and src is not None) or "nothing"
        site = creation_site(node, short=True)
        where = f", created at {site}" if site else ""
        self._print(f"backward step {self.step}: {type(node).__name__}Backward (generation "
                    f"{node.generation}{where}) got {got}; passes {passes}")

    def _leaf(self, leaf, g):
        name = self.name_of.get(id(leaf))
        self._print(f"leaf {name + ' ' if name else ''}{tuple(leaf.shape)} {leaf.dtype} receives "
                    f"{_describe(g, self.values)}")
