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
save leaves the previous checkpoint untouched, and the next save of the same file removes the
temporary file the killed one left (it is named after its host and process, see
``_remove_stale_temps``). The file gets the permissions ``open(path, "wb")`` would give it.

Loading checks every part of the metadata against what ``save`` writes: a damaged or crafted file
is a ``CheckpointError`` that names the file and what is wrong with it.
"""
from __future__ import annotations

import errno
import io
import json
import numbers
import os
import re
import socket
import stat

import numpy as np

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
        arr = backend.to_numpy(obj.array if isinstance(obj, Tensor) else obj)
        if arr.dtype.hasobject or arr.dtype.kind not in "biufcUS":
            raise CheckpointError(f"save: the array at {where} has dtype {arr.dtype}, which cannot be "
                                  "stored without pickle; use a numeric dtype")
        node["k"] = f"a{len(self.arrays)}"
        # np.asarray(order="C"), not np.ascontiguousarray: that one turns 0-d arrays into shape (1,)
        self.arrays[node["k"]] = np.asarray(arr, order="C")
        self._seen[key] = (obj, node)             # keep obj alive so its id is not reused
        return node

    def encode(self, obj, where="obj"):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, Tensor):
            return self._array(obj, {"t": "tensor", "rg": obj.requires_grad, "dev": str(obj.device)}, where)
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
    """Metadata nodes -> objects. Every node is checked against what ``_Encoder`` writes, so a
    crafted or damaged file is a ``CheckpointError`` naming the file and the fault, never a
    ``TypeError`` from deep inside."""

    def __init__(self, arrays, place, name):
        self.arrays, self.place, self.name = arrays, place, name
        self._made: dict[tuple, object] = {}      # shared entries come back as one object

    def bad(self, what):
        return CheckpointError(f"load: {self.name}: the checkpoint's metadata is damaged: {what}")

    def _entry(self, node, t, kinds):
        k = node.get("k")
        if not isinstance(k, str):
            raise self.bad(f"a {t} entry names its array with {k!r}, not a string")
        if k not in self.arrays:
            raise CheckpointError(f"load: {self.name}: the metadata refers to an array entry {k!r} "
                                  "that the archive does not contain (the file is damaged)")
        arr = self.arrays[k]
        if arr.dtype.kind not in kinds:
            raise self.bad(f"the {t} in array entry {k!r} has dtype {arr.dtype}")
        return k, arr

    def decode(self, node):
        if not isinstance(node, dict):
            if isinstance(node, list):      # the encoder tags every container
                raise self.bad("an untagged JSON list")
            return node
        t = node.get("t")
        if t in ("dict", "list", "tuple"):
            items = node.get("v")
            if not isinstance(items, list):
                raise self.bad(f"a {t} holds {type(items).__name__}, not a list of items")
            if t == "list":
                return [self.decode(v) for v in items]
            if t == "tuple":
                return tuple(self.decode(v) for v in items)
            out = {}
            for item in items:
                if (not isinstance(item, list) or len(item) != 2 or isinstance(item[0], bool)
                        or not isinstance(item[0], (str, int))):
                    raise self.bad(f"a dict item is {item!r:.80}, not a [str or int key, value] pair")
                out[item[0]] = self.decode(item[1])
            return out
        if t == "npscalar":
            _, arr = self._entry(node, "NumPy scalar", "biufc")
            if arr.ndim != 0:
                raise self.bad(f"a NumPy scalar has shape {arr.shape}")
            return arr[()]
        if t in ("tensor", "ndarray"):
            k, arr = self._entry(node, t, "biuf" if t == "tensor" else "biufcUS")
            if (t, k) not in self._made:
                self._made[t, k] = self._tensor(node, k, arr) if t == "tensor" else arr
            return self._made[t, k]
        raise CheckpointError(f"load: {self.name}: unknown entry kind {t!r} in the metadata "
                              "(a newer or damaged checkpoint?)")

    def _tensor(self, node, k, arr):
        dev, rg = node.get("dev", "cpu"), node.get("rg", False)   # files from before "dev": cpu
        if not isinstance(dev, str):
            raise self.bad(f"the tensor in entry {k!r} has device {dev!r}, not a string")
        if not isinstance(rg, bool):
            raise self.bad(f"the tensor in entry {k!r} has requires_grad {rg!r}, not true or false")
        if rg and arr.dtype.kind != "f":
            raise self.bad(f"the tensor in entry {k!r} has dtype {arr.dtype} and requires_grad "
                           "(only floating point tensors can)")
        device = self.place(dev)        # an unknown or unavailable device raises its own error
        return Tensor._from_data(backend.to_device(arr, device), requires_grad=rg, device=device)


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


# Temporary files are ".<target name>.<host>.<pid>.<random>.tmp", next to the target: the host and
# the pid say who writes it, so a later save can tell a leftover from a save in progress.
_HOST = re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname()) or "host"
_TEMP = re.compile(r"\.(?P<host>[A-Za-z0-9_-]+)\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp")


def _temp_prefix(path):
    return "." + os.path.basename(path)


def _remove_stale_temps(directory, path):
    """Remove the temporary files that saves of this same ``path`` left behind when their process
    was killed mid-save (``kill -9``, the out-of-memory killer): a full-size file nobody owns.

    A temporary file is stale when it was made on this machine (its host) by a process that no
    longer exists (its pid; ``os.kill(pid, 0)`` asks without sending anything). A writer that is
    alive (another process saving the same file right now, or a thread of this one) keeps its
    file; a pid reused by an unrelated process keeps it too, until that one ends: at worst a
    leftover, never a file removed under a writer. Temporary files of other targets, and those of
    other machines on a shared file system, are never touched. POSIX only: on Windows
    ``os.kill(pid, 0)`` would end the process.
    """
    if os.name != "posix":
        return
    prefix = _temp_prefix(path)
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if not name.startswith(prefix):
            continue
        m = _TEMP.fullmatch(name, len(prefix))
        if m is None or m["host"] != _HOST or _process_exists(int(m["pid"])):
            continue
        try:
            os.unlink(os.path.join(directory, name))
        except OSError:         # removed by another save meanwhile, or not ours to remove
            pass


def _process_exists(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):    # another user's process; or no such pid at all
        return True
    return True


def _create_temp(path, directory):
    """Open a new temporary file next to ``path``: (fd, name).

    Its permissions are those of a file ``open(path, "wb")`` would write: the target's own when it
    exists (a truncating open keeps them), else 0666 less the umask (the kernel applies it here,
    as for any new file; ``tempfile.mkstemp`` would make it 0600, unreadable to anyone else)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(directory, f"{_temp_prefix(path)}.{_HOST}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        except OSError as e:
            # Name what the user gave, not our hidden temporary file (as open(path, "wb") would).
            if e.errno == errno.ENOENT:
                why = f"save: the directory {os.path.dirname(path) or '.'!r} does not exist"
            else:
                why = f"save: cannot create a file in {os.path.dirname(path) or '.'!r}: {e.strerror}"
            raise type(e)(e.errno, why, path) from None
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except OSError:
            mode = None
        if mode is not None and hasattr(os, "fchmod"):
            try:
                os.fchmod(fd, mode)
            except OSError:
                pass
        return fd, tmp
    raise FileExistsError(errno.EEXIST, "save: could not find a free temporary file name", path)


def save(obj, path) -> None:
    """Write ``obj`` (nested dicts/lists/tuples of Tensors, arrays, numbers, strings, None) to ``path``.

    The file is replaced atomically: readers see the old checkpoint or the new one, never a mix.
    ``path`` is used exactly as given (no ``.npz`` suffix is added); it may also be an open binary
    file, which is written directly (no atomic replace). A new file gets the permissions any new
    file would (0666 less the umask); a replaced one keeps its own. Temporary files that earlier
    saves of ``path`` left behind when their process was killed are removed.
    """
    enc = _Encoder()
    root = enc.encode(obj)
    meta = json.dumps({"format": FORMAT, "version": VERSION, "root": root}).encode("utf-8")
    if hasattr(path, "write"):
        _write_archive(path, enc.arrays, meta)
        return
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "save: the path is a directory", path)
    directory = os.path.dirname(os.path.abspath(path))
    _remove_stale_temps(directory, path)
    fd, tmp = _create_temp(path, directory)
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

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")      # a zip archive (an empty one starts with the second)
_NOT_A_CHECKPOINT = "is not a tinygrad_rnn checkpoint"
_PICKLED = ("holds a pickled Python object{where}: tinygrad_rnn checkpoints never contain one (it is not a "
            "tinygrad_rnn checkpoint, or it was tampered with); it was not unpickled, since unpickling can "
            "run code")


def _what_is_it(magic: bytes) -> str:
    """Why a file whose first bytes are ``magic`` (not a zip archive) is no checkpoint."""
    if not magic:
        return "it is empty"
    if magic.startswith(b"\x93NUMPY"):
        return "it holds a single NumPy array (numpy.save), not an archive written by tinygrad_rnn.save"
    if magic[:1] == b"\x80":
        return ("it is a pickle file (pickle.dump, or an old-format torch.save); it was not unpickled, "
                "since unpickling can run code")
    return f"it is not a zip archive (it starts with {magic[:8]!r})"


def _read_archive(f, name) -> dict:
    # Look at the file before NumPy does: NumPy takes anything unknown for a pickle and answers with
    # advice about allow_pickle, which is the one thing a user must not do here.
    if not (hasattr(f, "seekable") and f.seekable()):
        f = io.BytesIO(f.read())
    start = f.tell()
    magic = f.read(8)
    f.seek(start)
    if magic[:4] not in _ZIP_MAGIC:
        raise CheckpointError(f"load: {name} {_NOT_A_CHECKPOINT}: {_what_is_it(magic)}")
    with np.load(f, allow_pickle=False) as archive:
        files = archive.files
        if META_KEY not in files:
            if any(k == "data.pkl" or k.endswith("/data.pkl") for k in files):
                raise CheckpointError(f"load: {name} {_NOT_A_CHECKPOINT}: it looks like a PyTorch checkpoint "
                                      "(torch.save); read it with torch.load and give tinygrad_rnn the "
                                      "tensors' .numpy() arrays")
            raise CheckpointError(f"load: {name} is a NumPy archive but {_NOT_A_CHECKPOINT} "
                                  f"(no {META_KEY!r} entry)")
        arrays = {}
        for k in files:
            try:
                arrays[k] = archive[k]
            except ValueError as e:
                if "pickle" in str(e):      # an object array: NumPy refused to unpickle it
                    raise CheckpointError(f"load: {name} " + _PICKLED.format(where=f" in entry {k!r}")) from None
                raise
        return arrays


def _placement(map_location):
    """map_location -> a function from the device a tensor was saved on (a string) to its Device."""
    if map_location is None:
        cpu = backend.device("cpu")
        return lambda saved: cpu
    if isinstance(map_location, dict):
        table = {str(k): backend.device(str(v)) for k, v in map_location.items()}
        return lambda saved: table[saved] if saved in table else backend.device(saved)
    if callable(map_location):
        raise TypeError("load: map_location as a function is not supported; pass a device, a string such as "
                        "'cpu' or 'cuda:0', or a dict {saved device: new device}")
    # a Device, a string, or another library's device object whose str() is "cpu" / "cuda:0"
    target = map_location if isinstance(map_location, backend.Device) else backend.device(str(map_location))
    return lambda saved: target


def load(path, map_location=None, pickle_module=None, *, weights_only=None, mmap=None):
    """Read a checkpoint written by ``save``: the same structure, Tensors as Tensors, arrays as arrays.

    ``map_location`` says where Tensors go: a device (or a string such as ``"cuda:0"``) for all of
    them, or a dict ``{saved device: new device}`` (devices it does not name stay where they were
    saved); None puts every Tensor on the CPU. ``weights_only`` is accepted for PyTorch
    compatibility and changes nothing: loading never unpickles anything, so it is always
    weights-only. ``pickle_module`` must be None and ``mmap`` None or False.

    Raises ``CheckpointError`` naming the file when it is not a checkpoint (``... is not a
    tinygrad_rnn checkpoint: it is a pickle file ...``), is truncated or corrupted, or holds
    pickled objects (which are never unpickled).
    """
    if pickle_module is not None:
        raise ValueError("load: pickle_module must be None: tinygrad_rnn checkpoints never use pickle")
    if mmap:
        raise ValueError("load: mmap=True is not supported; checkpoints are read into memory")
    name = repr(os.fspath(path)) if not hasattr(path, "read") else repr(getattr(path, "name", path))
    place = _placement(map_location)
    try:
        if hasattr(path, "read"):
            arrays = _read_archive(path, name)
        else:
            with open(path, "rb") as f:      # our own handle: closed even when numpy gives up midway
                arrays = _read_archive(f, name)
    except (FileNotFoundError, IsADirectoryError, PermissionError, CheckpointError):
        raise
    except Exception as e:      # zipfile/npy/struct/zlib errors: all mean a damaged file
        if "allow_pickle" in str(e):        # never pass on NumPy's advice to allow pickles
            raise CheckpointError(f"load: {name} " + _PICKLED.format(where="")) from None
        raise CheckpointError(f"load: {name} is not a readable tinygrad_rnn checkpoint "
                              f"(truncated, corrupted, or not written by tinygrad_rnn.save): "
                              f"{type(e).__name__}: {e}") from e
    meta = arrays.pop(META_KEY, None)
    if meta is None:
        raise CheckpointError(f"load: {name} is a NumPy archive but not a tinygrad_rnn checkpoint "
                              f"(no {META_KEY!r} entry)")
    root = _read_header(meta, name)
    try:
        return _Decoder(arrays, place, name).decode(root)
    except RecursionError:
        raise CheckpointError(f"load: {name}: the checkpoint's metadata is damaged: it is nested "
                              "too deeply to read") from None


def _read_header(meta, name):
    """The ``__checkpoint__`` entry -> the root node, after checking the format and version."""
    def bad(what):
        return CheckpointError(f"load: {name}: the checkpoint's metadata is damaged: {what}")

    if meta.dtype != np.uint8 or meta.ndim != 1:
        raise bad(f"the {META_KEY!r} entry holds {meta.dtype} of shape {meta.shape}, not UTF-8 JSON bytes")
    try:
        header = json.loads(meta.tobytes().decode("utf-8"))
    except RecursionError:          # json gives up on very deep nesting
        raise bad("it is nested too deeply to read") from None
    except ValueError as e:         # not UTF-8, or not JSON
        raise bad(f"{type(e).__name__}: {e}") from None
    if not isinstance(header, dict):
        raise bad(f"it is a JSON {type(header).__name__}, not an object")
    version = header.get("version")
    if header.get("format") != FORMAT or isinstance(version, bool) or not isinstance(version, int) \
            or not 1 <= version <= VERSION:
        raise CheckpointError(f"load: {name}: unsupported checkpoint format {header.get('format')!r:.80} "
                              f"version {version!r:.80} (this reader knows {FORMAT} version {VERSION})")
    if "root" not in header:
        raise bad("it has no 'root' entry")
    return header["root"]
