"""tg.save / tg.load round trips keep every shape and dtype exactly; load's PyTorch-style arguments;
files that are not checkpoints are named as such (never with NumPy's allow_pickle advice)."""
import io
import pickle
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_rnn as tg
from tinygrad_rnn import backend, nn
from tinygrad_rnn.serialization import CheckpointError

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
