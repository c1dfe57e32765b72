"""What PyTorch users' own scripts do and expect: `.data` as a Tensor, the legacy constructors
(`Tensor(...)`, `LongTensor`, `autograd.Variable`), `f"{loss:.4f}"`, in-place shape ops,
`grad_fn.next_functions`, the default dtype, `inference_mode`, `Generator(device=)`,
`utils.data`, thread counts and `accelerator`. Values are worked out by hand; where PyTorch is
installed, separate tests hold the same expressions against it."""
import sys
import warnings

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.autograd import Variable


# ----------------------------------------------------------------------------- .data

def test_data_is_a_tensor_without_history_sharing_memory(device):
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = x * 3
    d = y.data
    assert type(d) is tg.Tensor and not d.requires_grad and d.grad_fn is None and d.is_leaf
    assert d.device == y.device and d.dtype == y.dtype
    d[0] = 7.0
    assert y.tolist() == [7.0, 6.0]


def test_data_max_keepdim_gives_indices_for_the_accuracy_idiom():
    # the MNIST example's `pred = output.data.max(1, keepdim=True)[1]`: argmax per row, (N, 1)
    output = tg.tensor([[0.1, 2.0, -1.0], [3.0, 0.0, 0.5]])
    pred = output.data.max(1, keepdim=True)[1]
    assert pred.shape == (2, 1) and pred.dtype == np.int64 and pred.tolist() == [[1], [0]]
    target = tg.tensor([1, 0])
    assert int(pred.eq(target.data.view_as(pred)).sum()) == 2


def test_changes_through_data_are_not_recorded_and_do_not_bump_the_version():
    p = tg.tensor([1.0, 2.0], requires_grad=True)
    p.grad = tg.tensor([10.0, 20.0])
    p.data.add_(p.grad, alpha=-0.1)                  # manual SGD on a leaf that requires grad
    assert p.tolist() == [0.0, 0.0] and p._version == 0 and p.is_leaf and p.grad_fn is None


def test_a_graph_that_saved_a_tensor_sees_changes_made_through_data_unchecked():
    # PyTorch's documented hazard of .data: backward uses the new value without an error
    x = tg.tensor([2.0], requires_grad=True)
    y = x * x                         # saves x (value 2): dy/dx = 2x
    x.data.mul_(5.0)                  # x is now 10, unseen by the version check
    y.backward()
    assert x.grad.tolist() == [20.0]


def test_detach_shares_the_version_counter_so_backward_catches_the_same_change():
    x = tg.tensor([2.0], requires_grad=True)
    y = x * x
    x.detach().mul_(5.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_data_idioms_view_size_topk_zero(device):
    x = tg.tensor([[3.0, 1.0], [2.0, 5.0]], device=device)
    assert x.data.view(-1).tolist() == [3.0, 1.0, 2.0, 5.0]
    assert x.data.size(0) == 2
    values, indices = x.data.topk(1)
    assert values.tolist() == [[3.0], [5.0]] and indices.tolist() == [[0], [1]]
    x.data.zero_()
    assert x.tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_assigning_data_replaces_the_storage_and_keeps_the_parameter_object():
    lin = tg.nn.Linear(2, 3)
    opt = tg.optim.SGD(lin.parameters(), lr=1.0)
    w = lin.weight
    new = tg.ones(4, 2, dtype=tg.float64)
    lin.weight.data = new                             # shape and dtype may change
    assert lin.weight is w and w.shape == (4, 2) and w.dtype == np.float64 and w.requires_grad
    assert w.array is new.array                       # the same memory, as in PyTorch
    assert opt.param_groups[0]["params"][0] is w


def test_assigning_data_keeps_grad_and_version():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    with tg.no_grad():
        w.add_(1.0)
    w.data = tg.zeros(3)
    assert w.grad.tolist() == [2.0, 4.0] and w._version == 1 and w.tolist() == [0.0, 0.0, 0.0]


def test_assigning_data_checks_its_argument():
    w = tg.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="Variable data has to be a tensor, but got ndarray"):
        w.data = np.zeros(1)
    with pytest.raises(RuntimeError, match="must be floating point"):
        w.data = tg.tensor([1])


def test_repackage_hidden_with_data_cuts_the_history():
    lstm = tg.nn.LSTM(2, 3)
    x = tg.randn(4, 1, 2)
    _, (h, c) = lstm(x)
    h, c = tg.Tensor(h.data), tg.Tensor(c.data)       # the word language model's repackage_hidden
    assert h.grad_fn is None and not h.requires_grad
    out, _ = lstm(x, (h, c))
    out.sum().backward()                               # walks only this chunk


def test_array_is_the_raw_array_and_data_is_not(device):
    t = tg.ones(2, device=device)
    assert tg.backend.is_array(t.array) and not isinstance(t.data, np.ndarray)


# ----------------------------------------------------------------------------- legacy constructors

@pytest.mark.parametrize("data", [[0, 0, 0], [True, False, True], np.array([1, 2, 3]),
                                  np.array([1.5, 2.0, 3.0]), np.array([1, 0, 1], dtype=np.uint8)])
def test_legacy_constructor_gives_the_default_float_dtype(data):
    t = tg.Tensor(data)
    assert t.dtype == np.float32 and t.tolist() == np.asarray(data, dtype=np.float64).tolist()


def test_legacy_constructor_then_item_assignment_stores_the_float():
    t = tg.Tensor([0, 0, 0])
    t[0] = 0.7
    assert t.tolist()[0] == pytest.approx(0.7)


def test_legacy_constructor_shares_an_array_of_the_default_dtype_only():
    a = np.zeros(2, np.float32)
    b = np.zeros(2, np.float64)
    assert tg.Tensor(a).array is a and tg.Tensor(b).array is not b


def test_legacy_constructor_with_sizes_gives_a_zero_float_tensor(device):
    t = tg.Tensor(2, 3, device=device)
    assert t.shape == (2, 3) and t.dtype == np.float32 and t.device == tg.device(device)
    assert not t.numpy().any()
    assert tg.Tensor(4).shape == (4,) and tg.Tensor(2, 0).shape == (2, 0)
    empty = tg.Tensor()
    assert empty.shape == (0,) and empty.dtype == np.float32


def test_legacy_constructor_errors_follow_pytorch():
    with pytest.raises(TypeError, match="data must be a sequence"):
        tg.Tensor(1.5)
    with pytest.raises(TypeError, match="data must be a sequence"):
        tg.Tensor(True)
    with pytest.raises(RuntimeError, match=r"negative dimension -1: \[2, -1\]"):
        tg.Tensor(2, -1)
    with pytest.raises(TypeError, match=r"\(float, int\)"):
        tg.Tensor(2.0, 3)


def test_legacy_constructor_of_a_tensor_is_a_differentiable_alias():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = tg.Tensor(x)
    assert y is not x and y.grad_fn is not None and y.dtype == x.dtype
    (y * tg.tensor([3.0, 4.0])).sum().backward()
    assert x.grad.tolist() == [3.0, 4.0]
    with tg.no_grad():
        y.add_(1.0)                                # same memory
    assert x.tolist() == [2.0, 3.0]


def test_legacy_constructor_of_an_integer_tensor_keeps_its_dtype():
    t = tg.tensor([1, 2])
    assert tg.Tensor(t).dtype == np.int64 and tg.Tensor(t).tolist() == [1, 2]


def test_in_place_change_of_an_alias_of_a_parameter_raises_as_for_any_view():
    x = tg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        tg.Tensor(x).add_(1)


def test_parameter_of_a_graph_tensor_is_a_leaf_sharing_memory():
    x = tg.tensor([1.0, 2.0], requires_grad=True) * 2
    p = tg.nn.Parameter(x)
    assert p.is_leaf and p.requires_grad and p.array is x.array


@pytest.mark.parametrize("cls,dtype", [
    (tg.FloatTensor, np.float32), (tg.DoubleTensor, np.float64), (tg.HalfTensor, np.float16),
    (tg.LongTensor, np.int64), (tg.IntTensor, np.int32), (tg.ShortTensor, np.int16),
    (tg.CharTensor, np.int8), (tg.ByteTensor, np.uint8), (tg.BoolTensor, np.bool_)])
def test_typed_constructors_make_their_dtype(cls, dtype):
    t = cls([1, 0])
    assert type(t) is tg.Tensor and t.dtype == dtype and t.tolist() == [1, 0]
    assert cls(3).shape == (3,) and cls(3).dtype == dtype and cls().shape == (0,)
    assert isinstance(t, cls) and isinstance(t, tg.Tensor)


def test_typed_constructor_truncates_floats_and_refuses_other_tensors():
    assert tg.LongTensor([1, 2.7]).tolist() == [1, 2]
    with pytest.raises(TypeError, match="expected a tensor of dtype int64"):
        tg.LongTensor(tg.tensor([1.5]))
    same = tg.tensor([1, 2])
    alias = tg.LongTensor(same)
    alias[0] = 9
    assert same.tolist() == [9, 2]


def test_isinstance_with_a_typed_constructor_checks_dtype_and_device():
    assert isinstance(tg.tensor([1]), tg.LongTensor)
    assert not isinstance(tg.tensor([1.0]), tg.LongTensor)
    assert not isinstance(tg.tensor([1], device="fake"), tg.LongTensor)
    assert not isinstance(np.zeros(1, np.int64), tg.LongTensor)


def test_type_casts_with_legacy_names_and_names_the_type():
    x = tg.tensor([1.5, 2.0])
    assert x.type() == "torch.FloatTensor" and tg.tensor([1]).type() == "torch.LongTensor"
    assert x.type(tg.LongTensor).tolist() == [1, 2]
    assert x.type("torch.DoubleTensor").dtype == np.float64
    assert x.type(tg.int32).dtype == np.int32


def test_variable_is_detach_with_requires_grad():
    x = tg.ones(2)
    v = Variable(x, requires_grad=True)
    assert v is not x and v.requires_grad and v.is_leaf and not x.requires_grad
    x.add_(1.0)                                            # same memory and version counter
    assert v.tolist() == [2.0, 2.0] and v._version == x._version
    y = tg.ones(2, requires_grad=True) * 2
    assert Variable(y).grad_fn is None and not Variable(y).requires_grad
    assert isinstance(x, Variable) and not isinstance(x.numpy(), Variable)
    assert Variable().shape == (0,)


def test_variable_rejects_non_tensors_and_warns_on_volatile():
    with pytest.raises(TypeError, match="Variable data has to be a tensor, but got list"):
        Variable([1.0])
    with pytest.raises(RuntimeError, match="floating point"):
        Variable(tg.tensor([1]), requires_grad=True)
    with pytest.warns(UserWarning, match="volatile was removed"):
        Variable(tg.ones(1), volatile=True)


def test_new_is_the_legacy_constructor_with_this_tensors_dtype_and_device(device):
    w = tg.ones(2, dtype=tg.float64, device=device)
    z = w.new(2, 3)
    assert z.shape == (2, 3) and z.dtype == np.float64 and z.device == w.device and not z.numpy().any()
    assert w.new([1, 2]).dtype == np.float64 and w.new().shape == (0,)


# ----------------------------------------------------------------------------- random fills

def test_uniform_and_normal_fill_in_place_with_the_init_functions_draws(device):
    t = tg.empty(200, device=device)
    tg.manual_seed(3)
    assert t.uniform_(-0.5, 0.5) is t and t._version == 1
    tg.manual_seed(3)
    np.testing.assert_array_equal(t.numpy(), tg.nn.init.uniform_(tg.empty(200), -0.5, 0.5).numpy())
    assert -0.5 <= t.numpy().min() and t.numpy().max() < 0.5
    g = tg.Generator(4)
    n = tg.empty(200, dtype=tg.float64).normal_(2.0, 0.01, generator=g)
    np.testing.assert_array_equal(n.numpy(), tg.Generator(4).numpy.normal(2.0, 0.01, 200))


def test_random_fills_follow_the_in_place_rules():
    p = tg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        p.normal_()
    p.data.normal_(0.0, 0.02)                       # the DCGAN weights_init idiom
    assert p.is_leaf and p._version == 0
    with pytest.raises(RuntimeError, match="not implemented for 'Long'"):
        tg.tensor([1, 2]).uniform_()


# ----------------------------------------------------------------------------- format, in-place shape ops

def test_format_of_a_0d_tensor_formats_its_number():
    assert f"{tg.tensor(1.23456):.4f}" == "1.2346"
    assert f"{tg.tensor(7):>3d}" == "  7"
    assert f"{tg.tensor(2.5)}" == "2.5"


def test_format_of_other_tensors_takes_only_the_empty_spec():
    t = tg.tensor([1.0, 2.0])
    assert f"{t}" == str(t)
    with pytest.raises(TypeError, match="unsupported format string"):
        f"{t:.4f}"
    with pytest.raises(TypeError, match="unsupported format string"):
        f"{tg.nn.Parameter(tg.tensor(1.0)):.2f}"      # PyTorch formats only plain 0-d tensors


@pytest.mark.parametrize("op,args,shape", [
    ("unsqueeze_", (0,), (1, 2, 3)), ("unsqueeze_", (-1,), (2, 3, 1)),
    ("squeeze_", (), (2, 3)), ("t_", (), (3, 2)), ("transpose_", (0, 1), (3, 2)),
    ("swapdims_", (1, 0), (3, 2)), ("swapaxes_", (0, 1), (3, 2))])
def test_in_place_shape_ops_change_the_tensor_itself(op, args, shape, device):
    x = tg.arange(6, device=device).reshape(2, 3).float()
    expect = getattr(x, op[:-1])(*args).numpy().copy()
    assert getattr(x, op)(*args) is x
    assert x.shape == shape and x._version == 1
    np.testing.assert_array_equal(x.numpy(), expect)


def test_squeeze_in_place_with_a_dim():
    s = tg.ones(1, 2, 1)
    s.squeeze_(0)
    assert s.shape == (2, 1)
    s.squeeze_((0, 1))
    assert s.shape == (2,)


def test_in_place_shape_op_on_a_leaf_that_requires_grad_needs_no_grad():
    p = tg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        p.unsqueeze_(0)
    with tg.no_grad():
        p.unsqueeze_(0)
    assert p.shape == (1, 2) and p.is_leaf


def test_in_place_shape_op_in_the_graph_takes_over_the_history():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    y = a * 2
    y.unsqueeze_(0)
    assert y.shape == (1, 2) and y.grad_fn is not None
    (y * tg.tensor([[3.0, 4.0]])).sum().backward()
    assert a.grad.tolist() == [6.0, 8.0]


def test_in_place_shape_op_on_a_saved_tensor_fails_its_backward():
    a = tg.ones(2, requires_grad=True)
    b = a * 1
    c = b * b                        # saves b
    b.unsqueeze_(0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        c.sum().backward()


def test_t_in_place_refuses_more_than_two_dims():
    with pytest.raises(RuntimeError, match=r"t_\(\) expects a tensor with <= 2 dimensions"):
        tg.ones(2, 3, 4).t_()


# ----------------------------------------------------------------------------- next_functions

def test_next_functions_lists_nodes_leaves_and_constants():
    a, b = tg.ones(2, requires_grad=True), tg.ones(2)
    x = a * b
    (node, k), = x.exp().grad_fn.next_functions
    assert node is x.grad_fn and k == 0
    (acc, k0), = x.grad_fn.next_functions          # b needs no gradient and comes last: left out
    assert acc.variable is a and k0 == 0 and acc.next_functions == ()
    assert (b * a).grad_fn.next_functions[0] == (None, 0)
    assert (b * a).grad_fn.next_functions[1][0] is acc       # one AccumulateGrad per leaf


def test_next_functions_gives_the_output_index_of_multi_output_nodes():
    x = tg.ones(4, requires_grad=True)
    first, second = x.split(2)
    (node, k), = (second * 1).grad_fn.next_functions
    assert node is second.grad_fn and k == 1


def test_walking_next_functions_reaches_every_parameter_of_a_model():
    model = tg.nn.Sequential(tg.nn.Linear(2, 3), tg.nn.Tanh(), tg.nn.Linear(3, 1))
    loss = model(tg.ones(4, 2)).sum()
    # seen keeps the nodes themselves: an id alone could be reused by the next AccumulateGrad
    # once the previous one (alive only while something holds it, as in PyTorch) is freed
    seen, stack, leaves = {}, [loss.grad_fn], []
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen[id(node)] = node
        if hasattr(node, "variable"):
            leaves.append(node.variable)
        stack.extend(n for n, _ in node.next_functions)
    assert {id(p) for p in leaves} == {id(p) for p in model.parameters()}


# ----------------------------------------------------------------------------- default dtype

@pytest.fixture
def float64_default():
    tg.set_default_dtype(tg.float64)
    yield
    tg.set_default_dtype(tg.float32)


def test_default_dtype_starts_as_float32():
    assert tg.get_default_dtype() == np.float32


def test_default_dtype_governs_python_floats_factories_promotion_and_layers(float64_default):
    assert tg.get_default_dtype() == np.float64
    for t in (tg.tensor(1.5), tg.tensor([1.0, 2]), tg.Tensor([1]), tg.zeros(2), tg.ones(1),
              tg.randn(2), tg.rand(2), tg.empty(1), tg.arange(0.0, 2.0), tg.linspace(0, 1, 3),
              tg.eye(2), tg.full((1,), 0.5), tg.tensor([1, 2]) / 2, tg.tensor([1]) * 0.5,
              tg.tensor([1]).exp(), tg.nn.Linear(2, 2).weight, tg.nn.LSTM(2, 2).weight_hh_l0):
        assert t.dtype == np.float64, t
    assert tg.tensor([1, 2]).dtype == np.int64
    assert (tg.tensor([1.0], dtype=tg.float32) * 2.5).dtype == np.float32
    assert tg.FloatTensor([1]).dtype == np.float32


def test_default_dtype_shows_in_repr_only_when_it_differs(float64_default):
    assert repr(tg.tensor([1.0])) == "tensor([1.])"
    assert "dtype=float32" in repr(tg.tensor([1.0], dtype=tg.float32))


def test_set_default_dtype_refuses_non_floats():
    with pytest.raises(TypeError, match="only floating-point types"):
        tg.set_default_dtype(tg.int64)
    assert tg.get_default_dtype() == np.float32


# ----------------------------------------------------------------------------- inference_mode

def test_inference_mode_records_nothing_as_context_and_decorators():
    x = tg.ones(2, requires_grad=True)
    with tg.inference_mode():
        assert not (x * 2).requires_grad and tg.is_inference_mode_enabled()
        with tg.inference_mode(False):
            assert (x * 2).requires_grad and not tg.is_inference_mode_enabled()

    @tg.inference_mode()
    def called():
        return (x * 2).requires_grad, tg.is_inference_mode_enabled()

    @tg.inference_mode
    def bare():
        return (x * 2).requires_grad, tg.is_inference_mode_enabled()

    assert called() == (False, True) and bare() == (False, True)
    assert (x * 2).requires_grad and not tg.is_inference_mode_enabled()
    assert tg.autograd.inference_mode is tg.inference_mode


# ----------------------------------------------------------------------------- generators, devices

def test_generator_takes_a_device_and_starts_from_pytorchs_default_seed():
    g = tg.Generator(device="cpu")
    assert g.device == tg.device("cpu") and g.initial_seed() == 67280421310721
    a = tg.rand(3, generator=tg.Generator())
    b = tg.rand(3, generator=tg.Generator("cpu"))
    assert a.tolist() == b.tolist()                    # unseeded generators repeat
    assert tg.Generator("cuda:1").device == tg.backend.Device("cuda", 1)
    assert tg.Generator(5).initial_seed() == 5 and tg.Generator(5).device == tg.device("cpu")
    with pytest.raises(RuntimeError, match="Generator: expected a device"):
        tg.Generator("tpu")


def test_is_cuda_says_where_the_tensor_lives():
    assert tg.ones(1).is_cuda is False and tg.ones(1, device="fake").is_cuda is False


def test_utils_data_is_the_data_package():
    from tinygrad_rnn.utils.data import DataLoader, TensorDataset
    import tinygrad_rnn.utils.data.distributed as dist
    assert DataLoader is tg.data.DataLoader and TensorDataset is tg.data.TensorDataset
    assert tg.utils.data is tg.data and dist is tg.data.distributed


def test_accelerator_answers_without_a_gpu(monkeypatch):
    monkeypatch.setattr(tg.cuda, "device_count", lambda: 0)
    assert tg.accelerator.is_available() is False and tg.accelerator.device_count() == 0
    assert tg.accelerator.current_accelerator(check_available=True) is None
    with pytest.raises(RuntimeError, match="Cannot access accelerator device"):
        tg.accelerator.current_device_index()


def test_current_accelerator_is_cuda_when_cupy_is_installed(monkeypatch):
    import importlib.util
    find = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "cupy" else find(name))
    assert tg.accelerator.current_accelerator() is None
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object() if name == "cupy" else find(name))
    assert tg.accelerator.current_accelerator() == tg.backend.Device("cuda")


# ----------------------------------------------------------------------------- threads

@pytest.fixture
def blas_pool():
    """threadpoolctl, where it sees NumPy's BLAS; the thread count is restored afterwards."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if not any(p["user_api"] == "blas" for p in threadpoolctl.threadpool_info()):
        pytest.skip("NumPy's BLAS is not visible to threadpoolctl here")
    before = tg.get_num_threads()
    yield threadpoolctl
    tg.set_num_threads(before)
    assert tg.get_num_threads() == before


def test_set_num_threads_resizes_blas_through_threadpoolctl(blas_pool):
    tg.set_num_threads(1)
    assert tg.get_num_threads() == 1
    blas = [p for p in blas_pool.threadpool_info() if p["user_api"] == "blas"]
    assert all(p["num_threads"] == 1 for p in blas)


def test_thread_functions_without_threadpoolctl(monkeypatch):
    import os
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)     # import fails as if not installed
    assert tg.get_num_threads() == (os.cpu_count() or 1)
    with pytest.raises(ImportError, match="threadpoolctl"):
        tg.set_num_threads(2)


def test_small_matrix_examples_take_one_thread_unless_the_user_chose(blas_pool, monkeypatch):
    from tinygrad_rnn import threads
    tg.set_num_threads(2)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")              # the user's choice stands
    assert threads.one_thread_for_small_matrices() == 2
    for name in threads._USER_THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert threads.one_thread_for_small_matrices() == 1
    assert tg.get_num_threads() == 1


def test_small_matrix_examples_run_without_threadpoolctl(monkeypatch):
    import os
    from tinygrad_rnn import threads
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)
    for name in threads._USER_THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert threads.one_thread_for_small_matrices() == (os.cpu_count() or 1)


def test_set_num_threads_checks_its_argument():
    with pytest.raises(RuntimeError, match="expects a positive integer"):
        tg.set_num_threads(0)
    with pytest.raises(RuntimeError, match="expects an int, but got float"):
        tg.set_num_threads(2.5)


# ----------------------------------------------------------------------------- against PyTorch

def test_legacy_constructors_match_pytorch():
    torch = pytest.importorskip("torch")
    for data in ([0, 0, 0], [[1, 2.5]], np.array([1, 2]), np.array([1.5], np.float64), [True]):
        ours, theirs = tg.Tensor(data), torch.Tensor(data)
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
        assert ours.tolist() == theirs.tolist()
    for name in ("LongTensor", "IntTensor", "BoolTensor", "DoubleTensor", "ByteTensor"):
        ours, theirs = getattr(tg, name)([1, 0, 2.5]), getattr(torch, name)([1, 0, 2.5])
        assert ours.tolist() == theirs.tolist() and ours.type() == theirs.type()
    assert tg.Tensor(2, 3).shape == tuple(torch.Tensor(2, 3).shape)
    for bad in ((1.5,), (True,), (2.0, 3)):
        with pytest.raises(TypeError):
            torch.Tensor(*bad)
        with pytest.raises(TypeError):
            tg.Tensor(*bad)


def test_data_semantics_match_pytorch():
    torch = pytest.importorskip("torch")
    results = []
    for lib in (torch, tg):
        x = lib.tensor([2.0, 3.0], requires_grad=True)
        y = (x * x).sum()
        d = x.data
        d.mul_(10.0)
        y.backward()
        results.append((d.requires_grad, x._version, d._version, x.grad.tolist()))
    assert results[0] == results[1]


def test_format_and_in_place_shape_ops_match_pytorch():
    torch = pytest.importorskip("torch")
    for spec in (".4f", ".2e", "", "8.3f"):
        assert f"{tg.tensor(3.14159):{spec}}" == f"{torch.tensor(3.14159):{spec}}"
    for op, args in (("unsqueeze_", (1,)), ("t_", ()), ("transpose_", (0, 1)), ("squeeze_", ())):
        a, b = tg.ones(1, 3), torch.ones(1, 3)
        getattr(a, op)(*args), getattr(b, op)(*args)
        assert a.shape == tuple(b.shape) and a._version == b._version


def test_default_dtype_matches_pytorch():
    torch = pytest.importorskip("torch")
    torch.set_default_dtype(torch.float64)
    tg.set_default_dtype(tg.float64)
    try:
        pairs = [(lambda m: m.tensor(1.5)), (lambda m: m.Tensor([1])), (lambda m: m.zeros(1)),
                 (lambda m: m.tensor([1]) / 2), (lambda m: m.nn.Linear(2, 2).weight),
                 (lambda m: m.arange(0.0, 1.0)), (lambda m: m.tensor([1, 2]))]
        for make in pairs:
            assert str(make(tg).dtype) == str(make(torch).dtype).replace("torch.", "")
    finally:
        torch.set_default_dtype(torch.float32)
        tg.set_default_dtype(tg.float32)


def test_next_functions_structure_matches_pytorch_for_a_linear_model():
    torch = pytest.importorskip("torch")

    def walk(node):
        if node is None:
            return None
        if hasattr(node, "variable"):
            return tuple(node.variable.shape)
        return [walk(n) for n, _ in node.next_functions]

    torch.manual_seed(0)
    lin_t = torch.nn.Linear(2, 3)
    lin = tg.nn.Linear(2, 3)
    loss_t = lin_t(torch.ones(4, 2)).tanh().sum()
    loss = lin(tg.ones(4, 2)).tanh().sum()
    # PyTorch: Sum <- Tanh <- Addmm(bias, None, T(weight)); here Linear is one node (input, w, b)
    assert walk(loss_t.grad_fn) == [[[(3,), None, [(3, 2)]]]]
    assert walk(loss.grad_fn) == [[[None, (3, 2), (3,)]]]


def test_inference_mode_and_variable_match_pytorch():
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torch.autograd import Variable as TorchVariable
        for lib, V in ((torch, TorchVariable), (tg, Variable)):
            x = lib.ones(2, requires_grad=True)
            with lib.inference_mode():
                assert not (x * 2).requires_grad
            v = V(lib.ones(2), requires_grad=True)
            assert v.requires_grad and v.is_leaf
