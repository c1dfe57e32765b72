"""tinygrad_rnn.data: datasets, DataLoader batching/shuffling/resume, collation, BPTT chunking."""
from collections import namedtuple

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn.data import (ConcatDataset, DataLoader, Dataset, Subset, TensorDataset, batchify,
                               bptt_chunks, default_collate, random_split)


def _xy(n=10):
    """Sample i is (x_i, y_i) = ([10 i, 10 i + 1], i), so a batch's labels name its rows."""
    x = tg.tensor(np.arange(2 * n, dtype=np.float32).reshape(n, 2) * 5)
    return TensorDataset(x, tg.arange(n))


def _labels(loader):
    return [b[1].tolist() for b in loader]


class Squares(Dataset):
    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        return np.array([i, i * i], dtype=np.int32), float(i) / 2

    def __len__(self):
        return self.n


# ----------------------------------------------------------------------------- datasets

def test_tensor_dataset_sample_is_tuple_of_rows():
    ds = _xy(4)
    x, y = ds[2]
    assert len(ds) == 4
    assert x.tolist() == [20.0, 25.0] and y.item() == 2


def test_tensor_dataset_rejects_unequal_first_dims_naming_shapes():
    with pytest.raises(ValueError, match=r"same size in the first dimension.*\(5, 3\), \(4,\)"):
        TensorDataset(tg.zeros(5, 3), tg.zeros(4))


def test_tensor_dataset_rejects_arrays():
    with pytest.raises(TypeError, match="argument 1 is a ndarray"):
        TensorDataset(tg.zeros(3), np.zeros(3))


def test_dataset_base_class_requires_getitem_and_len():
    with pytest.raises(NotImplementedError, match="__getitem__"):
        Dataset()[0]
    with pytest.raises(NotImplementedError, match="__len__"):
        len(Dataset())


def test_subset_maps_indices_in_given_order():
    sub = Subset(_xy(10), [7, 2, 5])
    assert len(sub) == 3
    assert [sub[i][1].item() for i in range(3)] == [7, 2, 5]


def test_concat_dataset_indexes_across_the_boundary():
    both = _xy(3) + Squares(4)
    assert len(both) == 7
    assert both[2][1].item() == 2
    assert both[3][1] == 0.0 and both[6][1] == 1.5
    assert both[-1][1] == 1.5
    with pytest.raises(IndexError):
        both[7]


def test_concat_dataset_needs_a_dataset():
    with pytest.raises(ValueError):
        ConcatDataset([])


# ----------------------------------------------------------------------------- random_split

def test_random_split_parts_are_disjoint_and_cover_the_dataset():
    tg.manual_seed(1)
    parts = random_split(_xy(10), [6, 4])
    got = [[p[i][1].item() for i in range(len(p))] for p in parts]
    assert [len(g) for g in got] == [6, 4]
    assert sorted(got[0] + got[1]) == list(range(10))


@pytest.mark.parametrize("n,fractions,sizes", [(10, [0.5, 0.3, 0.2], [5, 3, 2]),
                                                (11, [1 / 3, 1 / 3, 1 / 3], [4, 4, 3]),
                                                (7, [0.9, 0.1], [7, 0])])
def test_random_split_fractions_give_floor_sizes_plus_leftovers_first(n, fractions, sizes):
    assert [len(p) for p in random_split(_xy(n), fractions)] == sizes


@pytest.mark.parametrize("lengths", [[5, 4], [11, -1], [0.5, 0.4]])
def test_random_split_rejects_lengths_that_do_not_add_up(lengths):
    with pytest.raises(ValueError, match="random_split"):
        random_split(_xy(10), lengths)


def test_random_split_repeats_under_the_same_seed():
    tg.manual_seed(3)
    a = random_split(_xy(20), [0.5, 0.5])
    tg.manual_seed(3)
    b = random_split(_xy(20), [0.5, 0.5])
    assert a[0].indices.tolist() == b[0].indices.tolist()


def test_random_split_uses_the_given_generator_not_the_default():
    a = random_split(_xy(20), [10, 10], generator=tg.Generator(5))
    tg.randn(7)                       # consuming the default generator must not matter
    b = random_split(_xy(20), [10, 10], generator=tg.Generator(5))
    assert a[0].indices.tolist() == b[0].indices.tolist()


# ----------------------------------------------------------------------------- DataLoader

def test_loader_without_shuffle_keeps_order_and_ends_with_partial_batch():
    loader = DataLoader(_xy(10), batch_size=4)
    assert len(loader) == 3
    assert _labels(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_loader_batches_rows_of_every_tensor_together():
    x, y = next(iter(DataLoader(_xy(10), batch_size=3)))
    assert x.shape == (3, 2) and y.shape == (3,)
    assert x.tolist() == [[0.0, 5.0], [10.0, 15.0], [20.0, 25.0]]


def test_loader_drop_last_drops_the_partial_batch():
    loader = DataLoader(_xy(10), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert _labels(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_loader_shuffle_visits_every_sample_once_per_epoch():
    tg.manual_seed(0)
    loader = DataLoader(_xy(10), batch_size=3, shuffle=True)
    for _ in range(3):
        seen = sum(_labels(loader), [])
        assert sorted(seen) == list(range(10))


def test_loader_shuffle_repeats_exactly_after_manual_seed():
    loader = DataLoader(_xy(12), batch_size=5, shuffle=True)
    tg.manual_seed(42)
    first = [_labels(loader) for _ in range(2)]
    tg.manual_seed(42)
    again = [_labels(loader) for _ in range(2)]
    assert first == again
    assert first[0] != first[1]                # a new order each epoch
    tg.manual_seed(43)
    assert _labels(loader) != first[0]


def test_loader_shuffle_draws_from_its_generator():
    a = _labels(DataLoader(_xy(12), batch_size=5, shuffle=True, generator=tg.Generator(9)))
    tg.manual_seed(0)
    tg.randn(3)
    b = _labels(DataLoader(_xy(12), batch_size=5, shuffle=True, generator=tg.Generator(9)))
    assert a == b


def test_loader_on_tensor_dataset_never_fetches_single_samples(monkeypatch):
    def forbidden(self, i):
        raise AssertionError("per-sample __getitem__ used on the TensorDataset fast path")
    monkeypatch.setattr(TensorDataset, "__getitem__", forbidden)
    tg.manual_seed(0)
    assert sorted(sum(_labels(DataLoader(_xy(10), batch_size=4, shuffle=True)), [])) == list(range(10))
    sub = Subset(_xy(10), [9, 3, 4])
    assert _labels(DataLoader(sub, batch_size=2)) == [[9, 3], [4]]


def test_fast_path_matches_collating_single_samples():
    tg.manual_seed(5)
    fast = list(DataLoader(_xy(9), batch_size=4, shuffle=True))
    tg.manual_seed(5)
    slow = list(DataLoader(_xy(9), batch_size=4, shuffle=True, collate_fn=default_collate))
    for (xf, yf), (xs, ys) in zip(fast, slow):
        assert xf.dtype == xs.dtype and yf.dtype == ys.dtype
        np.testing.assert_array_equal(xf.numpy(), xs.numpy())
        np.testing.assert_array_equal(yf.numpy(), ys.numpy())


def test_loader_on_generic_dataset_collates_samples():
    loader = DataLoader(Squares(5), batch_size=2)
    pairs, halves = next(iter(loader))
    assert pairs.dtype == np.int32 and pairs.tolist() == [[0, 0], [1, 1]]
    assert halves.dtype == np.float64 and halves.tolist() == [0.0, 0.5]
    assert len(loader) == 3


def test_loader_passes_sample_lists_to_collate_fn():
    got = list(DataLoader(Squares(5), batch_size=2, collate_fn=lambda s: [h for _, h in s]))
    assert got == [[0.0, 0.5], [1.0, 1.5], [2.0]]


def test_loader_batch_size_none_yields_single_samples():
    loader = DataLoader(Squares(3), batch_size=None)
    assert len(loader) == 3
    assert [h for _, h in loader] == [0.0, 0.5, 1.0]


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_loader_rejects_bad_batch_size(bad):
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(_xy(3), batch_size=bad)


def test_loader_keeps_batches_on_the_dataset_device(device):
    ds = TensorDataset(tg.arange(6, device=device).float(), tg.arange(6, device=device))
    tg.manual_seed(0)
    batches = list(DataLoader(ds, batch_size=4, shuffle=True))
    assert all(t.device == tg.device(device) for b in batches for t in b)
    assert sorted(sum((b[1].tolist() for b in batches), [])) == list(range(6))


# ----------------------------------------------------------------------------- resuming

def test_loader_resumes_mid_epoch_from_state_dict():
    ds = _xy(11)
    tg.manual_seed(7)
    loader = DataLoader(ds, batch_size=3, shuffle=True)
    full = [_labels(loader) for _ in range(2)]            # the uninterrupted run: 2 epochs

    tg.manual_seed(7)
    loader = DataLoader(ds, batch_size=3, shuffle=True)
    it = iter(loader)
    head = [next(it)[1].tolist() for _ in range(2)]
    state, rng = loader.state_dict(), tg.get_rng_state()
    assert state["batches_done"] == 2

    tg.manual_seed(123)                                    # a new process: unrelated RNG state
    fresh = DataLoader(ds, batch_size=3, shuffle=True)
    fresh.load_state_dict(state)
    tg.set_rng_state(rng)
    tail = _labels(fresh)
    assert head + tail == full[0]
    assert _labels(fresh) == full[1]


def test_loader_state_after_a_finished_epoch_starts_the_next_epoch():
    tg.manual_seed(2)
    loader = DataLoader(_xy(6), batch_size=4, shuffle=True)
    _labels(loader)
    state, rng = loader.state_dict(), tg.get_rng_state()
    assert state == {"in_epoch": False, "epoch_seed": None, "batches_done": 0}
    expected = _labels(loader)
    tg.set_rng_state(rng)
    fresh = DataLoader(_xy(6), batch_size=4, shuffle=True)
    fresh.load_state_dict(state)
    assert _labels(fresh) == expected


def test_loader_with_own_generator_resumes_without_global_state():
    loader = DataLoader(_xy(10), batch_size=4, shuffle=True, generator=tg.Generator(3))
    full = [_labels(loader) for _ in range(2)]
    loader = DataLoader(_xy(10), batch_size=4, shuffle=True, generator=tg.Generator(3))
    it = iter(loader)
    head = [next(it)[1].tolist()]
    state = loader.state_dict()
    fresh = DataLoader(_xy(10), batch_size=4, shuffle=True, generator=tg.Generator(99))
    fresh.load_state_dict(state)
    assert head + _labels(fresh) == full[0]
    assert _labels(fresh) == full[1]


# ----------------------------------------------------------------------------- default_collate

def test_collate_python_numbers_follow_pytorch_dtypes():
    assert default_collate([1, 2]).dtype == np.int64
    assert default_collate([1.5, 2.0]).dtype == np.float64
    assert default_collate([True, False]).dtype == np.bool_


def test_collate_arrays_keep_dtype_and_gain_a_batch_dim():
    out = default_collate([np.zeros((2, 3), np.float16), np.ones((2, 3), np.float16)])
    assert out.shape == (2, 2, 3) and out.dtype == np.float16
    assert out.numpy()[1].tolist() == [[1, 1, 1]] * 2


def test_collate_tensors_stack_along_a_new_first_dim(device):
    a, b = tg.tensor([1.0, 2.0], device=device), tg.tensor([3.0, 4.0], device=device)
    out = default_collate([a, b])
    assert out.device == tg.device(device)
    assert out.tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_collate_keeps_the_graph_of_samples_that_require_grad():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    (default_collate([a, a * 3]).sum()).backward()
    assert a.grad.tolist() == [4.0, 4.0]


def test_collate_recurses_into_containers_keeping_their_type():
    Pair = namedtuple("Pair", "x label")
    out = default_collate([{"p": Pair(np.array([1.0]), 0), "name": "a", "l": [1, 2]},
                           {"p": Pair(np.array([2.0]), 1), "name": "b", "l": [3, 4]}])
    assert isinstance(out, dict) and isinstance(out["p"], Pair)
    assert out["p"].x.tolist() == [[1.0], [2.0]] and out["p"].label.tolist() == [0, 1]
    assert out["name"] == ["a", "b"]
    assert isinstance(out["l"], list) and [t.tolist() for t in out["l"]] == [[1, 3], [2, 4]]


def test_collate_tuples_stay_tuples():
    out = default_collate([(1, 2.0), (3, 4.0)])
    assert isinstance(out, tuple) and out[0].tolist() == [1, 3]


def test_collate_rejects_samples_of_different_shapes():
    with pytest.raises(ValueError, match=r"same shape; sample 0 has \(2,\) but sample 1 has \(3,\)"):
        default_collate([tg.zeros(2), tg.zeros(3)])


def test_collate_rejects_unknown_types():
    with pytest.raises(TypeError, match="cannot batch samples of type object"):
        default_collate([object(), object()])


# ----------------------------------------------------------------------------- batchify / bptt_chunks

def test_batchify_cuts_streams_time_first_dropping_the_tail():
    out = batchify(tg.arange(11), 2)
    assert out.tolist() == [[0, 5], [1, 6], [2, 7], [3, 8], [4, 9]]


def test_batchify_batch_first_puts_one_stream_per_row():
    assert batchify(np.arange(7), 3, batch_first=True).tolist() == [[0, 1], [2, 3], [4, 5]]


def test_batchify_keeps_feature_dims(device):
    seq = tg.arange(12, device=device).reshape(6, 2)      # 6 steps of 2 features
    out = batchify(seq, 3)
    assert out.shape == (2, 3, 2) and out.device == tg.device(device)
    assert out.numpy()[:, 1].tolist() == [[4, 5], [6, 7]]  # stream 1 = steps 2, 3


def test_batchify_rejects_more_streams_than_steps():
    with pytest.raises(ValueError, match="length 3 cannot be cut into 4 streams"):
        batchify(tg.arange(3), 4)


def test_bptt_chunks_targets_are_inputs_shifted_one_step():
    streams = batchify(tg.arange(11), 2)                  # (5, 2)
    chunks = [(x.tolist(), y.tolist()) for x, y in bptt_chunks(streams, 3)]
    assert chunks == [([[0, 5], [1, 6], [2, 7]], [[1, 6], [2, 7], [3, 8]]),
                      ([[3, 8]], [[4, 9]])]


def test_bptt_chunks_drop_last_skips_the_short_chunk():
    streams = batchify(tg.arange(11), 2)
    assert len(list(bptt_chunks(streams, 3, drop_last=True))) == 1


def test_bptt_chunks_batch_first_slices_along_dim_one():
    streams = batchify(tg.arange(11), 2, batch_first=True)  # (2, 5)
    x, y = next(bptt_chunks(streams, 2, batch_first=True))
    assert x.tolist() == [[0, 1], [5, 6]] and y.tolist() == [[1, 2], [6, 7]]


def test_bptt_chunks_are_views_not_copies():
    streams = batchify(tg.arange(20.0), 2)
    x, y = next(bptt_chunks(streams, 4))
    assert np.shares_memory(x.numpy(), streams.numpy()) and np.shares_memory(y.numpy(), streams.numpy())


@given(batch=st.integers(1, 4), steps=st.integers(2, 10), extra=st.integers(0, 3),
       chunk=st.integers(1, 12))
def test_bptt_chunks_tile_every_step_exactly_once(batch, steps, extra, chunk):
    length = batch * steps + min(extra, batch - 1)   # at least two steps per stream, by construction
    streams = batchify(np.arange(length), batch)
    pairs = list(bptt_chunks(streams, chunk))
    xs = np.concatenate([x.numpy() for x, _ in pairs])
    ys = np.concatenate([y.numpy() for _, y in pairs])
    np.testing.assert_array_equal(xs, streams.numpy()[:-1])
    np.testing.assert_array_equal(ys, streams.numpy()[1:])
    assert all(len(x) == chunk for x, _ in pairs[:-1]) and 1 <= len(pairs[-1][0]) <= chunk


def test_bptt_chunks_rejects_bad_chunk_len():
    with pytest.raises(ValueError, match="chunk_len"):
        next(bptt_chunks(tg.arange(5), 0))
