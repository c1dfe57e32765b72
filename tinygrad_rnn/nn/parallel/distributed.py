"""DistributedDataParallel: one model per rank, gradients averaged so all ranks take the same step.

Each rank runs forward and backward on its own share of the batch. At the end of backward the
gradients are averaged over the ranks, so every rank's ``.grad`` becomes the gradient of the loss
on the whole (concatenated) batch, and identical optimizers keep identical models. With N ranks
and b samples each, training equals one process training on N*b samples per step.

How gradients travel: parameters are grouped into buckets of at most ``bucket_cap_mb`` MiB (in
reverse registration order, as in PyTorch: roughly the order backward produces them). For each
bucket the ranks' gradients are copied into one flat contiguous buffer, ONE allreduce sums it, and
the average is copied back into each ``.grad``. Few large messages beat many small ones: each
message pays the network's latency once.

When: every parameter has a post-accumulate-grad hook; the first one to fire in a backward pass
queues the reduction as an end-of-backward callback (``autograd.queue_callback``). This engine
computes every leaf gradient in one pass at the end of backward, so starting the allreduce of a
bucket early would not overlap it with any remaining computation; doing all buckets at the end
costs nothing here.

Before the buckets, one small ``all_gather`` tells every rank what every other rank saw in this
backward: its synchronised-forward and backward numbers and which parameters got a gradient
(16 bytes and one byte per parameter). Every rank then takes the same decision: average, or raise
the same error (a parameter some rank did not use, without ``find_unused_parameters=True``; ranks
out of step). No rank is left waiting in an allreduce that another skipped, and gradients of
different steps are never averaged together.
"""
from __future__ import annotations

import contextlib
import weakref

import numpy as np

from ... import autograd, distributed as dist
from ...autograd import is_grad_enabled, no_grad
from ...tensor import Tensor
from ..module import Module

_MIB = 1024 * 1024
_DEFAULT_BUCKET_MB = 25


def _assign_buckets(params, cap_bytes):
    """Indices of ``params`` grouped into buckets of at most ``cap_bytes`` (a parameter larger than
    that gets a bucket of its own), walking the parameters in reverse order; parameters of one
    bucket share a dtype and a device (one flat buffer holds them)."""
    buckets, open_ = [], {}          # open_: (dtype, device) -> [indices, bytes]
    for i in reversed(range(len(params))):
        p = params[i]
        key, size = (p.dtype, p.device), p.numel() * p.dtype.itemsize
        cur = open_.get(key)
        if cur is not None and cur[1] + size > cap_bytes:
            buckets.append(cur[0])
            cur = None
        if cur is None:
            cur = open_[key] = [[], 0]
        cur[0].append(i)
        cur[1] += size
    buckets.extend(c[0] for c in open_.values() if c[0])
    return buckets


def _flat_groups(tensors):
    """Tensors grouped by (dtype, device), in order: one flat buffer per group."""
    groups = {}
    for t in tensors:
        groups.setdefault((t.dtype, t.device), []).append(t)
    return groups.values()


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training over the default process group.

    ``DistributedDataParallel(module, device_ids=None, output_device=None, dim=0,
    broadcast_buffers=True, init_sync=True, process_group=None, bucket_cap_mb=None,
    find_unused_parameters=False, check_reduction=False, gradient_as_bucket_view=False,
    static_graph=False)``: PyTorch's arguments in PyTorch's order.

    * At construction, rank 0's parameters and buffers are copied to every rank (``init_sync``),
      after checking that every rank holds the same parameter shapes.
    * ``ddp(*inputs)`` calls ``module(*inputs)``; in grad mode (and outside ``no_sync()``) it first
      copies rank 0's buffers to every rank (``broadcast_buffers``), and every backward after it
      averages the gradients over the ranks (several backwards through one forward, with
      ``retain_graph=True``, are each averaged: ``.grad`` ends as the average of their sum).
      Every rank must make the same such forwards and backwards; a rank out of step is an error
      on every rank.
    * ``bucket_cap_mb`` (default 25 MiB): the most gradient bytes one allreduce carries.
    * A parameter that got no gradient in a synchronised backward, on any rank, is an error raised
      on every rank (nothing is averaged), unless ``find_unused_parameters=True``: it then counts
      as zeros in the average (and a parameter no rank used keeps its ``.grad``).
    * ``no_sync()``: forward/backward inside accumulate local gradients only; the first
      synchronised backward after it averages the accumulated ``.grad``.
    * ``ddp.module`` is the wrapped module. ``ddp.state_dict()`` keys start with ``module.`` (as
      in PyTorch); save ``ddp.module.state_dict()`` to get a checkpoint that loads into the bare
      model.

    ``device_ids`` / ``output_device`` are for GPU modules only and must name the module's device;
    ``dim``, ``check_reduction``, ``gradient_as_bucket_view`` and ``static_graph`` are accepted and
    change nothing here.
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 init_sync=True, process_group=None, bucket_cap_mb=None, find_unused_parameters=False,
                 check_reduction=False, gradient_as_bucket_view=False, static_graph=False):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected an nn.Module, got {type(module).__name__}")
        if process_group is not None:
            raise NotImplementedError("DistributedDataParallel: process subgroups are not supported; "
                                      "pass process_group=None (the default group, all ranks)")
        group = dist._default(None, "DistributedDataParallel")
        params = [p for p in module.parameters() if p.requires_grad]
        if not params:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have any "
                               "parameter that requires a gradient.")
        devices = {p.device for p in module.parameters()}
        if len(devices) > 1:
            raise ValueError(f"DistributedDataParallel's input module must be on one device, but its "
                             f"parameters are on {sorted(str(d) for d in devices)}.")
        device = params[0].device
        if device_ids is not None or output_device is not None:
            ids = list(device_ids) if device_ids is not None else []
            if device.type == "cpu" or len(ids) > 1 or any(_as_device(d) != device for d in ids + (
                    [output_device] if output_device is not None else [])):
                raise ValueError(
                    f"DistributedDataParallel device_ids and output_device arguments only work with "
                    f"single-device GPU modules, and must name the module's device, but got device_ids "
                    f"{device_ids}, output_device {output_device}, and module parameters on {device}.")
        if bucket_cap_mb is None:
            bucket_cap_mb = _DEFAULT_BUCKET_MB
        if isinstance(bucket_cap_mb, bool) or not isinstance(bucket_cap_mb, (int, float)) or bucket_cap_mb <= 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be a positive number, got "
                             f"{bucket_cap_mb!r}")
        self.module = module
        self.device_ids = device_ids
        self.output_device = output_device
        self.dim = dim
        self.broadcast_buffers = bool(broadcast_buffers)
        self.find_unused_parameters = bool(find_unused_parameters)
        self.bucket_bytes_cap = int(bucket_cap_mb * _MIB)
        self.require_backward_grad_sync = True
        self._group = group
        self._params = params
        self._names = {id(p): n for n, p in module.named_parameters()}
        self._buckets = _assign_buckets(params, self.bucket_bytes_cap)
        self._layout = self._layout_key()
        self._sync_pending = False      # the last forward asked for the backwards after it to average
        self._step = 0                  # synchronised forwards so far
        self._backwards = 0             # synchronised backwards since the last one
        self._queued = False            # this backward pass has queued its end callback
        self._ready = [False] * len(params)     # got a gradient in this backward pass
        self._used = [False] * len(params)      # ... in any pass since the last averaging
        self._verify_same_model()
        if init_sync:
            with no_grad():
                self._broadcast_coalesced(list(module.parameters()) + list(module.buffers()))
        me = weakref.ref(self)          # no cycle: the parameters outlive a dropped wrapper
        self._handles = [p.register_post_accumulate_grad_hook(_Hook(me, i)) for i, p in enumerate(params)]

    # ------------------------------------------------------------------ forward and no_sync
    def forward(self, *inputs, **kwargs):
        sync = is_grad_enabled() and self.require_backward_grad_sync
        if sync and self.broadcast_buffers and self._group.size > 1:
            with no_grad():
                self._broadcast_coalesced([b for b in self.module.buffers()])
        if sync:
            self._step, self._backwards = self._step + 1, 0
        self._sync_pending = sync
        return self.module(*inputs, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Inside, backward passes only accumulate local gradients (for gradient accumulation);
        the first backward after a forward outside averages everything accumulated."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    # ------------------------------------------------------------------ the reduction
    def _on_grad(self, i):
        self._ready[i] = self._used[i] = True
        if not self._queued:
            self._queued = True
            autograd.queue_callback(self._end_of_backward)

    def _end_of_backward(self):
        """Average the gradients over the ranks, once per backward after a synchronised forward
        (each of several backwards through one forward with ``retain_graph=True`` too)."""
        self._queued = False
        ready, self._ready = self._ready, [False] * len(self._params)
        if not self._sync_pending:      # a no_sync() forward, or the module called directly
            return
        self._backwards += 1
        used, self._used = self._used, [False] * len(self._params)
        table = self._agree(ready, used)
        if not self.find_unused_parameters and not table["ready"].all():
            raise RuntimeError(self._unused_message(table["ready"]))
        self._average_gradients(table["used"].any(axis=0) if self.find_unused_parameters else None)

    def _agree(self, ready, used):
        """Every rank's view of this backward, the same on every rank: one small all_gather of
        (synchronised forward number, backward number, which parameters got a gradient).

        Every rank decides from the same table, so an error is raised on all ranks at once and no
        rank is left waiting in an allreduce that the others skipped; and a rank that is a step
        ahead or behind (it skipped a backward, or its loss reached no parameter) is an error,
        never an average of gradients from different steps."""
        mine = np.concatenate([np.array([self._step, self._backwards], np.int64).view(np.uint8),
                               np.asarray(ready, np.uint8) | (np.asarray(used, np.uint8) << 1)])
        if self._group.size > 1:
            every = np.empty((self._group.size, mine.size), np.uint8)
            self._group.all_gather(every, mine)
        else:
            every = mine[None]
        steps = every[:, :16].copy().view(np.int64)          # (ranks, 2)
        if (steps != steps[0]).any():
            where = ", ".join(f"rank {r}: forward {s}, backward {b}" for r, (s, b) in enumerate(steps.tolist()))
            raise RuntimeError(
                "DistributedDataParallel: the ranks are out of step, so their gradients cannot be "
                f"averaged ({where}; counting synchronised forwards, and backwards since the last "
                "one). Every rank must make the same synchronised forwards (in grad mode, outside "
                "no_sync()) and the same number of backward passes after each: a rank that skips "
                "backward (an empty batch, a loss that reaches no parameter) must still run one, "
                "e.g. on its loss times 0, and a forward on some ranks only (evaluation) belongs "
                "under tinygrad_rnn.no_grad() or goes through ddp.module.")
        flags = every[:, 16:]
        return {"ready": (flags & 1).astype(bool), "used": (flags & 2).astype(bool)}

    def _unused_message(self, ready):
        """PyTorch's error for parameters that got no gradient, with each rank's missing ones."""
        lines = []
        for r, got in enumerate(ready):
            missing = np.flatnonzero(~got).tolist()
            if missing:
                names = ", ".join(self._names.get(id(self._params[i]), "?") for i in missing)
                lines.append(f"Parameter indices which did not receive grad for rank {r}: "
                             f"{' '.join(map(str, missing))} ({names})")
        return ("DistributedDataParallel: some parameters received no gradient in this backward pass: "
                "your module has parameters that were not used in producing loss, so the gradients "
                "cannot be averaged over the ranks (every rank raises this error; no gradient was "
                "averaged). You can enable unused parameter detection by passing the keyword argument "
                "`find_unused_parameters=True` to `nn.parallel.DistributedDataParallel` (they then "
                "count as zeros), and by making sure all `forward` function outputs participate in "
                "calculating loss.\n" + "\n".join(lines))

    def _layout_key(self):
        return tuple((p.dtype, p.device) for p in self._params)

    def _average_gradients(self, used):
        """One allreduce per bucket, then ``.grad = sum / world_size``."""
        if self._layout_key() != self._layout:     # .double() / .to(device) since construction
            self._buckets = _assign_buckets(self._params, self.bucket_bytes_cap)
            self._layout = self._layout_key()
        params, size = self._params, self._group.size
        if size == 1:                   # the average of one rank's gradients is its own
            return
        with no_grad():
            for bucket in self._buckets:
                xp = params[bucket[0]].device.xp
                parts = [params[i].grad.array.reshape(-1) if params[i].grad is not None else
                         xp.zeros(params[i].numel(), params[i].dtype) for i in bucket]
                flat = xp.concatenate(parts) if len(parts) > 1 else xp.array(parts[0], copy=True)
                self._group.all_reduce(flat, "sum")
                flat /= size
                offset = 0
                for i in bucket:
                    p = params[i]
                    n = p.numel()
                    if used is None or used[i]:
                        avg = flat[offset:offset + n].reshape(p.shape)
                        if p.grad is None:
                            p.grad = Tensor.wrap(avg, p.device)
                        else:
                            p.grad.array[...] = avg
                            p.grad.bump_version()
                    offset += n

    # ------------------------------------------------------------------ start-up
    def _broadcast_coalesced(self, tensors):
        """Copy rank 0's values of ``tensors`` to every rank: one broadcast per dtype and device."""
        if self._group.size == 1:
            return
        for group in _flat_groups(tensors):
            xp = group[0].device.xp
            flat = xp.concatenate([t.array.reshape(-1) for t in group])
            self._group.broadcast(flat, 0)
            offset = 0
            for t in group:
                n = t.numel()
                t.array[...] = flat[offset:offset + n].reshape(t.shape)
                t.bump_version()
                offset += n

    def _verify_same_model(self):
        """Every rank must hold parameters of the same shapes and dtypes, else the flat buffers would
        not line up (and a broadcast of different sizes could hang): all ranks raise together."""
        mine = [(tuple(p.shape), str(p.dtype)) for p in self.module.parameters()]
        every = self._group.all_gather_object(mine)
        ref = every[0]
        for r, theirs in enumerate(every):
            if len(theirs) != len(ref):
                raise RuntimeError(f"DDP expects same model across all ranks, but Rank 0 has {len(ref)} "
                                   f"params, while rank {r} has inconsistent {len(theirs)} params.")
            for k, (a, b) in enumerate(zip(ref, theirs)):
                if a != b:
                    raise RuntimeError(f"DDP expects same model across all ranks, but Rank {r} has param "
                                       f"{k} of shape {list(b[0])} and dtype {b[1]}, while rank 0 has "
                                       f"shape {list(a[0])} and dtype {a[1]}.")

    def __del__(self):
        for h in getattr(self, "_handles", ()):
            h.remove()


class _Hook:
    """A parameter's post-accumulate-grad hook: tells its DDP wrapper (if still alive) it is ready."""
    __slots__ = ("ddp", "index")

    def __init__(self, ddp, index):
        self.ddp, self.index = ddp, index

    def __call__(self, param):
        ddp = self.ddp()
        if ddp is not None:
            ddp._on_grad(self.index)


def _as_device(d):
    from ... import backend
    if isinstance(d, int):
        return backend.device(f"cuda:{d}")
    return backend.device(d)
