"""Fused recurrent kernels: one layer of an RNN / LSTM / GRU over a whole sequence, in one direction,
with the backward through time written by hand on raw arrays (NumPy or CuPy, through ``xp``).

``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` call these on their fast path (``fused=True``, the default).
The reference path, cells composed from primitive Tensor ops in ``nn/recurrent.py``, computes the
same functions; the tests check that both give the same outputs and gradients. The equations, with
``x_t`` the input, ``h`` the previous hidden state and ``W = weight``, ``b = bias``:

    LSTM  i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of (W_ih x_t + b_ih + W_hh h + b_hh)
          c' = f * c + i * g                 h' = o * tanh(c')
    GRU   r, z = sigmoid(W_i[rz] x_t + b_i[rz] + W_h[rz] h + b_h[rz])
          n = tanh(W_in x_t + b_in + r * (W_hn h + b_hn))
          h' = (1 - z) * n + z * h
    RNN   h' = tanh(W_ih x_t + b_ih + W_hh h + b_hh)      (or relu)

Speed: ONE matrix product projects the inputs of all time steps; each step does one
``h @ W_hh^T`` into a preallocated buffer and the gate arithmetic in place (one ``tanh`` for all
four LSTM gates: sigmoid(a) = (1 + tanh(a / 2)) / 2). In backward the pre-activation gradients of
all steps are kept in one array, so ``dW_ih``, ``dW_hh``, the biases and ``dx`` take one matrix
product (or sum) each after the loop over time; the LSTM's bias rides along as one more column of
``W_ih`` (``[x, 1]`` in, ``[dW_ih | db]`` out). The LSTM computes the gate derivatives its backward
needs inside the forward loop, while each step's values are still in cache.

Layout: a sequence is "packed", as in ``nn.utils.rnn.PackedSequence``: ``x`` is ``(N, I)``, the
rows of step ``t`` are ``offsets[t] : offsets[t] + batch_sizes[t]`` and ``batch_sizes`` never
grows, so the sequences still running at step ``t`` are always the first ``batch_sizes[t]``. A
plain ``(T, B, I)`` batch is the case ``x.reshape(T * B, I)``, ``batch_sizes = (B,) * T``.
A sequence that has ended keeps its state: it is its final state. In the reverse direction a
sequence starts, from the initial state, at its own last step.

The backward computes on raw arrays, so these kernels are ``once_differentiable``: differentiating
their gradients again raises an error that points to the reference path (``fused=False``).
"""
from __future__ import annotations

from ..autograd import Function

# The op's name appears in its errors; the one that matters most is the engine's refusal to
# differentiate a once_differentiable op twice, which should point to the flag that avoids it.
_NAME = "{0} fused kernel (nn.{0}(..., fused=True); fused=False is the reference path)"


class _Steps:
    """Where each time step's rows live.

    Packed rows (``x``, gates, outputs) of step ``t``: ``rows(t)``. States are kept in one buffer of
    ``N + B`` rows: the outputs of every step plus the initial state, placed so that the previous
    state of a step is, whenever it can be, a view of that buffer (no copies): in the forward
    direction the initial state comes first and step ``t``'s outputs start at ``B + offsets[t]``; in
    the reverse direction the outputs come first and the initial state sits at rows ``N : N + B``.
    """

    def __init__(self, batch_sizes, reverse):
        self.bs = bs = tuple(int(b) for b in batch_sizes)
        self.T, self.B, self.N = len(bs), bs[0], sum(bs)
        self.reverse = reverse
        self.off, o = [], 0
        for b in bs:
            self.off.append(o)
            o += b
        self.dense = all(b == self.B for b in bs)
        self.order = range(self.T - 1, -1, -1) if reverse else range(self.T)
        self.out0 = 0 if reverse else self.B          # first output row in the state buffer
        self.init = slice(self.N, self.N + self.B) if reverse else slice(0, self.B)
        self.outs = slice(self.out0, self.out0 + self.N)

    def rows(self, t):
        return slice(self.off[t], self.off[t] + self.bs[t])

    def out_rows(self, t):
        a = self.out0 + self.off[t]
        return slice(a, a + self.bs[t])

    def prev(self, xp, S, t):
        """The state that step ``t`` starts from, ``(batch_sizes[t], H)``."""
        b, N = self.bs[t], self.N
        if not self.reverse:      # the first b rows of the step before (or of the initial state)
            a = 0 if t == 0 else self.B + self.off[t - 1]
            return S[a:a + b]
        if t == self.T - 1:
            return S[N:N + b]
        b1, a = self.bs[t + 1], self.off[t + 1]
        if b1 == b:
            return S[a:a + b]
        # sequences whose last step is t start here from the initial state
        return xp.concatenate((S[a:a + b1], S[N + b1:N + b]))

    def all_prev(self, xp, S):
        """Every step's previous state, stacked in packed row order: ``(N, H)``."""
        if self.dense:
            return S[self.B:self.N + self.B] if self.reverse else S[0:self.N]
        return xp.concatenate([self.prev(xp, S, t) for t in range(self.T)])

    def final(self, xp, S):
        """Each sequence's last state, ``(B, H)`` (a copy: outputs must not alias saved buffers)."""
        if self.reverse:
            return S[0:self.B].copy()
        if self.dense:
            return S[self.N:self.N + self.B].copy()
        # rows batch_sizes[t + 1] : batch_sizes[t] end at step t
        bs = self.bs + (0,)
        pieces = [S[self.B + self.off[t] + bs[t + 1]:self.B + self.off[t] + bs[t]]
                  for t in range(self.T - 1, -1, -1) if bs[t + 1] < bs[t]]
        return xp.concatenate(pieces)


def _array(g):
    """The raw array of an incoming gradient (a Tensor, or already an array)."""
    while hasattr(g, "grad_fn"):          # a Tensor (the engine may hand over a wrapped one)
        g = g.array
    return g


def _with_ones(xp, x, bias):
    """``[x, 1]`` (N, I + 1) when there is a bias, else ``x``: the bias becomes one more column of
    the weight, so one matrix product applies it and one gives its gradient."""
    if not bias:
        return x
    xa = xp.empty((x.shape[0], x.shape[1] + 1), x.dtype)
    xa[:, :-1] = x
    xa[:, -1] = 1
    return xa


def _with_bias(xp, w_ih, b_ih, b_hh):
    """``[W_ih, b_ih + b_hh]`` (G, I + 1), or ``W_ih`` without a bias."""
    if b_ih is None:
        return w_ih
    return xp.concatenate((w_ih, (b_ih + b_hh)[:, None]), axis=1)


def _recurrent_product(xp, w, hp, buf):
    """One step's ``h @ W^T``, ``(b, G)``, computed as ``W @ h^T`` ``(G, b)`` into ``buf`` and
    returned as a transposed view: for a batch much smaller than G this orientation of the matrix
    product is the faster one (about 25% at H = 512 with OpenBLAS), and W needs no transposed copy."""
    out = buf[:w.shape[0] * hp.shape[0]].reshape(w.shape[0], hp.shape[0])
    xp.matmul(w, hp.T, out=out)
    return out.T


def _start_state(xp, S, steps, h0):
    if h0 is None:
        S[steps.init] = 0
    else:
        S[steps.init] = h0


def _input_grads(dG, x, w_ih, need):
    """``dx = dG @ W_ih``, ``dW_ih = dG^T x``, ``db = sum of dG over rows`` (only those needed)."""
    dx = dG @ w_ih if need[0] else None
    dw = dG.T @ x if need[1] else None
    db = dG.sum(0) if need[2] else None
    return dx, dw, db


# ----------------------------------------------------------------------------- LSTM

def _lstm_forward_weights(xp, w, H):
    """Gate blocks reordered i, f, o, g and the sigmoid gates' rows halved, so one tanh serves all
    four gates: sigmoid(a) = (1 + tanh(a / 2)) / 2. Used by the forward only."""
    out = xp.empty_like(w)
    w4, o4 = w.reshape((4, H) + w.shape[1:]), out.reshape((4, H) + w.shape[1:])
    xp.multiply(w4[0:2], 0.5, out=o4[0:2])
    xp.multiply(w4[3], 0.5, out=o4[2])
    o4[3] = w4[2]
    return out


class LSTMSequence(Function):
    """One LSTM layer over a packed sequence, one direction.

    ``x (N, I)``, ``h0, c0 (B, H)`` or None (zeros), ``w_ih (4H, I)``, ``w_hh (4H, H)``,
    ``b_ih, b_hh (4H,)`` or None; gates in PyTorch's order i, f, g, o
    -> ``out (N, H)``, ``h_n (B, H)``, ``c_n (B, H)``.
    """
    name = _NAME.format("LSTM")
    once_differentiable = True

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, batch_sizes, reverse=False):
        xp = ctx.xp(x, w_hh)
        H, dt = w_hh.shape[1], x.dtype
        st = ctx.steps = _Steps(batch_sizes, reverse)
        N, B = st.N, st.B
        record = any(ctx.needs_input_grad)
        # [x, 1]: the bias rides along in the matrix products (forward and weight gradient)
        xa = _with_ones(xp, x, b_ih is not None)
        # G: every step's gates, (N, 4H) in the order i, f, o, g; first the input projections of
        # all steps at once, then each step adds h @ W_hh^T and turns them into gate values in place
        G = xa @ _lstm_forward_weights(xp, _with_bias(xp, w_ih, b_ih, b_hh), H).T
        whh = _lstm_forward_weights(xp, w_hh, H)
        S = xp.empty((N + B, H), dt)          # hidden states (see _Steps)
        C = xp.empty((N + B, H), dt)          # cell states, same layout (not needed by backward)
        _start_state(xp, S, st, h0)
        _start_state(xp, C, st, c0)
        hh = xp.empty(4 * H * B, dt)
        tc = xp.empty((B, H), dt)
        tmp = xp.empty((B, 3 * H), dt)
        if record:
            # what backward needs, computed while the step's values are in cache (see backward)
            Fd = xp.empty((N, H), dt)         # f
            A = xp.empty((N, H), dt)          # o (1 - tanh(c)^2)
        for t in st.order:
            b, rows, orows = st.bs[t], st.rows(t), st.out_rows(t)
            g = G[rows]
            cp = st.prev(xp, C, t)
            g += _recurrent_product(xp, whh, st.prev(xp, S, t), hh)
            xp.tanh(g, out=g)
            sig = g[:, :3 * H]                # i, f, o: (1 + tanh) / 2
            sig *= 0.5
            sig += 0.5
            i, f, o, gg = g[:, :H], g[:, H:2 * H], g[:, 2 * H:3 * H], g[:, 3 * H:]
            c, tc_ = C[orows], tc[:b]
            xp.multiply(f, cp, out=c)                                    # c = f * c_prev
            xp.multiply(i, gg, out=tc_)                                  #   + i * g
            c += tc_
            xp.tanh(c, out=tc_)
            xp.multiply(o, tc_, out=S[orows])                           # h = o * tanh(c)
            if not record:
                continue
            Fd[rows] = f
            a = A[rows]                                                  # o (1 - tanh(c)^2)
            xp.multiply(tc_, tc_, out=a)
            xp.subtract(1, a, out=a)
            a *= o
            # derivatives of the gates with respect to their pre-activations, times what they
            # multiply: g i (1 - i), c_prev f (1 - f), tanh(c) o (1 - o), i (1 - g^2); they
            # replace the gate values in G, in the same order i, f, o, g
            d = tmp[:b]
            xp.subtract(1, sig, out=d)
            d *= sig
            d[:, :H] *= gg
            d[:, H:2 * H] *= cp
            d[:, 2 * H:] *= tc_
            xp.multiply(gg, gg, out=tc_)
            xp.subtract(1, tc_, out=tc_)
            xp.multiply(tc_, i, out=gg)
            sig[...] = d
        out = S[st.outs]
        if record:        # out is saved too, so changing it in place is caught (version counter)
            ctx.save_for_backward(xa, w_ih, w_hh, G, Fd, A, S, out)
        return out, st.final(xp, S), st.final(xp, C)

    @staticmethod
    def backward(ctx, dout, dh_n, dc_n):
        xa, w_ih, w_hh, F, Fd, A, S, _ = (t.array for t in ctx.saved_tensors)
        need = ctx.needs_input_grad
        xp = ctx.xp(F)
        st, H = ctx.steps, w_hh.shape[1]
        N, B = st.N, st.B
        dout = _array(dout)
        # per step, with dh = dL/dh and dc = dL/dc (both including what later steps send back):
        # dc += dh o (1 - tanh(c)^2); d pre_i, d pre_f, d pre_g = dc * F_i, F_f, F_g;
        # d pre_o = dh * F_o; dL/dc_prev = dc f; dL/dh_prev = d pre @ W_hh
        dG = xp.empty((N, 4 * H), F.dtype)    # pre-activation gradients, PyTorch's gate order
        dhc = _array(dh_n).copy()             # gradient reaching each sequence's state from later steps
        dcc = _array(dc_n).copy()
        dh = xp.empty((B, H), F.dtype)
        dc = xp.empty((B, H), F.dtype)
        for t in reversed(st.order):
            b, rows = st.bs[t], st.rows(t)
            dh_, dc_, f, d = dh[:b], dc[:b], F[rows], dG[rows]
            xp.add(dout[rows], dhc[:b], out=dh_)
            xp.multiply(dh_, A[rows], out=dc_)
            dc_ += dcc[:b]
            xp.multiply(f.reshape(b, 4, H)[:, :2], dc_[:, None, :], out=d.reshape(b, 4, H)[:, :2])  # i, f
            xp.multiply(f[:, 3 * H:], dc_, out=d[:, 2 * H:3 * H])                           # g
            xp.multiply(f[:, 2 * H:3 * H], dh_, out=d[:, 3 * H:])                           # o
            xp.multiply(dc_, Fd[rows], out=dcc[:b])
            xp.matmul(d, w_hh, out=dhc[:b])
        dx = dG @ w_ih if need[0] else None
        dw_ih = dw_hh = db = None
        if need[3] or need[5] or need[6]:
            dwa, I = dG.T @ xa, w_ih.shape[1]  # (4H, I [+ 1]): [dW_ih | db]
            dw_ih = xp.ascontiguousarray(dwa[:, :I]) if need[3] else None
            db = dwa[:, I].copy() if xa.shape[1] > I else None
        if need[4]:
            dw_hh = dG.T @ st.all_prev(xp, S)
        return (dx, dhc if need[1] else None, dcc if need[2] else None, dw_ih, dw_hh,
                db if need[5] else None, db.copy() if need[6] else None, None, None)


# ----------------------------------------------------------------------------- GRU

def _gru_forward_weights(xp, w, H):
    """The r and z rows halved (sigmoid through tanh, as for the LSTM); n untouched."""
    out = xp.empty_like(w)
    xp.multiply(w[:2 * H], 0.5, out=out[:2 * H])
    out[2 * H:] = w[2 * H:]
    return out


class GRUSequence(Function):
    """One GRU layer over a packed sequence, one direction.

    ``x (N, I)``, ``h0 (B, H)`` or None, ``w_ih (3H, I)``, ``w_hh (3H, H)``, ``b_ih, b_hh (3H,)``
    or None; gates in PyTorch's order r, z, n -> ``out (N, H)``, ``h_n (B, H)``.
    """
    name = _NAME.format("GRU")
    once_differentiable = True

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, batch_sizes, reverse=False):
        xp = ctx.xp(x, w_hh)
        H, dt = w_hh.shape[1], x.dtype
        st = ctx.steps = _Steps(batch_sizes, reverse)
        N, B = st.N, st.B
        record = any(ctx.needs_input_grad)
        xa = _with_ones(xp, x, b_ih is not None)
        if b_ih is not None:      # b_hr and b_hz add to the input side; b_hn stays inside r * (...)
            bias = b_ih.copy()
            bias[:2 * H] += b_hh[:2 * H]
            b_hn = b_hh[2 * H:]
            w = xp.concatenate((w_ih, bias[:, None]), axis=1)
        else:
            w = w_ih
        # G: (N, 3H) r, z, n; the input projections of all steps, then each step's gate values
        G = xa @ _gru_forward_weights(xp, w, H).T
        whh = _gru_forward_weights(xp, w_hh, H)
        S = xp.empty((N + B, H), dt)
        HN = xp.empty((N, H), dt)              # W_hn h + b_hn of every step (r multiplies it)
        _start_state(xp, S, st, h0)
        hh = xp.empty(3 * H * B, dt)
        tmp = xp.empty((B, H), dt)
        if record:
            FZ = xp.empty((N, H), dt)
        for t in st.order:
            b, rows, orows = st.bs[t], st.rows(t), st.out_rows(t)
            g, hp, tmp_ = G[rows], st.prev(xp, S, t), tmp[:b]
            hh_ = _recurrent_product(xp, whh, hp, hh)                      # (b, 3H)
            rz = g[:, :2 * H]
            rz += hh_[:, :2 * H]
            xp.tanh(rz, out=rz)
            rz *= 0.5
            rz += 0.5
            r, z, n, hn = g[:, :H], g[:, H:2 * H], g[:, 2 * H:], HN[rows]
            if b_ih is not None:
                xp.add(hh_[:, 2 * H:], b_hn, out=hn)
            else:
                hn[...] = hh_[:, 2 * H:]
            xp.multiply(r, hn, out=tmp_)
            n += tmp_
            xp.tanh(n, out=n)
            h = S[orows]                                                  # h' = n + z (h - n)
            xp.subtract(hp, n, out=h)
            if record:
                # what backward needs, while the step is in cache: (h - n) z (1 - z) into FZ,
                # (1 - z)(1 - n^2) in place of n, hn r (1 - r) in place of hn
                fz = FZ[rows]
                xp.subtract(1, z, out=fz)
                fz *= z
                fz *= h
            h *= z
            h += n
            if record:
                xp.multiply(n, n, out=tmp_)
                xp.subtract(1, tmp_, out=tmp_)
                xp.subtract(1, z, out=n)
                n *= tmp_
                xp.subtract(1, r, out=tmp_)
                tmp_ *= r
                hn *= tmp_
        out = S[st.outs]
        if record:        # out is saved too, so changing it in place is caught (version counter)
            ctx.save_for_backward(xa, w_ih, w_hh, G, HN, FZ, S, out)
        return out, st.final(xp, S)

    @staticmethod
    def backward(ctx, dout, dh_n):
        xa, w_ih, w_hh, G, Fr, Fz, S, _ = (t.array for t in ctx.saved_tensors)
        need = ctx.needs_input_grad
        xp = ctx.xp(G)
        st, H = ctx.steps, w_hh.shape[1]
        N, B = st.N, st.B
        dout = _array(dout)
        r, z, Fn = G[:, :H], G[:, H:2 * H], G[:, 2 * H:]
        # per step: d pre_n = dh (1 - z)(1 - n^2); d pre_z = dh (h_prev - n) z (1 - z);
        # d pre_r = d pre_n hn r (1 - r); the W_hn side of n gets d pre_n r; dh_prev = ... + dh z
        dGh = xp.empty((N, 3 * H), G.dtype)   # gradients of W_hh h + b_hh: r, z, n
        dGn = xp.empty((N, H), G.dtype)       # gradient of the input side of n
        dhc = _array(dh_n).copy()
        dh = xp.empty((B, H), G.dtype)
        tmp = xp.empty((B, H), G.dtype)
        for t in reversed(st.order):
            b, rows = st.bs[t], st.rows(t)
            dh_, dgh, dn = dh[:b], dGh[rows], dGn[rows]
            xp.add(dout[rows], dhc[:b], out=dh_)
            xp.multiply(dh_, Fn[rows], out=dn)
            xp.multiply(dh_, Fz[rows], out=dgh[:, H:2 * H])
            xp.multiply(dn, Fr[rows], out=dgh[:, :H])
            xp.multiply(dn, r[rows], out=dgh[:, 2 * H:])
            xp.matmul(dgh, w_hh, out=dhc[:b])
            xp.multiply(dh_, z[rows], out=tmp[:b])
            dhc[:b] += tmp[:b]
        I = w_ih.shape[1]
        rz = dGh[:, :2 * H]                   # the input side's r and z gradients are the same
        dx = dw_ih = db_ih = None
        if need[0]:
            dx = rz @ w_ih[:2 * H]
            dx += dGn @ w_ih[2 * H:]
        if need[2] or need[4]:
            dwa = xp.concatenate((rz.T @ xa, dGn.T @ xa))   # (3H, I [+ 1]): [dW_ih | db_ih]
            dw_ih = xp.ascontiguousarray(dwa[:, :I]) if need[2] else None
            db_ih = dwa[:, I].copy() if need[4] else None
        dw_hh = dGh.T @ st.all_prev(xp, S) if need[3] else None
        db_hh = dGh.sum(0) if need[5] else None
        return (dx, dhc if need[1] else None, dw_ih, dw_hh, db_ih, db_hh, None, None)


# ----------------------------------------------------------------------------- Elman RNN

class RNNSequence(Function):
    """One Elman RNN layer over a packed sequence, one direction, ``nonlinearity`` "tanh" or "relu".

    ``x (N, I)``, ``h0 (B, H)`` or None, ``w_ih (H, I)``, ``w_hh (H, H)``, ``b_ih, b_hh (H,)`` or
    None -> ``out (N, H)``, ``h_n (B, H)``.
    """
    name = _NAME.format("RNN")
    once_differentiable = True

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, batch_sizes, reverse=False, nonlinearity="tanh"):
        xp = ctx.xp(x, w_hh)
        H, dt = w_hh.shape[1], x.dtype
        st = ctx.steps = _Steps(batch_sizes, reverse)
        ctx.relu = nonlinearity == "relu"
        S = xp.empty((st.N + st.B, H), dt)
        out = S[st.outs]
        xp.matmul(x, w_ih.T, out=out)          # every step's input projection, in place
        if b_ih is not None:
            out += b_ih + b_hh
        _start_state(xp, S, st, h0)
        hh = xp.empty(H * st.B, dt)
        for t in st.order:
            h = S[st.out_rows(t)]
            h += _recurrent_product(xp, w_hh, st.prev(xp, S, t), hh)
            if ctx.relu:
                xp.maximum(h, 0, out=h)
            else:
                xp.tanh(h, out=h)
        ctx.save_for_backward(x, w_ih, w_hh, S, out)
        return out, st.final(xp, S)

    @staticmethod
    def backward(ctx, dout, dh_n):
        x, w_ih, w_hh, S, _ = (t.array for t in ctx.saved_tensors)
        need = ctx.needs_input_grad
        xp = ctx.xp(S)
        st = ctx.steps
        dout = _array(dout)
        out = S[st.outs]
        D = xp.empty(out.shape, S.dtype)
        if ctx.relu:                           # relu' = 1 where the output is positive, else 0
            D[...] = out > 0
        else:                                  # tanh' = 1 - tanh^2
            xp.multiply(out, out, out=D)
            xp.subtract(1, D, out=D)
        dG = xp.empty_like(D)
        dhc = _array(dh_n).copy()
        dh = xp.empty_like(dhc)
        for t in reversed(st.order):
            b, rows = st.bs[t], st.rows(t)
            xp.add(dout[rows], dhc[:b], out=dh[:b])
            xp.multiply(dh[:b], D[rows], out=dG[rows])
            xp.matmul(dG[rows], w_hh, out=dhc[:b])
        dx, dw_ih, db = _input_grads(dG, x, w_ih, (need[0], need[2], need[4] or need[5]))
        dw_hh = dG.T @ st.all_prev(xp, S) if need[3] else None
        return (dx, dhc if need[1] else None, dw_ih, dw_hh, db if need[4] else None,
                db.copy() if need[5] else None, None, None, None)
