"""Checkpoints: ``save(obj, path)`` and ``load(path)`` for nested dicts/lists of tensors and numbers.

``obj`` may nest dicts (str or int keys), lists and tuples of Tensors, NumPy arrays, NumPy scalars,
Python ints (any size), floats, bools, strings and None: enough for a model's and an optimizer's
``state_dict()``, a scheduler's, an epoch counter and ``tinygrad_rnn.get_rng_state()``.

The file format is plain NumPy ``.npz`` (a zip archive): every array or tensor is one ``.npy``
entry, and one more entry, ``__checkpoint__``, holds UTF-8 JSON (as a uint8 array) describing the
structure and pointing at the array entries by name. Loading uses ``numpy.load(allow_pickle=False)``
and ``json``, so opening a checkpoint can never run code from the file: one that contains a pickled
object is refused. The JSON keeps Python ints exact at any size (the RNG state holds 128-bit ints)
and floats exact (shortest round-trip repr, NaN and infinities included).

Saving is atomic: the archive is written to a temporary file in the target's directory, flushed
and fsynced, then renamed over the target with ``os.replace``. A crash or kill in the middle of a
save leaves the previous checkpoint untouched.
"""
from __future__ import annotations

import json
import numbers
import os
import tempfile

import numpy as np
from numpy.lib.npyio import NpzFile

from . import backend
from .tensor import Tensor

FORMAT = "tinygrad_rnn.checkpoint"
VERSION = 1
META_KEY = "__checkpoint__"


class CheckpointError(RuntimeError):
    """A file that is not a readable checkpoint, or an object that cannot be saved in one."""


# ----------------------------------------------------------------------------- structure -> JSON

class _Encoder:
    """Walks ``obj``: arrays go to ``self.arrays`` (name -> ndarray), the rest becomes JSON nodes.

    Containers and arrays become tagged JSON objects ({"t": ...}); ints, floats, strings, bools and
    None stay bare JSON values, so a bare JSON object in the metadata is always a tag.
    """

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}
        self._seen: dict[int, tuple] = {}      # id -> (object, node): a shared tensor is stored once

    def _array(self, obj, node, where):
        key = id(obj)
        if key in self._seen:
            return self._seen[key][1]
        arr = backend.to_numpy(obj.data if isinstance(obj, Tensor) else obj)
        if arr.dtype.hasobject or arr.dtype.kind not in "biufcUS":
            raise CheckpointError(f"save: the array at {where} has dtype {arr.dtype}, which cannot be "
                                  "stored without pickle; use a numeric dtype")
        node["k"] = f"a{len(self.arrays)}"
        self.arrays[node["k"]] = np.ascontiguousarray(arr)
        self._seen[key] = (obj, node)             # keep obj alive so its id is not reused
        return node

    def encode(self, obj, where="obj"):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, Tensor):
            return self._array(obj, {"t": "tensor", "rg": obj.requires_grad}, where)
        if isinstance(obj, np.ndarray) or backend.is_array(obj):
            return self._array(obj, {"t": "ndarray"}, where)
        if isinstance(obj, np.generic):
            if obj.dtype.kind not in "biufc":
                raise CheckpointError(f"save: the NumPy scalar at {where} has dtype {obj.dtype}, "
                                      "which cannot be stored")
            node = {"t": "npscalar", "k": f"a{len(self.arrays)}"}
            self.arrays[node["k"]] = np.asarray(obj)
            return node
        if isinstance(obj, numbers.Integral):
            return int(obj)
        if isinstance(obj, float):
            return obj
        if isinstance(obj, dict):
            items = []
            for k, v in obj.items():
                if isinstance(k, bool) or not isinstance(k, (str, int)):
                    raise CheckpointError(f"save: dict keys must be str or int, got {k!r} "
                                          f"({type(k).__name__}) at {where}")
                items.append([k, self.encode(v, f"{where}[{k!r}]")])
            return {"t": "dict", "v": items}
        if isinstance(obj, (list, tuple)):
            return {"t": "list" if isinstance(obj, list) else "tuple",
                    "v": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
        raise CheckpointError(f"save: cannot store an object of type {type(obj).__name__} at {where}; "
                              "checkpoints hold dicts, lists, tuples, Tensors, NumPy arrays, numbers, "
                              "strings, bools and None")


class _Decoder:
    def __init__(self, arrays, device, name):
        self.arrays, self.device, self.name = arrays, device, name
        self._made: dict[str, object] = {}        # shared entries come back as one object

    def _entry(self, node):
        k = node.get("k")
        if k not in self.arrays:
            raise CheckpointError(f"load: {self.name}: the metadata refers to an array entry {k!r} "
                                  "that the archive does not contain (the file is damaged)")
        return self.arrays[k]

    def decode(self, node):
        if not isinstance(node, dict):
            return node
        t = node.get("t")
        if t == "dict":
            return {k: self.decode(v) for k, v in node["v"]}
        if t == "list":
            return [self.decode(v) for v in node["v"]]
        if t == "tuple":
            return tuple(self.decode(v) for v in node["v"])
        if t == "npscalar":
            return self._entry(node)[()]
        if t in ("tensor", "ndarray"):
            if node["k"] in self._made:
                return self._made[node["k"]]
            arr = self._entry(node)
            out = arr if t == "ndarray" else Tensor(backend.to_device(arr, self.device),
                                                     requires_grad=node.get("rg", False),
                                                     device=self.device)
            self._made[node["k"]] = out
            return out
        raise CheckpointError(f"load: {self.name}: unknown entry kind {t!r} in the metadata "
                              "(a newer or damaged checkpoint?)")


# ----------------------------------------------------------------------------- writing

def _write_archive(f, arrays: dict, meta: bytes) -> None:
    """Write the .npz archive to the open binary file ``f`` (a seam the tests use to simulate crashes)."""
    np.savez(f, **{META_KEY: np.frombuffer(meta, dtype=np.uint8)}, **arrays)


def _fsync_dir(directory):
    # Make the rename itself durable; some systems (Windows) cannot open a directory.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save(obj, path) -> None:
    """Write ``obj`` (nested dicts/lists/tuples of Tensors, arrays, numbers, strings, None) to ``path``.

    The file is replaced atomically: readers see the old checkpoint or the new one, never a mix.
    ``path`` is used exactly as given (no ``.npz`` suffix is added); it may also be an open binary
    file, which is written directly (no atomic replace).
    """
    enc = _Encoder()
    root = enc.encode(obj)
    meta = json.dumps({"format": FORMAT, "version": VERSION, "root": root}).encode("utf-8")
    if hasattr(path, "write"):
        _write_archive(path, enc.arrays, meta)
        return
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            _write_archive(f, enc.arrays, meta)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


# ----------------------------------------------------------------------------- reading

def _read_archive(f, name) -> dict:
    archive = np.load(f, allow_pickle=False)
    if not isinstance(archive, NpzFile):
        raise CheckpointError(f"load: {name} holds a single NumPy array, not a checkpoint")
    with archive:
        return {k: archive[k] for k in archive.files}


def load(path, map_location=None):
    """Read a checkpoint written by ``save``: the same structure, Tensors as Tensors, arrays as arrays.

    Tensors are put on ``map_location`` (a device or string such as ``"cuda:0"``), or on the CPU
    when it is None. Raises ``CheckpointError`` naming the file when it is not a checkpoint, is
    truncated or corrupted, or holds pickled objects (which are never unpickled).
    """
    name = repr(os.fspath(path)) if not hasattr(path, "read") else repr(getattr(path, "name", path))
    device = backend.device(map_location if map_location is not None else "cpu")
    try:
        if hasattr(path, "read"):
            arrays = _read_archive(path, name)
        else:
            with open(path, "rb") as f:      # our own handle: closed even when numpy gives up midway
                arrays = _read_archive(f, name)
    except (FileNotFoundError, IsADirectoryError, PermissionError, CheckpointError):
        raise
    except Exception as e:      # zipfile/npy/struct/zlib errors: all mean a damaged file
        raise CheckpointError(f"load: {name} is not a readable tinygrad_rnn checkpoint "
                              f"(truncated, corrupted, or not written by tinygrad_rnn.save): "
                              f"{type(e).__name__}: {e}") from e
    meta = arrays.pop(META_KEY, None)
    if meta is None or meta.dtype != np.uint8 or meta.ndim != 1:
        raise CheckpointError(f"load: {name} is a NumPy archive but not a tinygrad_rnn checkpoint "
                              f"(no {META_KEY!r} entry)")
    try:
        header = json.loads(meta.tobytes().decode("utf-8"))
        root = header["root"]
    except (ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"load: {name}: the checkpoint's metadata is damaged ({e})") from e
    if header.get("format") != FORMAT or header.get("version", 0) > VERSION:
        raise CheckpointError(f"load: {name}: unsupported checkpoint format {header.get('format')!r} "
                              f"version {header.get('version')!r} (this reader knows {FORMAT} "
                              f"version {VERSION})")
    try:
        return _Decoder(arrays, device, name).decode(root)
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"load: {name}: the checkpoint's metadata is damaged "
                              f"({type(e).__name__}: {e})") from e
