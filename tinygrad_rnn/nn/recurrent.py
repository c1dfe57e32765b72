"""Recurrent layers with PyTorch's names, arguments, parameter names and shapes, gate order and
initialisation: ``RNNCell``, ``LSTMCell``, ``GRUCell`` (one time step) and ``RNN``, ``LSTM``,
``GRU`` (whole sequences; stacked layers, both directions, packed variable-length batches).

The same weights are used at every time step (the unrolled copies are ONE set of variables, so
back-propagation through time adds their gradients up). Per step, for input ``x`` and state ``h``:

    RNN   h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)                       (or relu)
    LSTM  i, f, g, o = chunks of (x W_ih^T + b_ih + h W_hh^T + b_hh)
          c' = sigmoid(f) * c + sigmoid(i) * tanh(g)        h' = sigmoid(o) * tanh(c')
    GRU   r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr)
          z = sigmoid(x W_iz^T + b_iz + h W_hz^T + b_hz)
          n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))
          h' = (1 - z) * n + z * h

Two paths compute ``RNN`` / ``LSTM`` / ``GRU``:

* ``fused=True`` (default): per layer and direction one call of a fused kernel from
  ``ops/rnn.py`` (one matrix product for all inputs, one ``h @ W_hh^T`` per step, backward through
  time written by hand). Fast; its gradients cannot be differentiated again.
* ``fused=False``: the reference path, the cell functions below (``rnn_cell``, ``lstm_cell``,
  ``gru_cell``, composed from primitive Tensor ops) called once per time step. Every step is in the
  graph, so the unrolled network can be drawn and differentiated twice.
"""
from __future__ import annotations

import itertools
import math
import numbers
import warnings

from ..creation import zeros
from ..ops.rnn import GRUSequence, LSTMSequence, RNNSequence
from ..ops.shape import cat, stack
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter
from .utils.rnn import PackedSequence

__all__ = ["RNNCellBase", "RNNCell", "LSTMCell", "GRUCell", "RNNBase", "RNN", "LSTM", "GRU",
           "rnn_cell", "lstm_cell", "gru_cell"]


# ----------------------------------------------------------------------------- cells (reference)

def _pre(x, h, w_ih, w_hh, b_ih, b_hh):
    a = x @ w_ih.mT + h @ w_hh.mT
    return a if b_ih is None else a + b_ih + b_hh


def rnn_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    """One Elman step: ``(B, I), (B, H) -> (B, H)``, ``h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)``."""
    a = _pre(x, h, w_ih, w_hh, b_ih, b_hh)
    return a.tanh() if nonlinearity == "tanh" else a.relu()


def lstm_cell(x, state, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step: ``x (B, I)``, ``state = (h, c)``, each ``(B, H)`` -> ``(h', c')``."""
    h, c = state
    i, f, g, o = _pre(x, h, w_ih, w_hh, b_ih, b_hh).chunk(4, 1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()     # forget some of the old cell, write some new
    h = o.sigmoid() * c.tanh()                        # show some of the cell
    return h, c


def gru_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """One GRU step: ``(B, I), (B, H) -> (B, H)``."""
    gi = x @ w_ih.mT
    gh = h @ w_hh.mT
    if b_ih is not None:
        gi, gh = gi + b_ih, gh + b_hh
    i_r, i_z, i_n = gi.chunk(3, 1)
    h_r, h_z, h_n = gh.chunk(3, 1)
    r = (i_r + h_r).sigmoid()                         # reset gate: how much old state n sees
    z = (i_z + h_z).sigmoid()                         # update gate: keep old state or take n
    n = (i_n + r * h_n).tanh()
    return (1 - z) * n + z * h


def _check_dtype(op, input, weight):
    if input.dtype != weight.dtype:
        raise ValueError(f"{op} input dtype ({input.dtype}) does not match weight dtype "
                         f"({weight.dtype}). Convert input: input.to({weight.dtype}), or convert "
                         f"model: model.to({input.dtype})")


def _check_device(op, input, weight):
    if input.device != weight.device:
        raise RuntimeError(f"{op}: input is on {input.device} but the parameters are on "
                           f"{weight.device}; move one of them with .to(device)")


class RNNCellBase(Module):
    """Weights of one recurrent step: ``weight_ih (chunks * H, I)``, ``weight_hh (chunks * H, H)``,
    ``bias_ih``, ``bias_hh (chunks * H,)``, all from U(-1/sqrt(H), 1/sqrt(H))."""

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        n = num_chunks * hidden_size
        self.weight_ih = Parameter(zeros(n, input_size, dtype=dtype, device=device))
        self.weight_hh = Parameter(zeros(n, hidden_size, dtype=dtype, device=device))
        if bias:
            self.bias_ih = Parameter(zeros(n, dtype=dtype, device=device))
            self.bias_hh = Parameter(zeros(n, dtype=dtype, device=device))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _prepare(self, input, states, what):
        """Batch unbatched inputs, check shapes as PyTorch does, fill missing states with zeros.
        ``states``: list of Tensors or None. Returns (input (B, I), states (B, H) each, batched)."""
        name = type(self).__name__
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        for k, s in enumerate(states):
            if s is not None and not isinstance(s, Tensor):
                raise TypeError(f"{name}: {what[k]} must be a Tensor, got {type(s).__name__}"
                                + (" (only the LSTMCell takes a tuple (h, c))" if len(states) == 1 else ""))
            if s is not None and s.ndim not in (1, 2):
                raise ValueError(f"{name}: Expected {what[k]} to be 1D or 2D, got {s.ndim}D instead")
        batched = input.ndim == 2
        for k, s in enumerate(states):
            if s is not None and s.ndim != input.ndim:
                raise RuntimeError(f"{name}: Expected {what[k]} to be {input.ndim}D like the input "
                                   f"(shape {tuple(input.shape)}), got {s.ndim}D")
        if not batched:
            input = input.unsqueeze(0)
            states = [None if s is None else s.unsqueeze(0) for s in states]
        _check_device(name, input, self.weight_ih)
        _check_dtype(name, input, self.weight_ih)
        B = input.shape[0]
        if input.shape[1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[1]} expected "
                               f"{self.input_size}")
        out = []
        for k, s in enumerate(states):
            if s is None:
                s = zeros(B, self.hidden_size, dtype=input.dtype, device=input.device)
            elif s.shape[0] != B:
                raise RuntimeError(f"Input batch size {B} doesn't match hidden{k} batch size {s.shape[0]}")
            elif s.shape[1] != self.hidden_size:
                raise RuntimeError(f"hidden{k} has inconsistent hidden_size: got {s.shape[1]}, "
                                   f"expected {self.hidden_size}")
            out.append(s)
        return input, out, batched

    def _weights(self):
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh


class RNNCell(RNNCellBase):
    """``RNNCell(input_size, hidden_size, bias=True, nonlinearity='tanh')``:
    ``h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)``; input ``(B, I)`` or ``(I,)``, ``hx (B, H)`` or
    ``(H,)`` (default zeros) -> ``h' (B, H)`` or ``(H,)``."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        x, (h,), batched = self._prepare(input, [hx], ["hidden"])
        h = rnn_cell(x, h, *self._weights(), nonlinearity=self.nonlinearity)
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """``LSTMCell(input_size, hidden_size, bias=True)``: input ``(B, I)`` or ``(I,)``,
    ``hx = (h, c)`` each ``(B, H)`` or ``(H,)`` (default zeros) -> ``(h', c')``. Gates i, f, g, o."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        states = [None, None] if hx is None else list(hx)
        if len(states) != 2:
            raise TypeError(f"LSTMCell: hx must be a tuple (h, c) of two tensors, got {len(states)} item(s)")
        x, (h, c), batched = self._prepare(input, states, ["hx[0]", "hx[1]"])
        h, c = lstm_cell(x, (h, c), *self._weights())
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """``GRUCell(input_size, hidden_size, bias=True)``: input ``(B, I)`` or ``(I,)``, ``hx (B, H)``
    or ``(H,)`` (default zeros) -> ``h' (B, H)`` or ``(H,)``. Gates r, z, n."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        x, (h,), batched = self._prepare(input, [hx], ["hidden"])
        h = gru_cell(x, h, *self._weights())
        return h if batched else h.squeeze(0)


# ----------------------------------------------------------------------------- sequence layers

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _reference_layer(step, x, state, batch_sizes, reverse, weights):
    """One layer, one direction, cell by cell: ``x`` packed ``(N, I)``, ``state`` a tuple of
    ``(B, H)`` -> ``(out (N, H), final state)``. Sequences that have ended (packed batches) keep
    their state; in reverse a sequence starts at its own last step."""
    T, B = len(batch_sizes), batch_sizes[0]
    offsets = [0, *itertools.accumulate(batch_sizes)]
    outs = [None] * T
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        b, o = batch_sizes[t], offsets[t]
        running = state if b == B else tuple(s[:b] for s in state)
        new = step(x[o:o + b], running, *weights)
        outs[t] = new[0]
        state = new if b == B else tuple(cat([n, s[b:]]) for n, s in zip(new, state))
    return cat(outs, 0), state


_REFERENCE_STEP = {
    "LSTM": lambda x, s, *w: lstm_cell(x, s, *w),
    "GRU": lambda x, s, *w: (gru_cell(x, s[0], *w),),
    "RNN_TANH": lambda x, s, *w: (rnn_cell(x, s[0], *w, nonlinearity="tanh"),),
    "RNN_RELU": lambda x, s, *w: (rnn_cell(x, s[0], *w, nonlinearity="relu"),),
}


class RNNBase(Module):
    """What RNN, LSTM and GRU share: parameters, shape checks, layers, directions, packing.

    Parameters per layer ``k`` and direction (suffix ``_reverse`` for the backward one):
    ``weight_ih_l{k}`` ``(gates * H, I)`` (``I`` = input_size for layer 0, ``num_directions * H``
    above), ``weight_hh_l{k}`` ``(gates * H, H)``, ``bias_ih_l{k}``, ``bias_hh_l{k}``
    ``(gates * H,)``; all from U(-1/sqrt(H), 1/sqrt(H)), in PyTorch's order.
    """

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None, *, fused=True):
        super().__init__()
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + str(mode))
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the probability "
                             "of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero "
                          "dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=3)
        for arg, value in (("bias", bias), ("batch_first", batch_first)):
            if not isinstance(value, bool):
                raise TypeError(f"{arg} should be of type bool, got: {type(value).__name__}")
        for arg, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{arg} should be of type int, got: {type(value).__name__}")
            if value <= 0:
                raise ValueError(f"{arg} must be greater than zero")
        if not isinstance(num_layers, int) or isinstance(num_layers, bool):
            raise TypeError(f"num_layers should be of type int, got: {type(num_layers).__name__}")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size:
            raise NotImplementedError("LSTM: proj_size > 0 (LSTM with projections) is not implemented")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, proj_size
        self.fused = fused
        D, n = (2 if bidirectional else 1), _GATES[mode] * hidden_size
        self._flat_weights_names, self._all_weights = [], []
        for layer in range(num_layers):
            for direction in range(D):
                suffix = "_reverse" if direction else ""
                fan_in = input_size if layer == 0 else hidden_size * D
                shapes = {f"weight_ih_l{layer}{suffix}": (n, fan_in),
                          f"weight_hh_l{layer}{suffix}": (n, hidden_size)}
                if bias:
                    shapes[f"bias_ih_l{layer}{suffix}"] = (n,)
                    shapes[f"bias_hh_l{layer}{suffix}"] = (n,)
                for name, shape in shapes.items():
                    setattr(self, name, Parameter(zeros(*shape, dtype=dtype, device=device)))
                self._flat_weights_names.extend(shapes)
                self._all_weights.append(list(shapes))
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    @property
    def all_weights(self):
        """``[[weight_ih, weight_hh, bias_ih, bias_hh] per layer and direction]``."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    @property
    def _flat_weights(self):
        return [getattr(self, name) for name in self._flat_weights_names]

    def flatten_parameters(self):
        """Kept for PyTorch compatibility (cuDNN's weight layout); nothing to do here."""

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        if self.fused is not True:
            s += f", fused={self.fused}"
        return s

    # ------------------------------------------------------------------ forward
    def _layer(self, layer, direction, x, state, batch_sizes):
        """Run one layer in one direction over packed ``x (N, I)`` from ``state`` (tuple of
        ``(B, H)`` Tensors or Nones) -> ``(out (N, H), final state tuple)``."""
        sfx = "_reverse" if direction else ""
        w = (getattr(self, f"weight_ih_l{layer}{sfx}"), getattr(self, f"weight_hh_l{layer}{sfx}"),
             getattr(self, f"bias_ih_l{layer}{sfx}", None) if self.bias else None,
             getattr(self, f"bias_hh_l{layer}{sfx}", None) if self.bias else None)
        reverse = bool(direction)
        if self.fused:
            if self.mode == "LSTM":
                out, h, c = LSTMSequence.apply(x, state[0], state[1], *w, batch_sizes, reverse)
                return out, (h, c)
            if self.mode == "GRU":
                out, h = GRUSequence.apply(x, state[0], *w, batch_sizes, reverse)
            else:
                act = "tanh" if self.mode == "RNN_TANH" else "relu"
                out, h = RNNSequence.apply(x, state[0], *w, batch_sizes, reverse, act)
            return out, (h,)
        B = batch_sizes[0]
        state = tuple(zeros(B, self.hidden_size, dtype=x.dtype, device=x.device) if s is None else s
                      for s in state)
        return _reference_layer(_REFERENCE_STEP[self.mode], x, state, batch_sizes, reverse, w)

    def forward(self, input, hx=None):
        """``input``: ``(T, B, I)`` (``(B, T, I)`` with ``batch_first``), unbatched ``(T, I)``, or a
        PackedSequence. ``hx``: ``(num_layers * D, B, H)`` (``(num_layers * D, H)`` unbatched),
        ``(h_0, c_0)`` for the LSTM, default zeros; ``batch_first`` never applies to it.
        Returns ``output`` ``(T, B, D * H)`` (the last layer's state at every step; a
        PackedSequence for packed input) and ``h_n`` ``(num_layers * D, B, H)`` (``(h_n, c_n)``)."""
        kind = type(self).__name__
        lstm = self.mode == "LSTM"
        D = 2 if self.bidirectional else 1
        w0 = self.weight_ih_l0
        if lstm and hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"{kind}: hx must be a tuple (h_0, c_0) of two tensors, got {type(hx).__name__}")
        if not lstm and hx is not None and not isinstance(hx, Tensor):
            raise TypeError(f"{kind}: hx must be a Tensor h_0, got {type(hx).__name__} (only the LSTM "
                            f"takes a tuple (h_0, c_0))")
        states = None if hx is None else (list(hx) if lstm else [hx])
        packed = isinstance(input, PackedSequence)
        sorted_indices = unsorted_indices = None
        if packed:
            x, batch_sizes_t, sorted_indices, unsorted_indices = input
            batched, expected_dim = True, 2
        else:
            if not isinstance(input, Tensor):
                raise TypeError(f"{kind}: expected a Tensor or a PackedSequence, got {type(input).__name__}")
            if input.ndim not in (2, 3):
                extra = " tensor" if kind == "RNN" else ""
                raise ValueError(f"{kind}: Expected input to be 2D or 3D, got {input.ndim}D{extra} instead")
            batched, expected_dim = input.ndim == 3, 3
            if states is not None and any(s.ndim != input.ndim for s in states):
                got = ", ".join(f"{s.ndim}-D" for s in states)
                head = "For batched 3-D input" if batched else "For unbatched 2-D input"
                what = (f"hx and cx should also be {input.ndim}-D but got ({got}) tensors" if lstm else
                        f"hx should also be {input.ndim}-D but got {got} tensor")
                raise RuntimeError(f"{head}, {what}")
            if not batched:           # one sequence: a batch of one, time-major
                x = input.unsqueeze(1)
                states = None if states is None else [s.unsqueeze(1) for s in states]
            else:
                x = input.transpose(0, 1) if self.batch_first else input
        _check_dtype("RNN", x, w0)
        _check_device(kind, x, w0)
        if x.ndim != expected_dim:
            raise RuntimeError(f"input must have {expected_dim} dimensions, got {x.ndim}")
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {x.shape[-1]}")
        if not packed and x.shape[0] == 0:
            raise RuntimeError(f"{kind}: Expected sequence length to be larger than 0 in RNN (input of "
                               f"shape {tuple(input.shape)})")
        if packed:
            batch_sizes = tuple(int(b) for b in batch_sizes_t.tolist())
            B = batch_sizes[0]
        else:
            T, B = x.shape[0], x.shape[1]
            batch_sizes = (B,) * T
            x = x.reshape(T * B, self.input_size)      # packed layout: the rows of step t together
        if states is not None:
            expected = (self.num_layers * D, B, self.hidden_size)
            for k, s in enumerate(states):
                if tuple(s.shape) != expected:
                    what = f"hidden[{k}] size" if lstm else "hidden size"
                    raise RuntimeError(f"Expected {what} {expected}, got {list(s.shape)}")
                _check_device(kind, s, w0)
                if s.dtype != x.dtype:
                    raise RuntimeError(f"{kind}: hidden state dtype ({s.dtype}) does not match input "
                                       f"dtype ({x.dtype})")
            if sorted_indices is not None:   # each state row follows its sequence into sorted order
                states = [s[:, sorted_indices] for s in states]
        n_states = 2 if lstm else 1
        finals = [[] for _ in range(n_states)]
        for layer in range(self.num_layers):
            outs = []
            for d in range(D):
                k = layer * D + d
                start = (None,) * n_states if states is None else tuple(s[k] for s in states)
                out, final = self._layer(layer, d, x, start, batch_sizes)
                outs.append(out)
                for lst, f in zip(finals, final):
                    lst.append(f)
            x = outs[0] if D == 1 else cat(outs, 1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        finals = [stack(f, 0) for f in finals]
        if packed:
            if unsorted_indices is not None:
                finals = [f[:, unsorted_indices] for f in finals]
            output = PackedSequence(x, batch_sizes_t, sorted_indices, unsorted_indices)
        elif not batched:
            output = x
            finals = [f.squeeze(1) for f in finals]
        else:
            output = x.reshape(T, B, D * self.hidden_size)
            if self.batch_first:
                output = output.transpose(0, 1)
        return (output, tuple(finals)) if lstm else (output, finals[0])


class RNN(RNNBase):
    """Elman RNN: ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None, *, fused=True)``.
    See :class:`RNNBase` for parameters and :meth:`RNNBase.forward` for shapes."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None, *,
                 fused=True):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size,
                         num_layers, bias, batch_first, dropout, bidirectional, 0, device, dtype,
                         fused=fused)


class LSTM(RNNBase):
    """``LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, proj_size=0, device=None, dtype=None, *, fused=True)``: gates i, f, g, o.
    ``forward(input, (h_0, c_0))`` -> ``output, (h_n, c_n)``; see :meth:`RNNBase.forward`."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None, *, fused=True):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device, dtype, fused=fused)


class GRU(RNNBase):
    """``GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, device=None, dtype=None, *, fused=True)``: gates r, z, n.
    ``forward(input, h_0)`` -> ``output, h_n``; see :meth:`RNNBase.forward`."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None, *, fused=True):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, 0, device, dtype, fused=fused)
