"""Memory: inference keeps no graph, and backward frees each saved buffer once it has used it.

Measured with tracemalloc, which sees NumPy's allocations.
"""
import gc
import tracemalloc

import tinygrad_rnn as tg
from tinygrad_rnn import nn


def _mlp(layers, width):
    tg.manual_seed(0)
    mods = []
    for _ in range(layers):
        mods += [nn.Linear(width, width), nn.ReLU()]
    return nn.Sequential(*mods)


def test_inference_under_no_grad_keeps_no_graph_and_memory_stays_flat():
    model = _mlp(4, 64)
    x = tg.randn(32, 64)
    gc.collect()
    tracemalloc.start()
    try:
        with tg.no_grad():
            for step in range(1000):
                y = model(x)
                if step == 10:
                    after_warmup = tracemalloc.get_traced_memory()[0]
        end = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert y.grad_fn is None and not y.requires_grad
    # one output of 32 x 64 float32 is 8 kB; a kept graph would grow by ~40 kB per step
    assert end - after_warmup < 16_000, (after_warmup, end)


def test_a_training_step_peaks_near_the_activations_it_must_keep():
    layers, batch, width = 100, 256, 128
    model = _mlp(layers, width)
    x = tg.randn(batch, width)
    params = sum(p.numel() for p in model.parameters()) * 4
    activation = batch * width * 4
    (model(x) * 1e-3).sum().backward()               # warm up: caches, first .grad arrays
    model.zero_grad()
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        loss = (model(x) * 1e-3).sum()
        kept = tracemalloc.get_traced_memory()[0] - base
        loss.backward()
        peak = tracemalloc.get_traced_memory()[1] - base
        after_backward = tracemalloc.get_traced_memory()[0] - base
        del loss                                      # the graph's bookkeeping goes with it
        end = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    # the forward keeps one activation per layer (relu's output, which the next matmul and relu's
    # own backward both read): that is the sum of the activations the graph needs
    activations = layers * activation
    assert kept < 1.1 * activations, (kept, activations)
    # during backward the kept activations are freed as gradients (the size of the parameters)
    # appear: the peak stays within 1.2x the activations plus the gradients themselves
    assert peak < 1.2 * activations + params, (peak, activations, params)
    # the graph is still alive (loss holds it), but its saved buffers are gone: only the gradients
    # and the nodes' bookkeeping remain, far less than one tenth of the activations
    assert after_backward - params < 0.1 * activations, (after_backward, params, activations)
    # afterwards: the gradients (plus a Python object header or two per gradient), nothing else
    headers = 2000 * len(list(model.parameters()))
    assert end < params + headers + activation, (end, params)
