"""Parameters <-> one flat vector: for optimizers and analyses that see a model as a point in R^n."""
from __future__ import annotations

from ... import backend
from ...autograd import no_grad
from ...ops import cat
from ...tensor import Tensor


def _params(parameters, who):
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{who}: expected an iterable of Tensors, but item {i} is a {type(p).__name__}")
    for p in params[1:]:
        if p.device != params[0].device:
            raise TypeError(f"{who}: Found two parameters on different devices ({params[0].device} and "
                            f"{p.device}), this is currently not supported.")
    return params


def parameters_to_vector(parameters) -> Tensor:
    """``parameters_to_vector(parameters)``: the parameters flattened and joined, ``(sum of numel,)``.

    Each parameter contributes its entries in row-major order, in the order given (for a model,
    ``model.parameters()`` order). The result is a new tensor in the graph: gradients flow back to
    the parameters.
    """
    params = _params(parameters, "parameters_to_vector")
    if not params:
        raise RuntimeError("parameters_to_vector: expected a non-empty iterable of parameters")
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec, parameters) -> None:
    """``vector_to_parameters(vec, parameters)``: copy consecutive slices of ``vec`` (1-D) into the parameters.

    The inverse of ``parameters_to_vector``. Each parameter is overwritten in place (its object,
    dtype and device stay the same, so optimizers holding it remain valid); the slice is cast to
    its dtype and moved to its device. ``vec`` must have exactly as many elements as the
    parameters together.
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected a Tensor, but got: {type(vec).__name__}")
    if vec.ndim != 1:
        raise ValueError(f"vector_to_parameters: expected a 1-D vector, got shape {vec.shape}")
    params = _params(parameters, "vector_to_parameters")
    total = sum(p.numel() for p in params)
    if vec.shape[0] != total:
        raise ValueError(f"vector_to_parameters: the parameters have {total} elements in total but the "
                         f"vector has {vec.shape[0]}")
    start = 0
    with no_grad():     # a copy_ like an optimizer step's: not recorded, but it bumps p's version
        for p in params:
            n = p.numel()
            piece = backend.to_device(vec.array[start:start + n], p.device).reshape(p.array.shape)
            p.copy_(Tensor.wrap(piece.astype(p.array.dtype, copy=False), p.device))
            start += n
