"""nn.Module, nn.Parameter and the containers: registration, traversal order, modes, gradients,
devices and dtypes, printing."""
import copy
from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.scale = nn.Parameter(tg.ones(1))
        self.register_buffer("steps", tg.zeros(1))
        self.fc2 = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc2(self.fc1(x).relu()) * self.scale


# ----------------------------------------------------------------------------- Parameter

def test_parameter_is_a_leaf_tensor_that_requires_grad():
    p = nn.Parameter(tg.zeros(2, 3))
    assert isinstance(p, tg.Tensor)
    assert p.requires_grad and p.is_leaf and p.shape == (2, 3)


def test_parameter_shares_the_array_of_the_tensor_it_wraps():
    t = tg.zeros(3)
    p = nn.Parameter(t)
    t.data[0] = 5.0
    assert p.data[0] == 5.0


def test_parameter_from_numpy_array_keeps_its_dtype():
    p = nn.Parameter(np.ones((2,), np.float64))
    assert p.dtype == np.float64


def test_parameter_requires_grad_false():
    assert not nn.Parameter(tg.zeros(2), requires_grad=False).requires_grad


def test_operations_on_a_parameter_return_plain_tensors():
    p = nn.Parameter(tg.ones(2))
    out = p * 2
    assert type(out) is tg.Tensor and type(p.detach()) is tg.Tensor


def test_parameter_repr_says_parameter_containing():
    assert repr(nn.Parameter(tg.ones(2))).startswith("Parameter containing:\ntensor(")


def test_parameter_deepcopy_is_an_independent_parameter():
    p = nn.Parameter(tg.ones(2))
    q = copy.deepcopy(p)
    q.data[0] = 7.0
    assert type(q) is nn.Parameter and q.requires_grad and p.data[0] == 1.0


# ----------------------------------------------------------------------------- registration and traversal

def test_named_parameters_follow_module_then_children_registration_order():
    names = [n for n, _ in Net().named_parameters()]
    # own parameters first, then each child's, in the order they were assigned (as PyTorch)
    assert names == ["scale", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]


def test_parameters_matches_named_parameters():
    m = Net()
    assert [id(p) for p in m.parameters()] == [id(p) for _, p in m.named_parameters()]


def test_shared_parameter_is_yielded_once():
    m = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
    m[1].weight = m[0].weight
    names = [n for n, _ in m.named_parameters()]
    assert names == ["0.weight", "0.bias", "1.bias"]


def test_shared_module_is_yielded_once():
    lin = nn.Linear(2, 2)
    m = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(m.parameters())) == 2
    assert [n for n, _ in m.named_modules()] == ["", "0", "1"]


def test_parameters_recurse_false_gives_only_own_parameters():
    assert [n for n, _ in Net().named_parameters(recurse=False)] == ["scale"]


def test_register_buffer_appears_in_buffers_and_state_dict():
    m = Net()
    assert [n for n, _ in m.named_buffers()] == ["steps"]
    assert "steps" in m.state_dict()
    assert "steps" not in dict(m.named_parameters())


def test_non_persistent_buffer_is_not_in_state_dict():
    m = nn.Module()
    m.register_buffer("cache", tg.zeros(2), persistent=False)
    assert [n for n, _ in m.named_buffers()] == ["cache"]
    assert "cache" not in m.state_dict()


def test_buffer_attribute_assignment_replaces_the_buffer():
    m = Net()
    m.steps = tg.ones(1)
    assert m.get_buffer("steps").item() == 1.0


def test_register_buffer_with_none_is_skipped_by_buffers():
    m = nn.Module()
    m.register_buffer("running", None)
    assert m.running is None and list(m.buffers()) == []


def test_register_buffer_rejects_a_dotted_name():
    with pytest.raises(KeyError, match="contain"):
        nn.Module().register_buffer("a.b", tg.zeros(1))


def test_register_buffer_rejects_an_existing_attribute():
    m = Net()
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("fc1", tg.zeros(1))


def test_assigning_a_tensor_to_a_parameter_name_raises():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'weight'"):
        m.weight = tg.zeros(2, 2)


def test_assigning_none_to_a_parameter_empties_the_slot():
    m = nn.Linear(2, 2)
    m.bias = None
    assert m.bias is None and [n for n, _ in m.named_parameters()] == ["weight"]


def test_assigning_a_parameter_over_a_submodule_replaces_it():
    m = nn.Module()
    m.x = nn.Linear(1, 1)
    m.x = nn.Parameter(tg.zeros(1))
    assert [n for n, _ in m.named_parameters()] == ["x"] and list(m.children()) == []


def test_assigning_a_module_over_a_parameter_raises():
    m = nn.Module()
    m.x = nn.Parameter(tg.zeros(1))
    with pytest.raises(TypeError, match="cannot assign 'Linear' as parameter 'x'"):
        m.x = nn.Linear(1, 1)


def test_assigning_a_parameter_before_init_raises():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(tg.zeros(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Bad()


def test_delattr_unregisters_a_parameter():
    m = Net()
    del m.scale
    assert "scale" not in dict(m.named_parameters())


def test_unknown_attribute_raises_attribute_error():
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'nope'"):
        Net().nope


def test_named_children_and_named_modules_use_dotted_names():
    m = nn.Sequential(Net(), nn.ReLU())
    assert [n for n, _ in m.named_children()] == ["0", "1"]
    assert [n for n, _ in m.named_modules()] == ["", "0", "0.fc1", "0.fc2", "1"]


def test_get_submodule_and_get_parameter_follow_dotted_paths():
    m = nn.Sequential(Net())
    assert m.get_submodule("0.fc2") is m[0].fc2
    assert m.get_parameter("0.fc1.bias") is m[0].fc1.bias
    with pytest.raises(AttributeError, match="no submodule"):
        m.get_submodule("0.nope")


def test_apply_visits_children_before_the_parent():
    seen = []
    m = nn.Sequential(nn.Linear(1, 1), nn.Sequential(nn.ReLU()))
    assert m.apply(lambda mod: seen.append(type(mod).__name__)) is m
    assert seen == ["Linear", "ReLU", "Sequential", "Sequential"]


# ----------------------------------------------------------------------------- calling and modes

def test_call_runs_forward():
    m = Net()
    x = tg.randn(5, 3)
    np.testing.assert_array_equal(m(x).numpy(), m.forward(x).numpy())


def test_module_without_forward_raises_naming_it():
    with pytest.raises(NotImplementedError, match=r"Module \[Module\] is missing the required \"forward\""):
        nn.Module()(1)


def test_train_and_eval_set_training_recursively_and_return_self():
    m = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout()))
    assert m.eval() is m
    assert not any(mod.training for mod in m.modules())
    assert m.train() is m
    assert all(mod.training for mod in m.modules())


def test_train_rejects_a_non_boolean_mode():
    with pytest.raises(ValueError, match="boolean"):
        nn.Linear(1, 1).train("no")


def test_zero_grad_sets_gradients_to_none_by_default():
    m = Net()
    m(tg.randn(2, 3)).sum().backward()
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_zero_grad_set_to_none_false_zeroes_the_same_tensors():
    m = Net()
    m(tg.randn(2, 3)).sum().backward()
    before = [p.grad for p in m.parameters()]
    m.zero_grad(set_to_none=False)
    for p, g in zip(m.parameters(), before):
        assert p.grad is g and not p.grad.numpy().any()


def test_requires_grad_false_freezes_every_parameter():
    m = Net().requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


# ----------------------------------------------------------------------------- devices and dtypes

def test_double_converts_float_parameters_and_buffers_but_not_integer_buffers():
    m = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)).double()
    assert all(p.dtype == np.float64 for p in m.parameters())
    assert m[1].running_mean.dtype == np.float64
    assert m[1].num_batches_tracked.dtype == np.int64


def test_to_dtype_keeps_parameter_objects_and_values():
    m = nn.Linear(3, 2)
    w = m.weight
    before = w.numpy().copy()
    m.to(tg.float64)
    assert m.weight is w and w.dtype == np.float64
    np.testing.assert_array_equal(w.numpy(), before.astype(np.float64))


def test_to_converts_existing_gradients_too():
    m = nn.Linear(3, 2)
    m(tg.randn(4, 3)).sum().backward()
    m.double()
    assert m.weight.grad.dtype == np.float64


def test_to_an_integer_dtype_raises():
    with pytest.raises(TypeError, match="only accepts floating point dtypes"):
        nn.Linear(2, 2).to(tg.int64)


def test_to_device_moves_parameters_gradients_and_buffers(device):
    m = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    m(tg.randn(4, 3)).sum().backward()
    w = m[0].weight
    assert m.to(device) is m
    assert m[0].weight is w
    assert all(p.device == device for p in m.parameters())
    assert all(p.grad.device == device for p in m.parameters())
    assert all(b.device == device for b in m.buffers())
    out = m(tg.randn(4, 3, device=device))
    assert out.device == device
    m.cpu()
    assert all(p.device == "cpu" for p in m.parameters())


def test_deepcopy_of_a_module_copies_its_parameters():
    m = nn.Sequential(nn.Linear(2, 2))
    c = copy.deepcopy(m)
    c[0].weight.data[...] = 0
    assert c[0].weight is not m[0].weight and m[0].weight.numpy().any()


# ----------------------------------------------------------------------------- repr

def test_repr_nests_children_with_their_names():
    m = nn.Sequential(nn.Linear(2, 3, bias=False), nn.ModuleList([nn.ReLU(), nn.Dropout(0.25)]))
    assert repr(m) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=False)\n"
        "  (1): ModuleList(\n"
        "    (0): ReLU()\n"
        "    (1): Dropout(p=0.25, inplace=False)\n"
        "  )\n"
        ")")


def test_repr_of_a_custom_module_shows_extra_repr_and_children():
    class Custom(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.Tanh()

        def extra_repr(self):
            return "k=3"

    assert repr(Custom()) == "Custom(\n  k=3\n  (inner): Tanh()\n)"


# ----------------------------------------------------------------------------- containers

def test_sequential_feeds_each_module_the_previous_output():
    a, b = nn.Linear(3, 4), nn.Linear(4, 2)
    x = tg.randn(5, 3)
    np.testing.assert_allclose(nn.Sequential(a, nn.ReLU(), b)(x).numpy(), b(a(x).relu()).numpy())


def test_sequential_from_ordered_dict_uses_its_names():
    m = nn.Sequential(OrderedDict(enc=nn.Linear(2, 2), act=nn.ReLU()))
    assert [n for n, _ in m.named_parameters()] == ["enc.weight", "enc.bias"]
    assert m[0] is m.enc


def test_sequential_indexing_len_iteration_and_slicing():
    mods = [nn.Linear(1, 1), nn.ReLU(), nn.Tanh()]
    m = nn.Sequential(*mods)
    assert len(m) == 3 and m[-1] is mods[2] and list(m) == mods
    s = m[1:]
    assert isinstance(s, nn.Sequential) and list(s) == mods[1:]
    assert [n for n, _ in s.named_children()] == ["1", "2"]
    with pytest.raises(IndexError):
        m[3]


def test_sequential_append_insert_and_delete_renumber():
    a, b, c = nn.ReLU(), nn.Tanh(), nn.Sigmoid()
    m = nn.Sequential(a).append(c)
    m.insert(1, b)
    assert list(m) == [a, b, c] and [n for n, _ in m.named_children()] == ["0", "1", "2"]
    del m[0]
    assert list(m) == [b, c] and [n for n, _ in m.named_children()] == ["0", "1"]


def test_module_list_registers_its_modules_parameters():
    class Stack(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])

    names = [n for n, _ in Stack().named_parameters()]
    assert names == [f"layers.{i}.{k}" for i in range(3) for k in ("weight", "bias")]


def test_module_list_list_operations():
    a, b, c = nn.ReLU(), nn.Tanh(), nn.Sigmoid()
    ml = nn.ModuleList([a])
    ml.append(c)
    ml.insert(1, b)
    assert list(ml) == [a, b, c] and len(ml) == 3 and ml[-1] is c
    assert isinstance(ml[:2], nn.ModuleList) and list(ml[:2]) == [a, b]
    ml.extend([nn.ReLU()])
    del ml[0]
    assert [n for n, _ in ml.named_children()] == ["0", "1", "2"] and ml[0] is b


def test_module_dict_operations():
    a, b = nn.Linear(1, 1), nn.ReLU()
    md = nn.ModuleDict({"a": a})
    md["b"] = b
    assert list(md) == ["a", "b"] and "a" in md and len(md) == 2
    assert list(md.values()) == [a, b] and list(md.keys()) == ["a", "b"]
    assert [n for n, _ in md.named_parameters()] == ["a.weight", "a.bias"]
    assert md.pop("a") is a and list(md) == ["b"]


def test_deepcopy_and_pickle_of_a_module_with_buffers_keep_values_and_devices():
    import copy
    import pickle

    import numpy as np

    m = nn.BatchNorm1d(3)
    m.running_mean.data[...] = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    for clone in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        assert np.array_equal(clone.running_mean.numpy(), [1.0, 2.0, 3.0])
        assert clone.running_mean.device == m.running_mean.device
        assert clone.running_mean.array is not m.running_mean.array


# ----------------------------------------------------------------------------- ParameterList / ParameterDict

class Holder(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)
        self.plist = nn.ParameterList([tg.zeros(3), nn.Parameter(tg.ones(2, 2))])
        self.pdict = nn.ParameterDict({"scale": tg.ones(1), "shift": tg.zeros(1)})


def test_parameter_containers_register_their_parameters_by_name():
    m = Holder()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["lin.weight", "lin.bias", "plist.0", "plist.1", "pdict.scale", "pdict.shift"]
    assert list(m.state_dict()) == names
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in m.parameters())
    # a tensor put in becomes a Parameter over the same data
    t = tg.zeros(2)
    pl = nn.ParameterList([t])
    assert isinstance(pl[0], nn.Parameter) and pl[0].array is t.array


def test_parameter_list_behaves_like_a_list():
    pl = nn.ParameterList()
    pl.append(tg.ones(1))
    pl.extend([tg.ones(2), tg.ones(3)])
    pl += [tg.ones(4)]
    assert len(pl) == 4 and [p.shape for p in pl] == [(1,), (2,), (3,), (4,)]
    assert pl[-1].shape == (4,) and isinstance(pl[1:3], nn.ParameterList) and len(pl[1:3]) == 2
    pl[0] = tg.zeros(5)
    assert isinstance(pl[0], nn.Parameter) and pl[0].shape == (5,)
    pl.append("not a tensor")          # kept, but not a parameter (as PyTorch)
    assert pl[4] == "not a tensor" and len(list(pl.parameters())) == 4
    with pytest.raises(IndexError, match="out of range"):
        pl[5]
    with pytest.raises(TypeError, match="extend should be called with an iterable, but got Tensor"):
        pl.extend(tg.zeros(2))
    with pytest.raises(RuntimeError, match="should not be called"):
        pl()


def test_parameter_dict_behaves_like_a_dict():
    pd = nn.ParameterDict({"b": tg.ones(1), "a": tg.ones(2)})
    assert list(pd) == ["a", "b"]                       # a plain dict is sorted, as PyTorch
    pd.update(OrderedDict([("z", tg.ones(3)), ("c", tg.ones(4))]))
    assert list(pd.keys()) == ["a", "b", "z", "c"]      # an OrderedDict keeps its order
    pd.update([("d", tg.ones(5))])
    assert "d" in pd and len(pd) == 5 and isinstance(pd["d"], nn.Parameter)
    assert pd.get("nope", 7) == 7 and pd.pop("d").shape == (5,) and "d" not in pd
    assert pd.popitem()[0] == "c" and pd.setdefault("e", tg.zeros(1)).shape == (1,)
    del pd["e"]
    assert [k for k, _ in pd.items()] == ["a", "b", "z"] and len(list(pd.values())) == 3
    merged = pd | {"y": tg.ones(1)}
    assert list(merged) == ["a", "b", "z", "y"] and list(pd) == ["a", "b", "z"]
    assert pd.copy()["a"] is pd["a"]
    assert [n for n, _ in pd.named_parameters()] == ["a", "b", "z"]
    pd.clear()
    assert len(pd) == 0 and list(pd.parameters()) == []


def test_parameter_dict_errors():
    pd = nn.ParameterDict()
    with pytest.raises(TypeError, match="not a string"):
        pd[1] = tg.zeros(1)
    with pytest.raises(KeyError):
        pd["missing"]
    with pytest.raises(TypeError, match="iterable of key/value pairs, but got int"):
        pd.update(5)
    with pytest.raises(ValueError, match="element #0 has length 3; 2 is required"):
        pd.update([("a", tg.zeros(1), 3)])
    with pytest.raises(KeyError, match="already exists"):
        pd["forward"] = tg.zeros(1)


def test_parameter_containers_train_with_an_optimizer():
    m = Holder()
    loss = m.plist[0].sum() * 2 + (m.pdict["scale"] * 3).sum()
    loss.backward()
    np.testing.assert_array_equal(m.plist[0].grad.numpy(), [2, 2, 2])
    np.testing.assert_array_equal(m.pdict["scale"].grad.numpy(), [3])
    tg.optim.SGD(m.parameters(), lr=0.5).step()
    np.testing.assert_array_equal(m.plist[0].numpy(), [-1, -1, -1])
    np.testing.assert_array_equal(m.pdict["scale"].numpy(), [-0.5])
    m.double()
    assert m.plist[1].dtype == np.float64 and m.pdict["shift"].dtype == np.float64


def test_parameter_container_printouts():
    pl = nn.ParameterList([tg.zeros(2, 3), tg.zeros(4, dtype=tg.float64)])
    pl.append(3)
    assert repr(pl) == ("ParameterList(\n"
                        "    (0): Parameter containing: [float32 of size 2x3]\n"
                        "    (1): Parameter containing: [float64 of size 4]\n"
                        "    (2): Object of type: int\n)")
    assert repr(nn.ParameterDict({"x": tg.ones(1)})) == \
        "ParameterDict(  (x): Parameter containing: [float32 of size 1])"
    assert repr(nn.ParameterList()) == "ParameterList()"


# ----------------------------------------------------------------------------- PyTorch parity

def test_parameter_containers_match_pytorch():
    torch = pytest.importorskip("torch")
    class Theirs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(2, 2)
            self.plist = torch.nn.ParameterList([torch.zeros(3), torch.nn.Parameter(torch.ones(2, 2))])
            self.pdict = torch.nn.ParameterDict({"shift": torch.zeros(1), "scale": torch.ones(1)})

    ours, theirs = Holder(), Theirs()
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    # the printouts differ only in how a dtype is spelled: PyTorch writes torch.float32 in a
    # ParameterList and torch.FloatTensor in a ParameterDict, we write float32 in both
    theirs_repr = repr(theirs).replace("torch.FloatTensor", "float32").replace("torch.", "")
    assert repr(ours).replace("Holder", "Theirs") == theirs_repr
