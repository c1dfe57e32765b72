"""nn.utils.parameters_to_vector / vector_to_parameters: order, gradients, in-place writes, errors."""
import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn, optim
from tinygrad_rnn.nn.utils import parameters_to_vector, vector_to_parameters
from tinygrad_rnn.testing import gradcheck


def _model(device="cpu"):
    tg.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 1)).to(device)


def test_vector_is_the_parameters_raveled_and_joined_in_order():
    a = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    b = tg.tensor([5.0], requires_grad=True)
    c = tg.tensor(6.0, requires_grad=True)
    np.testing.assert_array_equal(parameters_to_vector([a, b, c]).numpy(), [1, 2, 3, 4, 5, 6])


def test_vector_length_is_the_total_number_of_parameters(device):
    model = _model(device)
    vec = parameters_to_vector(model.parameters())
    assert vec.shape == (3 * 2 + 2 + 2 * 1 + 1,)
    assert vec.device == model[0].weight.device


def test_gradients_flow_back_to_each_parameter():
    a = tg.tensor([[1.0, 2.0], [3.0, 4.0]], dtype="float64", requires_grad=True)
    b = tg.tensor([5.0, 6.0], dtype="float64", requires_grad=True)
    weights = tg.tensor([1.0, -2.0, 3.0, -4.0, 5.0, -6.0], dtype="float64")
    (parameters_to_vector([a, b]) * weights).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [[1, -2], [3, -4]])       # d/dp sum(w * vec) = w
    np.testing.assert_array_equal(b.grad.numpy(), [5, -6])


def test_parameters_to_vector_passes_gradcheck():
    rng = np.random.default_rng(0)
    a, b = (tg.tensor(rng.normal(size=s), dtype="float64", requires_grad=True) for s in ((2, 3), (4,)))
    assert gradcheck(lambda x, y: parameters_to_vector([x, y]) ** 2, a, b)


def test_round_trip_restores_the_parameters_in_place(device):
    model = _model(device)
    params = list(model.parameters())
    before = [p.numpy().copy() for p in params]
    vec = parameters_to_vector(params).detach()
    for p in params:
        with tg.no_grad():
            p.fill_(0.0)
    vector_to_parameters(vec, params)
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]
    for p, old in zip(params, before):
        np.testing.assert_array_equal(p.numpy(), old)


def test_vector_to_parameters_by_hand_and_optimizer_keeps_working():
    a, b = tg.zeros(2, 2, requires_grad=True), tg.zeros(3, requires_grad=True)
    opt = optim.SGD([a, b], lr=0.5)
    vector_to_parameters(tg.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]), [a, b])
    np.testing.assert_array_equal(a.numpy(), [[1, 2], [3, 4]])
    np.testing.assert_array_equal(b.numpy(), [5, 6, 7])
    a.grad, b.grad = tg.ones(2, 2), tg.ones(3)
    opt.step()                                  # the optimizer still holds the same (updated) tensors
    np.testing.assert_array_equal(a.numpy(), [[0.5, 1.5], [2.5, 3.5]])


def test_vector_to_parameters_casts_to_each_parameters_dtype():
    a = tg.zeros(2, dtype="float32", requires_grad=True)
    b = tg.zeros(1, dtype="float64", requires_grad=True)
    vector_to_parameters(tg.tensor([0.1, 0.2, 0.3], dtype="float64"), [a, b])
    assert a.dtype == np.float32 and b.dtype == np.float64
    np.testing.assert_array_equal(a.numpy(), np.array([0.1, 0.2], dtype=np.float32))
    assert b.numpy()[0] == 0.3


def test_parameters_do_not_alias_the_vector_afterwards():
    a = tg.zeros(2, requires_grad=True)
    vec = tg.tensor([1.0, 2.0])
    vector_to_parameters(vec, [a])
    with tg.no_grad():
        vec.fill_(9.0)
    np.testing.assert_array_equal(a.numpy(), [1.0, 2.0])


@pytest.mark.parametrize("vec, error, message", [
    ([1.0, 2.0, 3.0], TypeError, "vector_to_parameters: expected a Tensor, but got: list"),
    (tg.ones(2), ValueError, "the parameters have 3 elements in total but the vector has 2"),
    (tg.ones(4), ValueError, "the parameters have 3 elements in total but the vector has 4"),
    (tg.ones(3, 1), ValueError, "expected a 1-D vector, got shape (3, 1)"),
])
def test_vector_to_parameters_rejects_bad_vectors(vec, error, message):
    with pytest.raises(error) as e:
        vector_to_parameters(vec, [tg.zeros(2, requires_grad=True), tg.zeros(1, requires_grad=True)])
    assert message in str(e.value)


def test_parameters_on_different_devices_are_refused():
    with pytest.raises(TypeError, match="Found two parameters on different devices"):
        parameters_to_vector([tg.zeros(2), tg.zeros(2, device="fake")])


def test_no_parameters_is_an_error():
    with pytest.raises(RuntimeError, match="expected a non-empty iterable of parameters"):
        parameters_to_vector([])


def test_matches_pytorch():
    torch = pytest.importorskip("torch")
    model = _model()
    tmodel = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Tanh(), torch.nn.Linear(2, 1))
    tmodel.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    np.testing.assert_array_equal(parameters_to_vector(model.parameters()).detach().numpy(),
                                  torch.nn.utils.parameters_to_vector(tmodel.parameters()).detach().numpy())
    new = np.arange(11, dtype=np.float32)
    vector_to_parameters(tg.tensor(new), model.parameters())
    torch.nn.utils.vector_to_parameters(torch.tensor(new), tmodel.parameters())
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), tmodel.state_dict()[k].numpy())


def test_overwriting_a_parameter_a_graph_saved_is_caught_in_backward():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()                                    # saves w for its backward
    vector_to_parameters(tg.tensor([3.0, 4.0]), [w])
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()
