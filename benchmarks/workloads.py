"""The workloads of ``python -m benchmarks``: sizes, initial weights and batch, and one builder per
library.

Every library starts from the same numbers: weights and batches are drawn with NumPy from a fixed
seed, each array from its own generator keyed by its PyTorch parameter name (so the order in which
a library asks for them does not matter), and loaded into each library's model. A builder
``build(quick, threads) -> step`` returns a function that runs one step (one training step, or one
pass of the op chain) and returns its loss (the chain's output without grad), so the runner can
check that every library computed the same numbers; it runs inside that library's own worker
process. A library with no builder for a workload cannot express it (micrograd has scalars only,
MyGrad and micrograd no double backward): its cell stays blank.

The builders for tinygrad_rnn and PyTorch are one function each: the two share names, argument
order and parameter layout, so the same code builds both.
"""
import functools
import importlib.util
import inspect
import math
import pathlib
import zlib

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEED = 0
LIBRARIES = ("tinygrad_rnn", "torch", "dezero", "mygrad", "micrograd")
PEERS = ("dezero", "mygrad", "micrograd")     # NumPy-based autograd engines, columns when installed
# why a peer's cell is blank where it is
LIMITS = {"micrograd": "micrograd has scalar values only (the chain runs on 4 of them), no no_grad "
                       "and no higher-order derivatives",
          "mygrad": "MyGrad has no higher-order derivatives"}


# ---------------------------------------------------------------------------------------------
# the same initial numbers for every library

def _rng(name):
    return np.random.default_rng([SEED, zlib.crc32(name.encode())])


def uniform(name, shape, bound):
    """float32 array of ``shape``, uniform in (-bound, bound), the same for every caller of ``name``."""
    return _rng(name).uniform(-bound, bound, size=shape).astype(np.float32)


def normal(name, shape):
    return _rng(name).standard_normal(size=shape).astype(np.float32)


def integers(name, shape, high):
    return _rng(name).integers(0, high, size=shape).astype(np.int64)


def init_state(shapes, rnn_hidden=None):
    """``{name: shape}`` (PyTorch's parameter names and layout) -> ``{name: float32 array}``.

    PyTorch's default initialisations: a Linear/Conv weight and its bias uniform within
    1/sqrt(fan_in), recurrent weights and biases within 1/sqrt(hidden), embeddings N(0, 1)."""
    weights = {n: s for n, s in shapes.items() if n.endswith("weight") and len(s) >= 2}
    out = {}
    for name, shape in shapes.items():
        leaf = name.rsplit(".", 1)[-1]
        if leaf.startswith(("weight_ih", "weight_hh", "bias_ih", "bias_hh")):
            out[name] = uniform(name, shape, 1 / math.sqrt(rnn_hidden))
        elif name.startswith("embed"):
            out[name] = normal(name, shape)
        else:
            w = weights[name[:-len("bias")] + "weight"] if leaf == "bias" else shape
            out[name] = uniform(name, shape, 1 / math.sqrt(math.prod(w[1:])))
    return out


def _framework(lib, threads):
    """The module that plays ``torch`` for ``lib``: PyTorch itself, or tinygrad_rnn (same names)."""
    if lib == "torch":
        import torch
        torch.set_num_threads(threads)
        return torch
    import tinygrad_rnn
    return tinygrad_rnn


def _load(T, model, arrays):
    model.load_state_dict({k: T.tensor(v) for k, v in arrays.items()})


def _shapes(model):
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def _dezero():
    import numpy
    if "int" not in vars(numpy):
        # DeZero 0.0.13, its last release, names numpy.int (removed in NumPy 1.24) in a default
        # argument; the alias lives in this worker process only, which runs DeZero and nothing else
        numpy.int = int
    import dezero
    import dezero.functions
    import dezero.layers
    import dezero.optimizers
    return dezero


# ---------------------------------------------------------------------------------------------
# chain: 100 small elementwise ops on shape (4,), the per-op overhead of each engine

CHAIN_BLOCKS = 25                 # each block is 4 ops: x * w, + b, relu, x * x
CHAIN_OPS = 4 * CHAIN_BLOCKS


def chain_arrays():
    # x -> relu(w x + b)^2 has a stable fixed point near 0.15 for w in (0.85, 0.95), b = 0.25, and
    # starts below the unstable one (> 0.4): values and gradients stay finite and normal over 25 blocks
    x = _rng("chain.x").uniform(0.0, 0.3, 4).astype(np.float32)
    w = _rng("chain.w").uniform(0.85, 0.95, 4).astype(np.float32)
    return x, w, np.full(4, 0.25, np.float32)


def _chain(x, w, b, relu):
    for _ in range(CHAIN_BLOCKS):
        x = relu(x * w + b)
        x = x * x
    return x


def chain_fw(kind, lib, quick, threads):
    T = _framework(lib, threads)
    x0, w0, b0 = chain_arrays()
    x, w, b = T.tensor(x0, requires_grad=True), T.tensor(w0), T.tensor(b0)
    relu = type(x).relu

    def grad():
        loss = _chain(x, w, b, relu).sum()
        loss.backward()
        x.grad = None
        return loss

    def nograd():
        with T.no_grad():
            return _chain(x, w, b, relu)

    def double():
        g, = T.autograd.grad(_chain(x, w, b, relu).sum(), x, create_graph=True)
        norm = (g * g).sum()
        norm.backward()
        x.grad = None
        return norm
    return {"grad": grad, "nograd": nograd, "double": double}[kind]


def chain_dezero(kind, quick, threads):
    dz = _dezero()
    F = dz.functions
    x, w, b = (dz.Variable(a) for a in chain_arrays())

    def grad():
        loss = F.sum(_chain(x, w, b, F.relu))
        loss.backward()
        x.cleargrad()
        return loss

    def nograd():
        with dz.no_grad():
            return _chain(x, w, b, F.relu)

    def double():
        F.sum(_chain(x, w, b, F.relu)).backward(create_graph=True)
        g = x.grad
        x.cleargrad()
        norm = F.sum(g * g)
        norm.backward()
        x.cleargrad()
        return norm
    return {"grad": grad, "nograd": nograd, "double": double}[kind]


def chain_mygrad(kind, quick, threads):
    import mygrad as mg
    from mygrad.nnet.activations import relu
    x0, w0, b0 = chain_arrays()
    x, w, b = mg.Tensor(x0), mg.Tensor(w0, constant=True), mg.Tensor(b0, constant=True)

    def grad():
        loss = _chain(x, w, b, relu).sum()
        loss.backward()
        return loss

    def nograd():
        with mg.no_autodiff:
            return _chain(x, w, b, relu)
    if kind == "double":
        raise NotExpressible(LIMITS["mygrad"])
    return {"grad": grad, "nograd": nograd}[kind]


def chain_micrograd(kind, quick, threads):
    # micrograd's Value is one scalar: the chain runs on 4 of them, element by element
    from micrograd.engine import Value
    if kind != "grad":
        raise NotExpressible(LIMITS["micrograd"])
    x0, w0, b0 = chain_arrays()
    xs = [Value(float(v)) for v in x0]
    ws, bs = [float(v) for v in w0], [float(v) for v in b0]

    def grad():
        out = 0.0
        for x, w, b in zip(xs, ws, bs):
            for _ in range(CHAIN_BLOCKS):
                x = (x * w + b).relu()
                x = x * x
            out = x + out
        out.backward()
        for x in xs:
            x.grad = 0
        return out
    return grad


# ---------------------------------------------------------------------------------------------
# mlp: 784-256-256-10, batch 128, cross-entropy, one SGD step

def mlp_sizes(quick):
    return {"dims": (64, 32, 32, 10), "batch": 16} if quick else {"dims": (784, 256, 256, 10), "batch": 128}


def mlp_shapes(dims):
    """nn.Sequential(Linear, ReLU, Linear, ReLU, Linear)'s parameters: Linear k is module 2k."""
    shapes = {}
    for k, (i, o) in enumerate(zip(dims, dims[1:])):
        shapes[f"{2 * k}.weight"], shapes[f"{2 * k}.bias"] = (o, i), (o,)
    return shapes


def mlp_data(quick):
    s = mlp_sizes(quick)
    return (init_state(mlp_shapes(s["dims"])), normal("mlp.x", (s["batch"], s["dims"][0])),
            integers("mlp.y", s["batch"], s["dims"][-1]))


def mlp_fw(lib, quick, threads):
    T = _framework(lib, threads)
    nn, F = T.nn, T.nn.functional
    dims = mlp_sizes(quick)["dims"]
    layers = []
    for i, o in zip(dims, dims[1:]):
        layers += [nn.Linear(i, o), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    arrays, x, y = mlp_data(quick)
    _load(T, model, arrays)
    x, y = T.tensor(x), T.tensor(y)
    opt = T.optim.SGD(model.parameters(), lr=0.01)

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


def mlp_dezero(quick, threads):
    dz = _dezero()
    F, L = dz.functions, dz.layers
    dims = mlp_sizes(quick)["dims"]
    arrays, x, y = mlp_data(quick)
    net, linears = dz.Layer(), []
    for k, (i, o) in enumerate(zip(dims, dims[1:])):
        lin = L.Linear(o, in_size=i)
        lin.W.data = arrays[f"{2 * k}.weight"].T.copy()     # DeZero keeps W as (in, out)
        lin.b.data = arrays[f"{2 * k}.bias"]
        setattr(net, f"l{k}", lin)
        linears.append(lin)
    opt = dz.optimizers.SGD(lr=0.01).setup(net)

    def step():
        net.cleargrads()
        h = x
        for lin in linears[:-1]:
            h = F.relu(lin(h))
        loss = F.softmax_cross_entropy(linears[-1](h), y)
        loss.backward()
        opt.update()
        return loss
    return step


def _mygrad_sgd(params, lr=0.01):
    def update():
        for p in params:
            p.data -= lr * p.grad
    return update


def mlp_mygrad(quick, threads):
    import mygrad as mg
    from mygrad.nnet.activations import relu
    from mygrad.nnet.losses import softmax_crossentropy
    dims = mlp_sizes(quick)["dims"]
    arrays, x, y = mlp_data(quick)
    layers = [(mg.Tensor(arrays[f"{2 * k}.weight"].T.copy()), mg.Tensor(arrays[f"{2 * k}.bias"]))
              for k in range(len(dims) - 1)]
    update = _mygrad_sgd([p for layer in layers for p in layer])

    def step():
        h = x
        for W, b in layers[:-1]:
            h = relu(h @ W + b)
        W, b = layers[-1]
        loss = softmax_crossentropy(h @ W + b, y)
        loss.backward()
        update()
        return loss
    return step


# ---------------------------------------------------------------------------------------------
# conv: bench_conv.py's net (batch 64 of 1x28x28, two conv3x3 + ReLU + maxpool 2, linear 1152 -> 10)

CONV_QUICK_BATCH = 8
CONV_SHAPES = {"0.weight": (16, 1, 3, 3), "0.bias": (16,), "3.weight": (32, 16, 3, 3), "3.bias": (32,),
               "7.weight": (10, 32 * 6 * 6), "7.bias": (10,)}


def conv_sizes(quick):
    from benchmarks import bench_conv
    return {"batch": CONV_QUICK_BATCH if quick else bench_conv.BATCH, "image": (1, 28, 28)}


def conv_fw(lib, quick, threads):
    from benchmarks import bench_conv
    T = _framework(lib, threads)
    full_batch = bench_conv.BATCH
    if quick:
        bench_conv.BATCH = CONV_QUICK_BATCH      # build() reads the module's batch size when it runs
    try:
        step = bench_conv.build(lib)
    finally:
        bench_conv.BATCH = full_batch
    # build() returns only the step; the model it closes over gets the shared initial weights
    model = inspect.getclosurevars(step).nonlocals.get("model")
    if model is None or _shapes(model) != CONV_SHAPES:
        raise RuntimeError("benchmarks/bench_conv.py's build() changed: update CONV_SHAPES and "
                           "conv_fw in benchmarks/workloads.py to match it")
    _load(T, model, init_state(CONV_SHAPES))
    return step


def conv_batch(quick):
    """The batch bench_conv.build() makes, for the peers that cannot use its builder."""
    from benchmarks import bench_conv
    n = conv_sizes(quick)["batch"]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 1, 28, 28)).astype(np.float32)
    return x, rng.integers(0, bench_conv.CLASSES, n)


def conv_dezero(quick, threads):
    dz = _dezero()
    F, L = dz.functions, dz.layers
    a = init_state(CONV_SHAPES)
    x, y = conv_batch(quick)
    net = dz.Layer()
    net.c1 = L.Conv2d(16, 3, pad=1, in_channels=1)
    net.c2 = L.Conv2d(32, 3, in_channels=16)
    net.fc = L.Linear(10, in_size=32 * 6 * 6)
    net.c1.W.data, net.c1.b.data = a["0.weight"], a["0.bias"]
    net.c2.W.data, net.c2.b.data = a["3.weight"], a["3.bias"]
    net.fc.W.data, net.fc.b.data = a["7.weight"].T.copy(), a["7.bias"]
    opt = dz.optimizers.SGD(lr=0.01).setup(net)

    def step():
        net.cleargrads()
        h = F.pooling(F.relu(net.c1(x)), 2, 2)
        h = F.pooling(F.relu(net.c2(h)), 2, 2)
        loss = F.softmax_cross_entropy(net.fc(F.reshape(h, (len(x), -1))), y)
        loss.backward()
        opt.update()
        return loss
    return step


def conv_mygrad(quick, threads):
    import mygrad as mg
    from mygrad.nnet.activations import relu
    from mygrad.nnet.layers import conv_nd, max_pool
    from mygrad.nnet.losses import softmax_crossentropy
    a = init_state(CONV_SHAPES)
    x, y = conv_batch(quick)
    w1, b1, w2, b2 = (mg.Tensor(a[k]) for k in ("0.weight", "0.bias", "3.weight", "3.bias"))
    w3, b3 = mg.Tensor(a["7.weight"].T.copy()), mg.Tensor(a["7.bias"])
    update = _mygrad_sgd([w1, b1, w2, b2, w3, b3])

    def step():
        h = relu(conv_nd(x, w1, stride=1, padding=1) + b1.reshape(1, -1, 1, 1))
        h = max_pool(h, (2, 2), 2)
        h = relu(conv_nd(h, w2, stride=1) + b2.reshape(1, -1, 1, 1))
        h = max_pool(h, (2, 2), 2)
        loss = softmax_crossentropy(h.reshape(len(x), -1) @ w3 + b3, y)
        loss.backward()
        update()
        return loss
    return step


# ---------------------------------------------------------------------------------------------
# lstm / gru: one layer, batch 32, sequence 64, input 64, loss = mean(output^2), one SGD step

GATES = {"LSTM": 4, "GRU": 3}


def rnn_sizes(hidden, quick):
    if quick:
        return {"batch": 4, "seq": 8, "input": 16, "hidden": max(hidden // 8, 4)}
    return {"batch": 32, "seq": 64, "input": 64, "hidden": hidden}


def rnn_data(mode, hidden, quick):
    s = rnn_sizes(hidden, quick)
    G, I, H = GATES[mode], s["input"], s["hidden"]
    shapes = {"weight_ih_l0": (G * H, I), "weight_hh_l0": (G * H, H), "bias_ih_l0": (G * H,),
              "bias_hh_l0": (G * H,)}
    return s, init_state(shapes, rnn_hidden=H), normal("rnn.x", (s["seq"], s["batch"], I))


def rnn_fw(mode, hidden, lib, quick, threads):
    T = _framework(lib, threads)
    s, arrays, x = rnn_data(mode, hidden, quick)
    model = getattr(T.nn, mode)(s["input"], s["hidden"])
    _load(T, model, arrays)
    x = T.tensor(x)
    opt = T.optim.SGD(model.parameters(), lr=0.01)

    def step():
        opt.zero_grad()
        out, _ = model(x)
        loss = (out * out).mean()
        loss.backward()
        opt.step()
        return loss
    return step


def _rnn_cell_over_time(mode, x, p, H, ops):
    """The recurrence written with a peer's primitive ops (PyTorch's equations and gate order):
    the input projection of all steps at once, then per step one ``h @ W_hh`` and the gates.
    Returns the sum over steps of sum(h_t^2)."""
    matmul, sigmoid, tanh, total, at, cols = ops
    seq, batch, _ = x.shape
    xw = matmul(x.reshape(seq * batch, -1), p["W_ih"]) + p["b_ih"]
    if mode == "LSTM":
        xw = xw + p["b_hh"]                    # LSTM: both biases only ever add up
    xw = xw.reshape(seq, batch, -1)
    h = c = np.zeros((batch, H), np.float32)
    loss = None
    for t in range(seq):
        gx = at(xw, t)
        gh = matmul(h, p["W_hh"])
        if mode == "LSTM":
            g = gx + gh
            i, f = sigmoid(cols(g, 0, H)), sigmoid(cols(g, H, 2 * H))
            n, o = tanh(cols(g, 2 * H, 3 * H)), sigmoid(cols(g, 3 * H, 4 * H))
            c = f * c + i * n
            h = o * tanh(c)
        else:
            gh = gh + p["b_hh"]
            r = sigmoid(cols(gx, 0, H) + cols(gh, 0, H))
            z = sigmoid(cols(gx, H, 2 * H) + cols(gh, H, 2 * H))
            n = tanh(cols(gx, 2 * H, 3 * H) + r * cols(gh, 2 * H, 3 * H))
            h = n + z * (h - n)                # = (1 - z) * n + z * h, without a Python scalar
        loss = total(h * h) if loss is None else loss + total(h * h)
    return loss


def rnn_dezero(mode, hidden, quick, threads):
    dz = _dezero()
    F = dz.functions
    s, a, x = rnn_data(mode, hidden, quick)
    p = {"W_ih": a["weight_ih_l0"].T.copy(), "W_hh": a["weight_hh_l0"].T.copy(),
         "b_ih": a["bias_ih_l0"], "b_hh": a["bias_hh_l0"]}
    p = {k: dz.Parameter(v) for k, v in p.items()}
    # the mean over (seq, batch, hidden); a NumPy float32, since DeZero would turn a Python float
    # into a float64 array and the whole backward pass into float64
    scale = np.float32(1.0 / (s["seq"] * s["batch"] * s["hidden"]))
    ops = (F.matmul, F.sigmoid, F.tanh, F.sum, lambda v, t: v[t], lambda v, lo, hi: v[:, lo:hi])

    def step():
        for v in p.values():
            v.cleargrad()
        loss = _rnn_cell_over_time(mode, x, p, s["hidden"], ops) * scale
        loss.backward()
        for v in p.values():
            v.data -= 0.01 * v.grad.data
        return loss
    return step


def rnn_mygrad(mode, hidden, quick, threads):
    import mygrad as mg
    from mygrad.nnet.activations import sigmoid
    s, a, x = rnn_data(mode, hidden, quick)
    p = {"W_ih": a["weight_ih_l0"].T.copy(), "W_hh": a["weight_hh_l0"].T.copy(),
         "b_ih": a["bias_ih_l0"], "b_hh": a["bias_hh_l0"]}
    p = {k: mg.Tensor(v) for k, v in p.items()}
    scale = np.float32(1.0 / (s["seq"] * s["batch"] * s["hidden"]))
    update = _mygrad_sgd(list(p.values()))
    ops = (mg.matmul, sigmoid, mg.tanh, mg.sum, lambda v, t: v[t], lambda v, lo, hi: v[:, lo:hi])

    def step():
        loss = _rnn_cell_over_time(mode, x, p, s["hidden"], ops) * scale
        loss.backward()
        update()
        return loss
    return step


# ---------------------------------------------------------------------------------------------
# char_lstm: examples/char_lstm.py's model and training step (embedding -> 2-layer LSTM -> linear,
# cross-entropy, gradient clipping, Adam, hidden state carried and detached)

CHAR_VOCAB = 100      # about the number of distinct characters in the stdlib's sources


@functools.lru_cache(maxsize=None)
def char_example():
    """examples/char_lstm.py as a module, or None while that example does not exist."""
    path = ROOT / "examples" / "char_lstm.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location("char_lstm_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def char_config(quick):
    example = char_example()
    if example is None:
        return None
    cfg = example.QUICK if quick else example.DEFAULTS
    return {k: cfg[k] for k in ("embed", "hidden", "layers", "batch_size", "bptt", "lr", "clip")}


def char_fw(lib, quick, threads):
    T = _framework(lib, threads)
    nn, F = T.nn, T.nn.functional
    example, cfg = char_example(), char_config(quick)
    if example is None:
        raise NotExpressible("examples/char_lstm.py does not exist")
    V = CHAR_VOCAB
    if lib == "torch":
        class CharLSTM(nn.Module):         # the example's model, attribute for attribute
            def __init__(self):
                super().__init__()
                self.embed = nn.Embedding(V, cfg["embed"])
                self.lstm = nn.LSTM(cfg["embed"], cfg["hidden"], cfg["layers"])
                self.head = nn.Linear(cfg["hidden"], V)

            def forward(self, x, state=None):
                out, state = self.lstm(self.embed(x), state)
                return self.head(out), state
        model = CharLSTM()
    else:
        model = example.CharLSTM(V, cfg["embed"], cfg["hidden"], cfg["layers"])
    _load(T, model, init_state(_shapes(model), rnn_hidden=cfg["hidden"]))
    shape = (cfg["bptt"], cfg["batch_size"])
    x, y = T.tensor(integers("char.x", shape, V)), T.tensor(integers("char.y", shape, V))
    opt = T.optim.Adam(model.parameters(), lr=cfg["lr"])
    state = [None]

    def step():
        logits, st = model(x, state[0])
        loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), cfg["clip"])
        opt.step()
        state[0] = tuple(s.detach() for s in st)
        loss.item()                         # the example reads the loss every step
        return loss
    return step


# ---------------------------------------------------------------------------------------------
# the registry

class NotExpressible(Exception):
    """A library cannot express a workload: its cell stays blank (the message says why)."""


class Workload:
    """``kind``: "time" (seconds per step, from the library workers), "memory" (bptt_memory: peak
    bytes, measured by benchmarks/bench_bptt_memory.py's subprocesses) or "openblas" (the
    tinygrad_rnn worker with and without OPENBLAS_CORETYPE)."""

    def __init__(self, name, title, sizes, builders=None, unit="ms/step", per=1, kind="time", blank=None):
        self.name, self.title, self.sizes, self.builders = name, title, sizes, builders or {}
        self.unit, self.per, self.kind, self.blank = unit, per, kind, blank

    @property
    def scale(self):
        """Seconds per step -> the unit shown."""
        return {"us/op": 1e6, "ms/step": 1e3}[self.unit] / self.per

    def build(self, lib, quick, threads):
        if lib not in self.builders:
            raise NotExpressible(self.blank or LIMITS.get(lib) or f"no {lib} version of {self.name}")
        return self.builders[lib](quick, threads)


def _fw_and_peers(fw, dezero=None, mygrad=None, micrograd=None):
    builders = {lib: functools.partial(fw, lib) for lib in ("tinygrad_rnn", "torch")}
    for lib, b in (("dezero", dezero), ("mygrad", mygrad), ("micrograd", micrograd)):
        if b is not None:
            builders[lib] = b
    return builders


def _chain_builders(kind):
    return _fw_and_peers(functools.partial(chain_fw, kind), functools.partial(chain_dezero, kind),
                         functools.partial(chain_mygrad, kind), functools.partial(chain_micrograd, kind))


def _chain_sizes(quick):
    return {"shape": (4,), "ops": CHAIN_OPS}


def _rnn(mode, hidden):
    return Workload(f"{mode.lower()}{hidden}", f"{mode} training step, hidden {hidden}",
                    functools.partial(rnn_sizes, hidden),
                    _fw_and_peers(*(functools.partial(f, mode, hidden) for f in (rnn_fw, rnn_dezero, rnn_mygrad))))


def gemm_numpy(m, k, n, quick, threads):
    """One NumPy matrix product (m, k) @ (k, n): OpenBLAS alone, no autograd engine."""
    a, b = normal(f"gemm.a.{m}.{k}", (m, k)), normal(f"gemm.b.{k}.{n}", (k, n))
    return lambda: a @ b


def _gemm(m, k, n, what):
    return Workload(f"gemm_{m}x{k}x{n}", f"NumPy ({m}, {k}) @ ({k}, {n}), {what}", lambda quick: None,
                    {"tinygrad_rnn": functools.partial(gemm_numpy, m, k, n)}, unit="us/op")


# timed only by the openblas workload (they measure NumPy's BLAS, not an engine): not in --only
HIDDEN = {w.name: w for w in [_gemm(128, 784, 256, "the MLP's first layer"),
                              _gemm(32, 256, 1024, "an LSTM 256 step's h @ W_hh^T at batch 32")]}


def find(name):
    return WORKLOADS[name] if name in WORKLOADS else HIDDEN[name]


# ---------------------------------------------------------------------------------------------
# loops of small ops that PyTorch users write by hand

def lstmcell_sizes(quick):
    return {"steps": 8, "batch": 4, "input": 8, "hidden": 16} if quick else \
        {"steps": 64, "batch": 8, "input": 16, "hidden": 32}


def lstmcell_fw(lib, quick, threads):
    """An LSTMCell stepped by hand over the sequence (PyTorch's time-series example), a Linear on
    the last state, MSE, Adam: one training step."""
    T = _framework(lib, threads)
    nn, F = T.nn, T.nn.functional
    s = lstmcell_sizes(quick)
    cell, head = nn.LSTMCell(s["input"], s["hidden"]), nn.Linear(s["hidden"], 1)
    _load(T, cell, init_state(_shapes(cell), rnn_hidden=s["hidden"]))
    _load(T, head, init_state({f"{k}": v for k, v in _shapes(head).items()}))
    x = T.tensor(normal("lstmcell.x", (s["steps"], s["batch"], s["input"])))
    y = T.tensor(normal("lstmcell.y", (s["batch"], 1)))
    opt = T.optim.Adam(list(cell.parameters()) + list(head.parameters()), lr=1e-3)

    def step():
        opt.zero_grad()
        h = c = T.zeros(s["batch"], s["hidden"])
        for t in range(s["steps"]):
            h, c = cell(x[t], (h, c))
        loss = F.mse_loss(head(h), y)
        loss.backward()
        opt.step()
        return loss
    return step


def generate_sizes(quick):
    return {"chars": 8, "vocab": 20, "hidden": 16} if quick else {"chars": 40, "vocab": 60, "hidden": 128}


def generate_fw(lib, quick, threads):
    """PyTorch's char-RNN generation tutorial's loop under no_grad: per character a Linear of
    ``cat(input, hidden)`` for the new hidden state, another for the output, a log_softmax."""
    T = _framework(lib, threads)
    nn = T.nn
    s = generate_sizes(quick)
    V, H = s["vocab"], s["hidden"]
    i2h, i2o = nn.Linear(V + H, H), nn.Linear(V + H, V)
    _load(T, i2h, init_state(_shapes(i2h)))
    _load(T, i2o, init_state(_shapes(i2o)))
    xs = T.tensor(normal("generate.x", (s["chars"], 1, V)))

    def step():
        with T.no_grad():
            h = T.zeros(1, H)
            total = 0
            for t in range(s["chars"]):
                both = T.cat((xs[t], h), 1)
                h = i2h(both).tanh()
                total = total + i2o(both).log_softmax(1)
            return total.sum()
    return step


def _jitted(builder):
    """tinygrad_rnn's step under tg.jit (the first calls record, in the warm-up)."""
    def build(quick, threads):
        import tinygrad_rnn
        return tinygrad_rnn.jit(builder(quick, threads))
    return build


def char_jit(lib, quick, threads):
    """The char-LSTM step written for tg.jit: the carried state goes in and out as arguments (a
    replay runs no Python, so it cannot keep it in a variable), the loss is read by the caller."""
    T = _framework(lib, threads)
    nn, F = T.nn, T.nn.functional
    example, cfg = char_example(), char_config(quick)
    if example is None:
        raise NotExpressible("examples/char_lstm.py does not exist")
    V = CHAR_VOCAB
    model = example.CharLSTM(V, cfg["embed"], cfg["hidden"], cfg["layers"])
    _load(T, model, init_state(_shapes(model), rnn_hidden=cfg["hidden"]))
    shape = (cfg["bptt"], cfg["batch_size"])
    x, y = T.tensor(integers("char.x", shape, V)), T.tensor(integers("char.y", shape, V))
    opt = T.optim.Adam(model.parameters(), lr=cfg["lr"])

    def inner(x, y, h, c):
        logits, (h, c) = model(x, (h, c))
        loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), cfg["clip"])
        opt.step()
        return loss, h.detach(), c.detach()
    fast = T.jit(inner)
    zeros = T.zeros(cfg["layers"], cfg["batch_size"], cfg["hidden"])
    state = [zeros, zeros.clone()]

    def step():
        loss, state[0], state[1] = fast(x, y, *state)
        loss.item()                         # the example reads the loss every step
        return loss
    return step


WORKLOADS = {w.name: w for w in [
    Workload("chain", "100 elementwise ops on shape (4,): forward + backward, per op", _chain_sizes,
             _chain_builders("grad"), unit="us/op", per=CHAIN_OPS),
    Workload("chain_nograd", "the same chain's forward under no_grad, per op", _chain_sizes,
             _chain_builders("nograd"), unit="us/op", per=CHAIN_OPS),
    Workload("chain_double", "the chain with create_graph=True, then backward of the gradient's "
             "squared norm, per op", _chain_sizes, _chain_builders("double"), unit="us/op", per=CHAIN_OPS),
    Workload("mlp", "MLP 784-256-256-10, batch 128, cross-entropy, SGD step", mlp_sizes,
             _fw_and_peers(mlp_fw, mlp_dezero, mlp_mygrad)),
    Workload("conv", "conv net of bench_conv.py, batch 64, SGD step", conv_sizes,
             _fw_and_peers(conv_fw, conv_dezero, conv_mygrad)),
    *[_rnn(mode, h) for mode in ("LSTM", "GRU") for h in (128, 256, 512)],
    Workload("char_lstm", "examples/char_lstm.py's training step (2-layer LSTM 256, batch 32 x 64 "
             "characters, Adam, clipping)", lambda quick: char_config(quick),
             _fw_and_peers(char_fw), blank="char_lstm is the example's own model, timed for "
             "tinygrad_rnn and PyTorch only"),
    Workload("lstmcell", "an LSTMCell stepped by hand over 64 steps (hidden 32, batch 8), Adam step",
             lstmcell_sizes, _fw_and_peers(lstmcell_fw), blank="PyTorch-style loop: tinygrad_rnn and PyTorch only"),
    Workload("generate", "char-RNN generation loop (PyTorch's tutorial): 40 characters of Linear(cat), "
             "log_softmax, no_grad", generate_sizes, _fw_and_peers(generate_fw),
             blank="PyTorch-style loop: tinygrad_rnn and PyTorch only"),
    Workload("bptt_memory", "peak memory of full vs truncated BPTT against sequence length L",
             lambda quick: None, kind="memory"),
    Workload("openblas", "tinygrad_rnn with OpenBLAS's default kernels vs OPENBLAS_CORETYPE=Haswell "
             "(mlp, lstm256)", lambda quick: None, kind="openblas"),
]}


# every timed workload again with tinygrad_rnn's step under tg.jit, beside PyTorch eager
for _w in [w for w in WORKLOADS.values() if w.kind == "time" and "tinygrad_rnn" in w.builders]:
    _jit_builders = {"tinygrad_rnn": (functools.partial(char_jit, "tinygrad_rnn") if _w.name == "char_lstm"
                                      else _jitted(_w.builders["tinygrad_rnn"]))}
    if "torch" in _w.builders:
        _jit_builders["torch"] = _w.builders["torch"]
    WORKLOADS[_w.name + "+jit"] = Workload(_w.name + "+jit", _w.title + ", tinygrad_rnn under tg.jit",
                                           _w.sizes, _jit_builders, unit=_w.unit, per=_w.per,
                                           blank="tg.jit rows time tinygrad_rnn and PyTorch (eager) only")
del _w, _jit_builders
