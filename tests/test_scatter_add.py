"""backend.scatter_add (the adjoint of indexing) agrees with numpy.add.at on every index form."""
import numpy as np
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_rnn import backend


@given(st.data())
def test_sorted_scatter_add_matches_add_at(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=5), label="shape")
    k = data.draw(st.integers(1, len(shape)), label="indexed dims")
    ishape = data.draw(hnp.array_shapes(min_dims=1, max_dims=2, max_side=6), label="index shape")
    index = tuple(data.draw(hnp.arrays(np.int64, ishape, elements=st.integers(-n, n - 1)), label=f"i{d}")
                  for d, n in enumerate(shape[:k]))
    values = data.draw(hnp.arrays(np.float64, ishape + shape[k:],
                                  elements=st.floats(-10, 10, allow_nan=False)), label="values")
    expected = np.zeros(shape)
    np.add.at(expected, index, values)
    got = np.zeros(shape)
    backend.scatter_add(np, got, index, values)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_other_index_forms_still_accumulate():
    got = np.zeros((3, 4))
    backend.scatter_add(np, got, (slice(None), np.array([1, 1, 3])), np.ones((3, 3)))
    assert got.tolist() == [[0, 2, 0, 1]] * 3
