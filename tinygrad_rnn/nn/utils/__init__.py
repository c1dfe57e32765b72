"""``nn.utils``: helpers around modules and their parameters (gradient clipping, ...)."""
from .clip_grad import clip_grad_norm_, clip_grad_value_
from .convert_parameters import parameters_to_vector, vector_to_parameters
from . import rnn
from .rnn import detach_hidden

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]
__all__ += ["rnn", "detach_hidden"]
