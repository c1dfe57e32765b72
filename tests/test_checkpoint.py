"""tinygrad_rnn.save / load: round trips that keep every shape and dtype bit for bit, load's
PyTorch-style arguments, safety (no code runs on load), damaged and foreign files (named as such,
never with NumPy's allow_pickle advice), atomic writes.
"""
import errno
import io
import json
import math
import os
import pickle
import signal
import stat
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_rnn as tg
from tinygrad_rnn import backend, nn, serialization
from tinygrad_rnn.serialization import CheckpointError

needs_sigkill = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")


def _roundtrip(obj, tmp_path, **kw):
    path = tmp_path / "ck.bin"
    tg.save(obj, path)
    return tg.load(path, **kw)


# ----------------------------------------------------------------------------- round trips

def test_python_values_round_trip_with_their_types(tmp_path):
    obj = {"epoch": 3, "lr": 0.1, "flag": True, "none": None, "name": "adam",
           7: (1, [2.5, "x"]), "nested": {"a": [], "b": ()}}
    out = _roundtrip(obj, tmp_path)
    assert out == obj
    assert isinstance(out[7], tuple) and isinstance(out[7][1], list) and out["flag"] is True
    assert list(out) == list(obj)                       # key order kept


def test_floats_round_trip_bit_exactly_including_nan_and_infinity(tmp_path):
    values = [0.1, 1 / 3, 5e-324, -0.0, math.inf, -math.inf, 1e308]
    out = _roundtrip({"v": values, "nan": math.nan}, tmp_path)
    assert [v.hex() for v in out["v"]] == [v.hex() for v in values]
    assert math.isnan(out["nan"])


def test_big_ints_round_trip_exactly(tmp_path):
    big = [2 ** 127 + 12345, -(2 ** 200) + 1, 2 ** 64]
    assert _roundtrip({"big": big}, tmp_path)["big"] == big


def test_rng_state_round_trip_continues_the_same_stream(tmp_path):
    tg.manual_seed(11)
    tg.rand(5)
    tg.save({"rng": tg.get_rng_state()}, tmp_path / "rng")
    expected = tg.rand(4).tolist()
    tg.manual_seed(0)
    tg.set_rng_state(tg.load(tmp_path / "rng")["rng"])
    assert tg.rand(4).tolist() == expected


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int8, np.int64, np.uint8,
                                   np.bool_])
def test_arrays_come_back_as_arrays_with_dtype_and_values(tmp_path, dtype):
    a = (np.arange(12).reshape(3, 4) % 3).astype(dtype)
    out = _roundtrip({"a": a}, tmp_path)["a"]
    assert type(out) is np.ndarray and out.dtype == dtype
    np.testing.assert_array_equal(out, a)


def test_tensors_come_back_as_tensors_with_dtype_and_requires_grad(tmp_path):
    w = tg.randn(3, 2, requires_grad=True)
    idx = tg.tensor([1, 2, 3])
    out = _roundtrip({"w": w, "i": idx}, tmp_path)
    assert isinstance(out["w"], tg.Tensor) and out["w"].requires_grad and out["w"].is_leaf
    assert out["i"].dtype == np.int64 and not out["i"].requires_grad
    np.testing.assert_array_equal(out["w"].numpy(), w.numpy())


def test_numpy_scalars_keep_their_dtype(tmp_path):
    out = _roundtrip([np.float32(1.5), np.int16(-3)], tmp_path)
    assert type(out[0]) is np.float32 and out[0] == 1.5
    assert type(out[1]) is np.int16 and out[1] == -3


def test_tensors_load_on_cpu_by_default_and_on_map_location(tmp_path, device):
    t = tg.arange(4.0, device=device)
    tg.save({"t": t}, tmp_path / "ck")
    assert tg.load(tmp_path / "ck")["t"].device == tg.device("cpu")
    moved = tg.load(tmp_path / "ck", map_location=device)["t"]
    assert moved.device == tg.device(device) and moved.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_a_tensor_saved_twice_is_stored_once_and_loads_as_one_object(tmp_path):
    w = tg.randn(100)
    tg.save({"a": w, "b": [w]}, tmp_path / "ck")
    with zipfile.ZipFile(tmp_path / "ck") as z:
        assert len(z.namelist()) == 2                      # one array + the metadata
    out = tg.load(tmp_path / "ck")
    assert out["a"] is out["b"][0]


def test_path_is_used_exactly_without_adding_a_suffix(tmp_path):
    tg.save({"x": 1}, tmp_path / "model.ckpt")
    assert os.listdir(tmp_path) == ["model.ckpt"]


def test_file_objects_can_be_written_and_read():
    buf = io.BytesIO()
    tg.save({"w": tg.ones(2)}, buf)
    buf.seek(0)
    assert tg.load(buf)["w"].tolist() == [1.0, 1.0]


def test_checkpoint_is_a_plain_npz_with_json_metadata(tmp_path):
    tg.save({"w": tg.ones(2), "step": 5}, tmp_path / "ck")
    with np.load(tmp_path / "ck", allow_pickle=False) as z:
        meta = z[serialization.META_KEY]
        assert meta.dtype == np.uint8
        assert '"step"' in meta.tobytes().decode()
        assert [k for k in z.files if k != serialization.META_KEY] == ["a0"]


# ----------------------------------------------------------------------------- what cannot be saved

def test_saving_an_unsupported_object_names_where_it_is(tmp_path):
    with pytest.raises(CheckpointError, match=r"type set at obj\['opt'\]\[1\]"):
        tg.save({"opt": [1, {2}]}, tmp_path / "ck")


def test_saving_object_arrays_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match="dtype object"):
        tg.save({"a": np.array([None, 1], dtype=object)}, tmp_path / "ck")


def test_saving_dict_keys_other_than_str_or_int_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match="keys must be str or int"):
        tg.save({(1, 2): 3}, tmp_path / "ck")


# ----------------------------------------------------------------------------- loading never runs code

class _Payload:
    """Unpickling this would create the file named in ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_checkpoint_with_a_pickled_object_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    meta = ('{"format": "tinygrad_rnn.checkpoint", "version": 1, "root": {"t": "ndarray", "k": "a0"}}')
    with open(tmp_path / "evil", "wb") as f:
        np.savez(f, __checkpoint__=np.frombuffer(meta.encode(), np.uint8),
                 a0=np.array([_Payload(str(marker))], dtype=object))
    with pytest.raises(CheckpointError, match="evil"):
        tg.load(tmp_path / "evil")
    assert not marker.exists()


def test_a_plain_pickle_file_is_refused_without_running_it(tmp_path):
    import pickle
    marker = tmp_path / "pwned"
    (tmp_path / "model.pkl").write_bytes(pickle.dumps({"w": _Payload(str(marker))}))
    with pytest.raises(CheckpointError, match="model.pkl"):
        tg.load(tmp_path / "model.pkl")
    assert not marker.exists()


# ----------------------------------------------------------------------------- damaged files

def _good(tmp_path):
    path = tmp_path / "ck"
    tg.save({"w": tg.tensor(np.arange(50_000, dtype=np.float32)), "step": 1}, path)
    return path, path.read_bytes()


def test_a_truncated_checkpoint_raises_an_error_naming_the_file(tmp_path):
    path, data = _good(tmp_path)
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"'.*ck' is not a readable .*checkpoint"):
        tg.load(path)


def test_a_corrupted_checkpoint_raises_an_error_naming_the_file(tmp_path):
    path, data = _good(tmp_path)
    damaged = bytearray(data)
    damaged[len(data) // 2] ^= 0xFF                        # one flipped byte inside the array data
    path.write_bytes(bytes(damaged))
    with pytest.raises(CheckpointError, match=r"ck.*CRC"):
        tg.load(path)


def test_an_npz_without_metadata_is_not_a_checkpoint(tmp_path):
    with open(tmp_path / "other.npz", "wb") as f:
        np.savez(f, x=np.zeros(3))
    with pytest.raises(CheckpointError, match=r"other.npz.*not a tinygrad_rnn checkpoint"):
        tg.load(tmp_path / "other.npz")


def test_metadata_pointing_at_a_missing_array_is_reported(tmp_path):
    meta = '{"format": "tinygrad_rnn.checkpoint", "version": 1, "root": {"t": "tensor", "k": "a7"}}'
    with open(tmp_path / "ck", "wb") as f:
        np.savez(f, __checkpoint__=np.frombuffer(meta.encode(), np.uint8))
    with pytest.raises(CheckpointError, match=r"ck.*'a7'.*does not contain"):
        tg.load(tmp_path / "ck")


def test_a_single_npy_array_is_not_a_checkpoint(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros(3))
    with pytest.raises(CheckpointError, match="x.npy"):
        tg.load(tmp_path / "x.npy")


def test_a_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        tg.load(tmp_path / "nope")


# Crafted metadata: each file is a valid zip archive holding the "__checkpoint__" entry (UTF-8 JSON
# as bytes, or what the row gives) and the arrays given; every one must be a CheckpointError that
# names the file and says what is wrong, never a TypeError or RecursionError from deep inside.
def _header(root, version=1, fmt="tinygrad_rnn.checkpoint"):
    return json.dumps({"format": fmt, "version": version, "root": root})


_F32 = {"a0": np.zeros(2, np.float32)}
CRAFTED = [
    # (what, metadata, arrays, the message says)
    ("version as a string", _header(1, version="1"), {},
     "unsupported checkpoint format 'tinygrad_rnn.checkpoint' version '1'"),
    ("version as a bool", _header(1, version=True), {}, "version True"),
    ("a newer version", _header(1, version=2), {}, "version 2 (this reader knows tinygrad_rnn.checkpoint version 1)"),
    ("no version", json.dumps({"format": "tinygrad_rnn.checkpoint", "root": 1}), {}, "version None"),
    ("another format", _header(1, fmt="other"), {}, "unsupported checkpoint format 'other'"),
    ("deeply nested JSON", '{"root": ' + "[" * 100_000 + "]" * 100_000 + "}", {}, "nested too deeply"),
    ("deeply nested entries", _header(1).replace('"root": 1', '"root": ' + '{"t": "list", "v": [' * 2000
                                                   + "1" + "]}" * 2000), {}, "nested too deeply"),
    ("not UTF-8", b"\xff\xfe{}", {}, "UnicodeDecodeError"),
    ("not JSON", "{", {}, "JSONDecodeError"),
    ("a JSON list", "[1, 2]", {}, "it is a JSON list, not an object"),
    ("no root", json.dumps({"format": "tinygrad_rnn.checkpoint", "version": 1}), {}, "no 'root' entry"),
    ("metadata as floats", np.zeros(3), {}, "holds float64 of shape (3,), not UTF-8 JSON bytes"),
    ("an untagged list", _header([1, 2]), {}, "an untagged JSON list"),
    ("dict items not a list", _header({"t": "dict", "v": 5}), {}, "a dict holds int, not a list of items"),
    ("a dict item of 3", _header({"t": "dict", "v": [[1, 2, 3]]}), {}, "not a [str or int key, value] pair"),
    ("a list as a dict key", _header({"t": "dict", "v": [[[1], 2]]}), {}, "not a [str or int key, value] pair"),
    ("an unknown kind", _header({"t": "set", "v": []}), {}, "unknown entry kind 'set'"),
    ("a list as an entry name", _header({"t": "tensor", "k": ["a0"]}), _F32, "names its array with ['a0']"),
    ("a number as a device", _header({"t": "tensor", "k": "a0", "dev": 5}), _F32, "has device 5, not a string"),
    ("requires_grad as a string", _header({"t": "tensor", "k": "a0", "rg": "yes"}), _F32,
     "has requires_grad 'yes', not true or false"),
    ("an int tensor requiring grad", _header({"t": "tensor", "k": "a0", "rg": True}), {"a0": np.arange(3)},
     "has dtype int64 and requires_grad"),
    ("a tensor of strings", _header({"t": "tensor", "k": "a0"}), {"a0": np.array(["x"])},
     "the tensor in array entry 'a0' has dtype <U1"),
    ("a structured array", _header({"t": "ndarray", "k": "a0"}), {"a0": np.zeros(2, [("f", "i4")])},
     "the ndarray in array entry 'a0' has dtype"),
    ("a NumPy scalar of shape (3,)", _header({"t": "npscalar", "k": "a0"}), {"a0": np.zeros(3)},
     "a NumPy scalar has shape (3,)"),
]


@pytest.mark.parametrize("meta, arrays, says", [c[1:] for c in CRAFTED], ids=[c[0] for c in CRAFTED])
def test_crafted_metadata_raises_checkpoint_error_naming_the_file_and_the_fault(tmp_path, meta, arrays, says):
    path = tmp_path / "crafted.ckpt"
    if isinstance(meta, str):
        meta = meta.encode()
    entry = np.frombuffer(meta, np.uint8) if isinstance(meta, bytes) else meta
    with open(path, "wb") as f:
        np.savez(f, __checkpoint__=entry, **arrays)
    with pytest.raises(CheckpointError) as e:
        tg.load(path)
    assert str(path) in str(e.value) and says in str(e.value), str(e.value)


# ----------------------------------------------------------------------------- where files go

@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077], ids=oct)
def test_a_new_checkpoint_gets_the_permissions_of_any_new_file(tmp_path, umask):
    old = os.umask(umask)
    try:
        open(tmp_path / "plain", "wb").close()           # the truth: a plainly created file
        tg.save({"w": tg.ones(2)}, tmp_path / "ck")
    finally:
        os.umask(old)
    expected = stat.S_IMODE(os.stat(tmp_path / "plain").st_mode)
    assert expected == 0o666 & ~umask
    assert stat.S_IMODE(os.stat(tmp_path / "ck").st_mode) == expected


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_a_replaced_checkpoint_keeps_its_permissions_like_a_truncating_open(tmp_path):
    tg.save({"step": 1}, tmp_path / "ck")
    os.chmod(tmp_path / "ck", 0o640)
    tg.save({"step": 2}, tmp_path / "ck")
    assert stat.S_IMODE(os.stat(tmp_path / "ck").st_mode) == 0o640
    assert tg.load(tmp_path / "ck")["step"] == 2


def test_saving_into_a_missing_directory_names_it_not_a_temporary_file(tmp_path):
    path = str(tmp_path / "no" / "such" / "ck")
    with pytest.raises(FileNotFoundError) as e:
        tg.save({"step": 1}, path)
    assert e.value.filename == path and e.value.errno == errno.ENOENT
    assert f"the directory {str(tmp_path / 'no' / 'such')!r} does not exist" in str(e.value)
    assert ".tmp" not in str(e.value)
    assert os.listdir(tmp_path) == []


def test_saving_onto_a_directory_is_an_error_naming_it(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(IsADirectoryError) as e:
        tg.save({"step": 1}, tmp_path / "d")
    assert e.value.filename == str(tmp_path / "d")
    assert os.listdir(tmp_path / "d") == [] and os.listdir(tmp_path) == ["d"]


# ----------------------------------------------------------------------------- atomic writes

def test_a_crash_mid_save_leaves_the_previous_checkpoint_and_no_temp_files(tmp_path, monkeypatch):
    path = tmp_path / "ck"
    tg.save({"step": 1, "w": tg.ones(1000)}, path)
    before = path.read_bytes()

    def crash_midway(f, arrays, meta):
        f.write(b"PK\x03\x04 half an archive")
        raise OSError("disk full (simulated)")
    monkeypatch.setattr(serialization, "_write_archive", crash_midway)
    with pytest.raises(OSError, match="simulated"):
        tg.save({"step": 2, "w": tg.zeros(1000)}, path)
    assert path.read_bytes() == before
    assert tg.load(path)["step"] == 1
    assert os.listdir(tmp_path) == ["ck"]


def _run_script(tmp_path, body):
    script = tmp_path / "writer.py"
    script.write_text(textwrap.dedent(body))
    return subprocess.Popen([sys.executable, str(script)], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _wait_for(proc, marker, timeout=30):
    end = time.monotonic() + timeout
    while not marker.exists():
        if proc.poll() is not None:
            raise AssertionError(f"writer exited early:\n{proc.stdout.read().decode()}")
        if time.monotonic() > end:
            proc.kill()
            proc.communicate()
            raise AssertionError("writer did not get going in time")
        time.sleep(0.01)


@pytest.mark.slow
@needs_sigkill
def test_sigkill_in_the_middle_of_a_write_leaves_the_previous_checkpoint(tmp_path):
    """The writer stalls halfway through writing the second checkpoint; we kill it right there."""
    proc = _run_script(tmp_path, """
        import time, numpy as np, tinygrad_rnn as tg
        from tinygrad_rnn import serialization
        tg.save({"step": 1, "w": np.full(1_000_000, 1.0)}, "ck")

        class Stalling:
            def __init__(self, f):
                self.f, self.n = f, 0
            def write(self, b):
                self.n += len(b)
                if self.n > 4_000_000:                       # half of the 8 MB array is written
                    open("midway", "w").close()
                    time.sleep(60)
                return self.f.write(b)
            def __getattr__(self, name):
                return getattr(self.f, name)

        real = serialization._write_archive
        serialization._write_archive = lambda f, arrays, meta: real(Stalling(f), arrays, meta)
        tg.save({"step": 2, "w": np.full(1_000_000, 2.0)}, "ck")
    """)
    _wait_for(proc, tmp_path / "midway")
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    leftovers = [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    assert leftovers, "the kill should have landed while the temporary file was being written"
    ck = tg.load(tmp_path / "ck")
    assert ck["step"] == 1 and np.all(ck["w"] == 1.0)


def _dead_pid():
    """The pid of a process that has ended (and been reaped)."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


@pytest.mark.slow
@needs_sigkill
def test_the_next_save_removes_the_temporary_file_of_a_killed_save_and_nothing_else(tmp_path):
    proc = _run_script(tmp_path, """
        import time, numpy as np, tinygrad_rnn as tg
        from tinygrad_rnn import serialization

        class Stalling:
            def __init__(self, f):
                self.f, self.n = f, 0
            def write(self, b):
                self.n += len(b)
                written = self.f.write(b)
                if self.n > 4_000_000:                       # the 8 MB array is on disk, not the rest
                    self.f.flush()
                    open("midway", "w").close()
                    time.sleep(60)
                return written
            def __getattr__(self, name):
                return getattr(self.f, name)

        real = serialization._write_archive
        serialization._write_archive = lambda f, arrays, meta: real(Stalling(f), arrays, meta)
        tg.save({"step": 1, "w": np.full(1_000_000, 1.0)}, "ck")
    """)
    _wait_for(proc, tmp_path / "midway")
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    (killed,) = [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    host, pid = serialization._HOST, proc.pid
    assert killed.startswith(f".ck.{host}.{pid}.") and os.path.getsize(tmp_path / killed) > 4_000_000
    dead = _dead_pid()
    kept = [f".ck.{host}.{os.getpid()}.0badc0de.tmp",     # a writer that is alive (this process)
            f".ck.{host}x.{dead}.0badc0de.tmp",            # another machine's (shared file system)
            f".ck2.{host}.{dead}.0badc0de.tmp",            # another target's
            f".ck.{host}.{dead}.tmp"]                      # not a name save makes
    removed = f".ck.{host}.{dead}.0badc0de.tmp"            # a dead writer's, like the killed one
    for name in kept + [removed]:
        (tmp_path / name).write_bytes(b"partial")
    tg.save({"step": 2, "w": np.full(10, 2.0)}, tmp_path / "ck")
    assert sorted(p for p in os.listdir(tmp_path) if p.endswith(".tmp")) == sorted(kept)
    assert tg.load(tmp_path / "ck")["step"] == 2


@pytest.mark.slow
@needs_sigkill
def test_sigkill_while_saving_in_a_loop_leaves_a_loadable_checkpoint(tmp_path):
    proc = _run_script(tmp_path, """
        import numpy as np, tinygrad_rnn as tg
        i = 0
        while True:
            tg.save({"step": i, "w": tg.full((2_000_000,), float(i))}, "ck")   # 8 MB each
            if i == 2:
                open("ready", "w").close()
            i += 1
    """)
    _wait_for(proc, tmp_path / "ready")
    time.sleep(0.15)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    ck = tg.load(tmp_path / "ck")
    assert ck["step"] >= 2
    assert np.all(ck["w"].numpy() == ck["step"])          # never a mix of two saves


# ----------------------------------------------------------------------------- every shape and dtype, bit for bit

DTYPES = ["bool", "int8", "uint8", "int16", "int32", "int64", "float16", "float32", "float64"]
SHAPES = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=3)


def round_trip(obj, **load_kwargs):
    f = io.BytesIO()
    tg.save(obj, f)
    f.seek(0)
    return tg.load(f, **load_kwargs)


def assert_bit_identical(got, expected):
    """Same type, shape, dtype and bytes (so NaN payloads and -0.0 count too)."""
    assert type(got) is type(expected)
    got_arr = got.numpy() if isinstance(got, tg.Tensor) else np.asarray(got)
    exp_arr = expected.numpy() if isinstance(expected, tg.Tensor) else np.asarray(expected)
    assert got_arr.shape == exp_arr.shape
    assert got_arr.dtype == exp_arr.dtype
    assert np.ascontiguousarray(got_arr).tobytes() == np.ascontiguousarray(exp_arr).tobytes()


# ----------------------------------------------------------------------------- every shape and dtype

@given(arr=hnp.arrays(st.sampled_from(DTYPES), SHAPES))
def test_arrays_round_trip_exactly(arr):
    assert_bit_identical(round_trip({"a": arr})["a"], arr)


@given(arr=hnp.arrays(st.sampled_from(DTYPES), SHAPES), requires_grad=st.booleans())
def test_tensors_round_trip_exactly(arr, requires_grad):
    t = tg.tensor(arr)
    if requires_grad and arr.dtype.kind == "f":
        t.requires_grad_()
    got = round_trip([t])[0]
    assert_bit_identical(got, t)
    assert got.requires_grad == t.requires_grad


@given(arr=hnp.arrays(st.sampled_from(DTYPES), hnp.array_shapes(min_dims=2, max_dims=3, min_side=0, max_side=4)),
       transpose=st.booleans(), step=st.integers(1, 2))
def test_non_contiguous_arrays_round_trip_with_their_shape_and_values(arr, transpose, step):
    view = arr.T if transpose else arr[::step, ::-1]
    got = round_trip(view)
    assert got.shape == view.shape and got.dtype == view.dtype
    assert np.ascontiguousarray(got).tobytes() == np.ascontiguousarray(view).tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
def test_zero_dimensional_tensors_and_arrays_stay_zero_dimensional(dtype):
    value = np.array(1, dtype=dtype)
    got = round_trip({"t": tg.tensor(value), "a": value, "s": value[()]})
    assert got["t"].shape == () and got["t"].dtype == value.dtype
    assert got["a"].shape == () and got["a"].dtype == value.dtype
    assert isinstance(got["s"], np.generic) and got["s"].dtype == value.dtype


@pytest.mark.parametrize("shape", [(0,), (0, 3), (2, 0, 4), (1, 1, 0)])
def test_size_zero_tensors_keep_their_shape(shape):
    got = round_trip(tg.zeros(*shape, dtype="float64"))
    assert got.shape == shape and got.dtype == np.float64


def test_batchnorm_state_dict_round_trips_and_loads_into_a_fresh_module():
    tg.manual_seed(0)
    bn = nn.BatchNorm1d(3)
    for _ in range(4):
        bn(tg.randn(8, 3) * 2 + 1)                       # train mode: running stats and the counter move
    state = bn.state_dict()
    assert state["num_batches_tracked"].shape == () and state["num_batches_tracked"].item() == 4
    loaded = round_trip(state)
    assert list(loaded) == list(state)
    for k, v in state.items():
        assert_bit_identical(loaded[k], v)
    fresh = nn.BatchNorm1d(3)
    fresh.load_state_dict(loaded)
    bn.eval()
    fresh.eval()
    x = tg.randn(5, 3)
    np.testing.assert_array_equal(fresh(x).numpy(), bn(x).numpy())
    assert fresh.num_batches_tracked.item() == 4


def test_batchnorm2d_model_checkpoint_round_trips_through_a_file(tmp_path):
    tg.manual_seed(1)
    model = nn.Sequential(nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(2 * 3 * 3, 1))
    model(tg.randn(4, 2, 3, 3))
    tg.save({"model": model.state_dict(), "epoch": 3}, tmp_path / "ck")
    ck = tg.load(tmp_path / "ck", weights_only=True)
    fresh = nn.Sequential(nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(2 * 3 * 3, 1))
    fresh.load_state_dict(ck["model"])
    for (k, v), (k2, v2) in zip(model.state_dict().items(), fresh.state_dict().items()):
        assert k == k2
        assert_bit_identical(v2, v)


# ----------------------------------------------------------------------------- load's arguments

@pytest.mark.parametrize("weights_only", [True, False, None])
def test_weights_only_is_accepted_and_changes_nothing(weights_only):
    got = round_trip({"w": tg.ones(2), "n": 3}, weights_only=weights_only)
    assert got["n"] == 3 and got["w"].shape == (2,)


def test_map_location_moves_tensors_to_one_device(device):
    got = round_trip({"w": tg.ones(2), "a": np.ones(2)}, map_location=device)
    assert got["w"].device == backend.device(device)
    assert isinstance(got["a"], np.ndarray)              # arrays stay NumPy arrays
    assert round_trip(tg.ones(1), map_location=backend.device(device)).device == backend.device(device)


def test_map_location_dict_maps_saved_devices_and_leaves_others_where_they_were():
    obj = {"cpu": tg.ones(2), "fake": tg.ones(2, device="fake")}
    got = round_trip(obj, map_location={"fake:0": "cpu"})
    assert got["cpu"].device == backend.device("cpu") and got["fake"].device == backend.device("cpu")
    got = round_trip(obj, map_location={"cpu": "fake"})
    assert got["cpu"].device == backend.device("fake") and got["fake"].device == backend.device("fake")
    got = round_trip(obj, map_location={})
    assert got["cpu"].device == backend.device("cpu") and got["fake"].device == backend.device("fake")


def test_without_map_location_every_tensor_loads_on_the_cpu():
    got = round_trip({"fake": tg.ones(2, device="fake")})
    assert got["fake"].device == backend.device("cpu")


def test_a_torch_device_is_accepted_as_map_location():
    torch = pytest.importorskip("torch")
    assert round_trip(tg.ones(2), map_location=torch.device("cpu")).device == backend.device("cpu")


@pytest.mark.parametrize("kwargs, error, message", [
    ({"map_location": lambda storage, loc: storage}, TypeError, "map_location as a function is not supported"),
    ({"pickle_module": pickle}, ValueError, "pickle_module must be None"),
    ({"mmap": True}, ValueError, "mmap=True is not supported"),
])
def test_unsupported_load_arguments_say_so(kwargs, error, message):
    with pytest.raises(error, match=message):
        round_trip(tg.ones(1), **kwargs)


# ----------------------------------------------------------------------------- not a checkpoint

def _load_error(path):
    with pytest.raises(CheckpointError) as e:
        tg.load(path)
    message = str(e.value)
    assert str(path) in message
    assert "allow_pickle" not in message
    return message


def test_a_pickle_file_is_not_a_checkpoint(tmp_path):
    (tmp_path / "model.pkl").write_bytes(pickle.dumps({"w": [1.0, 2.0]}))
    message = _load_error(tmp_path / "model.pkl")
    assert "is not a tinygrad_rnn checkpoint: it is a pickle file" in message


@pytest.mark.parametrize("content, says", [
    (b"", "it is empty"),
    (b"just some text\n", "it is not a zip archive"),
])
def test_other_files_are_not_checkpoints(tmp_path, content, says):
    (tmp_path / "f").write_bytes(content)
    message = _load_error(tmp_path / "f")
    assert "is not a tinygrad_rnn checkpoint" in message and says in message


def test_a_numpy_array_file_is_not_a_checkpoint(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros(3))
    assert "is not a tinygrad_rnn checkpoint: it holds a single NumPy array" in _load_error(tmp_path / "x.npy")


def test_a_zip_without_metadata_is_not_a_checkpoint(tmp_path):
    with zipfile.ZipFile(tmp_path / "z.zip", "w") as z:
        z.writestr("notes.txt", "hello")
    assert "not a tinygrad_rnn checkpoint" in _load_error(tmp_path / "z.zip")


def test_a_pytorch_checkpoint_is_recognised(tmp_path):
    torch = pytest.importorskip("torch")
    torch.save({"w": torch.zeros(2)}, tmp_path / "model.pt")
    message = _load_error(tmp_path / "model.pt")
    assert "is not a tinygrad_rnn checkpoint: it looks like a PyTorch checkpoint" in message


def test_a_pickled_object_inside_a_checkpoint_is_named_without_numpys_advice(tmp_path):
    meta = '{"format": "tinygrad_rnn.checkpoint", "version": 1, "root": {"t": "ndarray", "k": "a0"}}'
    with open(tmp_path / "evil", "wb") as f:
        np.savez(f, __checkpoint__=np.frombuffer(meta.encode(), np.uint8), a0=np.array([{"x": 1}], dtype=object))
    message = _load_error(tmp_path / "evil")
    assert "holds a pickled Python object in entry 'a0'" in message and "not unpickled" in message


def test_a_file_object_that_cannot_seek_still_loads():
    f = io.BytesIO()
    tg.save({"w": tg.tensor([1.0, 2.0])}, f)

    class Stream:                         # e.g. a pipe or a network stream: read() only
        def __init__(self, data):
            self._f = io.BytesIO(data)

        def read(self, *args):
            return self._f.read(*args)

    np.testing.assert_array_equal(tg.load(Stream(f.getvalue()))["w"].numpy(), [1.0, 2.0])
