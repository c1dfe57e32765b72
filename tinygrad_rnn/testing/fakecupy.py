"""A CuPy stand-in for machines without a GPU: the ``"fake"`` device.

Its arrays hold NumPy arrays inside but behave like CuPy's towards the outside world:

* no implicit conversion to NumPy: ``numpy.asarray(a)`` raises TypeError (use ``a.get()``);
* mixing a fake array with a ``numpy.ndarray`` in an operator, ufunc or function raises TypeError;
* operators, ufuncs and NumPy functions work among fake arrays and Python/NumPy scalars, and their
  results are fake arrays again (a scalar result becomes a 0-d array, as on the GPU);
* the module object ``xp`` mirrors ``numpy``: ``xp.asarray``/``xp.array`` copy host arrays in,
  every other function rejects them.

Code that runs on ``"fake"`` therefore keeps its arrays on their device and asks the arrays' own
module for math, which is what CuPy needs. ``install()`` registers the device type::

    from tinygrad_rnn.testing import fakecupy
    fakecupy.install()
    x = tinygrad_rnn.ones(3, device="fake")

It checks interfaces, not speed or memory: everything still runs on the CPU.
"""
from __future__ import annotations

import types

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

NAME = "fake"

_HOST_ERROR = ("fakecupy: {what} got a numpy.ndarray; device arrays do not mix with host arrays "
               "(move it with xp.asarray(...) first, as CuPy requires)")


def _unwrap(obj, what):
    """Fake arrays -> their NumPy arrays (recursively in tuples/lists/dicts); host arrays -> TypeError."""
    if isinstance(obj, ndarray):
        return obj._a
    if isinstance(obj, np.ndarray):
        raise TypeError(_HOST_ERROR.format(what=what))
    if isinstance(obj, (tuple, list)):
        return type(obj)(_unwrap(o, what) for o in obj)
    if isinstance(obj, dict):
        return {k: _unwrap(v, what) for k, v in obj.items()}
    return obj


def _wrap(obj):
    """NumPy arrays and NumPy scalars -> fake arrays (recursively in tuples and lists)."""
    if isinstance(obj, np.ndarray):
        return ndarray(obj)
    if isinstance(obj, np.generic):
        return ndarray(np.asarray(obj))
    if isinstance(obj, tuple):
        items = [_wrap(o) for o in obj]
        return type(obj)(*items) if hasattr(obj, "_fields") else tuple(items)
    if isinstance(obj, list):
        return [_wrap(o) for o in obj]
    if isinstance(obj, (np.random.Generator, np.random.RandomState)):
        return _Proxy(obj)
    return obj


class _Proxy:
    """An object whose methods make arrays (a random generator): its results become fake arrays."""

    def __init__(self, obj):
        self._obj = obj

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        attr = getattr(self._obj, name)
        return _wrapped(attr, f"{type(self._obj).__name__}.{name}") if callable(attr) else _wrap(attr)


def _wrapped(fn, name):
    def call(*args, **kwargs):
        return _wrap(fn(*_unwrap(args, name), **_unwrap(kwargs, name)))
    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"Fake-device version of ``numpy.{name}``: fake arrays in, fake arrays out."
    return call


class ndarray(NDArrayOperatorsMixin):
    """A "device" array: a NumPy array that refuses to leave its device implicitly."""

    __slots__ = ("_a",)

    def __init__(self, a):
        if not isinstance(a, np.ndarray):
            raise TypeError(f"fakecupy.ndarray wraps a numpy.ndarray, got {type(a).__name__}")
        self._a = a

    # -- the boundary with NumPy
    def __array__(self, *args, **kwargs):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. "
                        "Please use `.get()` to construct a NumPy array explicitly.")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.get("out")
        if kwargs:
            kwargs = _unwrap(kwargs, ufunc.__name__)
        if method != "__call__":   # reduce, accumulate, outer, at (whose index may be a tuple)
            result = getattr(ufunc, method)(*_unwrap(inputs, f"{ufunc.__name__}.{method}"), **kwargs)
        else:
            args = []
            for x in inputs:   # the hot path of every operator: a plain loop, no recursion
                if type(x) is ndarray:
                    args.append(x._a)
                elif isinstance(x, np.ndarray):
                    raise TypeError(_HOST_ERROR.format(what=ufunc.__name__))
                else:
                    args.append(x)
            result = ufunc(*args, **kwargs)
        if out is not None:   # in-place: hand back the caller's own (fake) arrays
            return out[0] if len(out) == 1 else out
        return _wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        if any(issubclass(t, np.ndarray) for t in types):
            raise TypeError(_HOST_ERROR.format(what=f"numpy.{func.__name__}"))
        return _wrap(func(*_unwrap(args, func.__name__), **_unwrap(kwargs, func.__name__)))

    def get(self, stream=None, order="C", out=None):
        """Copy to the host: a new numpy.ndarray."""
        transfers["to_host"] += 1
        if out is not None:
            out[...] = self._a
            return out
        return np.array(self._a, order=order, copy=True)

    def set(self, arr):
        """Copy a host array into this one."""
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"fakecupy.ndarray.set: expected a numpy.ndarray, got {type(arr).__name__}")
        self._a[...] = arr

    # -- facts (plain properties: the common ones are read on every op)
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    strides = property(lambda self: self._a.strides)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    flags = property(lambda self: _Flags(self._a.flags))
    T = property(lambda self: ndarray(self._a.T))
    mT = property(lambda self: ndarray(np.swapaxes(self._a, -1, -2)))

    def __getattr__(self, name):
        # Dunders stay unforwarded: __array_interface__ & co would let NumPy convert silently.
        if name.startswith("_"):
            raise AttributeError(name)
        attr = getattr(self._a, name)
        return _wrapped(attr, f"ndarray.{name}") if callable(attr) else _wrap(attr)

    # -- Python protocols
    def __getitem__(self, index):
        return _wrap(self._a[_unwrap(index, "ndarray.__getitem__")])

    def __setitem__(self, index, value):
        self._a[_unwrap(index, "ndarray.__setitem__")] = _unwrap(value, "ndarray.__setitem__")

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self._a)))

    # Reading a value on the host (bool(), float(), int(), .item()) waits for the device and
    # copies it back: on a GPU it is a round trip like .get(), so it is counted as one.
    def __bool__(self):
        transfers["to_host"] += 1
        return bool(self._a)

    def __float__(self):
        transfers["to_host"] += 1
        return float(self._a)

    def __int__(self):
        transfers["to_host"] += 1
        return int(self._a)

    def __complex__(self):
        transfers["to_host"] += 1
        return complex(self._a)

    def __index__(self):
        transfers["to_host"] += 1
        return self._a.__index__()

    def item(self, *args):
        transfers["to_host"] += 1
        return self._a.item(*args)

    def tolist(self):
        transfers["to_host"] += 1
        return self._a.tolist()

    __hash__ = None   # mutable, and == is elementwise

    def __repr__(self):
        return "fake" + repr(self._a)

    def __str__(self):
        return str(self._a)

    def __copy__(self):
        return ndarray(self._a.copy())

    def __deepcopy__(self, memo):
        return ndarray(self._a.copy())

    def __reduce__(self):
        return (_from_host, (self._a.copy(),))


class _Flags:
    """CuPy's array flags: c_contiguous, f_contiguous, owndata, and (unlike NumPy's) no writeable."""
    __slots__ = ("c_contiguous", "f_contiguous", "owndata")

    def __init__(self, f):
        self.c_contiguous, self.f_contiguous, self.owndata = f.c_contiguous, f.f_contiguous, f.owndata

    def __getitem__(self, key):
        return getattr(self, {"C_CONTIGUOUS": "c_contiguous", "F_CONTIGUOUS": "f_contiguous",
                              "OWNDATA": "owndata"}[key])


def _from_host(a):
    return ndarray(np.array(a, copy=True))


# ----------------------------------------------------------------------------- counting copies

transfers = {"to_host": 0, "to_device": 0}   # copies between host and "device" since import


class count_transfers:
    """``with count_transfers() as c: ...`` then ``c.to_host`` / ``c.to_device``: how many copies
    crossed the host/device boundary inside the block (a GPU's PCIe round trips)."""

    def __enter__(self):
        self._start = dict(transfers)
        return self

    def __exit__(self, *exc):
        self.to_host = transfers["to_host"] - self._start["to_host"]
        self.to_device = transfers["to_device"] - self._start["to_device"]


# ----------------------------------------------------------------------------- the module

class _Ufunc:
    """A NumPy ufunc with its methods (``reduce``, ``at``, ...) on fake arrays."""

    def __init__(self, uf):
        self._uf = uf
        self.__name__ = uf.__name__
        self.nin, self.nout = uf.nin, uf.nout

    def __call__(self, *args, **kwargs):
        return self._uf(*args, **kwargs) if any(isinstance(a, ndarray) for a in args) else \
            _wrapped(self._uf, self.__name__)(*args, **kwargs)

    def __getattr__(self, method):
        if method.startswith("_"):
            raise AttributeError(method)
        return _wrapped(getattr(self._uf, method), f"{self.__name__}.{method}")

    def __repr__(self):
        return f"<fake ufunc {self.__name__!r}>"


# Things CuPy does not have: code that uses them would break on a GPU.
_MISSING = {"errstate", "seterr", "geterr", "seterrcall", "geterrcall", "frompyfunc"}


class _Module(types.ModuleType):
    """Mirrors a NumPy (sub)module: functions take and return fake arrays."""

    def __init__(self, name, source):
        super().__init__(name)
        self._source = source

    def __getattr__(self, name):
        if name.startswith("__") or name in _MISSING:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        attr = getattr(self._source, name)
        if isinstance(attr, types.ModuleType):
            wrapped = _Module(f"{self.__name__}.{name}", attr)
        elif isinstance(attr, np.ufunc):
            wrapped = _Ufunc(attr)
        elif isinstance(attr, type) or not callable(attr):
            wrapped = attr      # dtypes, scalar types, constants: shared with NumPy, as in CuPy
        else:
            wrapped = _wrapped(attr, name)
        setattr(self, name, wrapped)   # cache: the next lookup is a plain attribute read
        return wrapped


def _asarray(a, dtype=None, order=None, copy=None):
    """Host data (lists, scalars, numpy arrays) is copied in; fake arrays pass through."""
    if isinstance(a, ndarray):
        out = a._a if dtype is None else a._a.astype(dtype, copy=bool(copy))
        return ndarray(out.copy() if copy and out is a._a else out)
    transfers["to_device"] += 1
    return ndarray(np.array(_unwrap_host_ok(a), dtype=dtype, order=order or "K", copy=True))


def _array(a, dtype=None, copy=True, order="K", ndmin=0):
    if isinstance(a, ndarray):
        return ndarray(np.array(a._a, dtype=dtype, copy=copy, order=order, ndmin=ndmin))
    return ndarray(np.array(_unwrap_host_ok(a), dtype=dtype, copy=True, order=order, ndmin=ndmin))


def _unwrap_host_ok(obj):
    if isinstance(obj, ndarray):
        return obj._a
    if isinstance(obj, (tuple, list)):
        return type(obj)(_unwrap_host_ok(o) for o in obj)
    return obj


def _asnumpy(a, stream=None, order="C", out=None):
    """Like ``cupy.asnumpy``: a host copy of a fake array (host data passes through)."""
    return a.get(order=order, out=out) if isinstance(a, ndarray) else np.asarray(a, order=order)


def _scatter_add(target, index, values):
    """``target[index] += values`` with repeated indices adding up (``cupyx.scatter_add``)."""
    np.add.at(target._a, _unwrap(index, "_scatter_add"), _unwrap(values, "_scatter_add"))


xp = _Module("fakecupy", np)
xp.ndarray = ndarray
xp.asarray = _asarray
xp.array = _array
xp.asnumpy = _asnumpy
xp._scatter_add = _scatter_add
xp.get_array_module = lambda *arrays: xp if any(isinstance(a, ndarray) for a in arrays) else np


def install():
    """Register the ``"fake"`` device type (idempotent)."""
    from .. import backend
    if backend.is_device_type(NAME):
        return
    backend.register_device_type(NAME, load=lambda: xp, array_type=lambda: ndarray,
                                 to_host=lambda a: a.get(), from_host=lambda a, index: _asarray(a))
