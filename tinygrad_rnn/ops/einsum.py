"""Einstein summation: ``einsum("ij,jk->ik", a, b)`` and every subscript form NumPy accepts
(implicit output, ``...`` broadcasting, repeated subscripts for diagonals and traces, size-1
broadcasting of a subscript across operands), plus PyTorch's sublist form
``einsum(a, [0, 1], b, [1, 2], [0, 2])``.

The equation is first rewritten without ``...`` and without implicit output (ellipsis dims get
unused letters), and operands whose size-1 dims broadcast against larger ones are expanded
(``expand`` is differentiable), so the Function sees one explicit equation with consistent sizes.

Gradient of operand k: the output gradient contracted with the other operands, written as one more
einsum whose output is operand k's subscripts:

    out = einsum("ij,jk->ik", a, b)   =>   grad_a = einsum("ik,jk->ij", g, b)

Two cases need a constant extra operand so that the equation stays valid:
* a letter that only operand k has (summed away inside it, as j in ``"ij->i"``): the gradient is
  constant along it, so a vector of ones with that letter is added;
* a letter repeated in operand k (a diagonal, as in the trace ``"ii->"``): the repeats are renamed
  to fresh letters and an identity matrix ties each to the first, which puts the gradient on the
  diagonal and zeros elsewhere.
The gradient is itself an einsum of tensors, so it is differentiable again.
"""
from __future__ import annotations

import math
import string
from collections import Counter

import numpy as np

from ..autograd import Function, OpError, OpNotImplementedError
from ..dtypes import promote_types, torch_name
from ..tensor import Tensor
from .common import const

_LETTERS = string.ascii_uppercase + string.ascii_lowercase
_INT64 = np.dtype(np.int64)


def _equation(ins, out):
    return ",".join("".join(s) for s in ins) + "->" + "".join(out)


class Einsum(Function):
    """``ins``: one list of letters per operand (explicit, no '...'); ``out``: the output letters.
    Sizes of a letter agree across operands (broadcasting was done before)."""

    @staticmethod
    def forward(ctx, *operands, ins, out):
        ctx.ins, ctx.out = ins, out
        ctx.save_for_backward(*operands)
        # optimize=True lets NumPy/CuPy pick a contraction order and use BLAS (tensordot)
        out = ctx.xp(*operands).einsum(_equation(ins, out), *operands, optimize=len(operands) > 1)
        # one operand may come back as a (read-only) view of it: results own their memory
        return out.copy() if len(operands) == 1 else out

    @staticmethod
    def backward(ctx, g):
        operands = ctx.saved_tensors
        return tuple(_operand_grad(k, g, operands, ctx.ins, ctx.out) if need else None
                     for k, need in enumerate(ctx.needs_input_grad))


def _operand_grad(k, g, operands, ins, out):
    target = ins[k]
    sizes = dict(zip(target, operands[k].shape))
    spare = [c for c in _LETTERS if c not in set(out).union(*ins)]
    xp = g.device.xp
    subs = [out] + [s for j, s in enumerate(ins) if j != k]
    args = [g] + [t for j, t in enumerate(operands) if j != k]
    seen = set(out).union(*(s for j, s in enumerate(ins) if j != k))
    renamed = []
    for c in target:
        if c in renamed:            # a repeat: a fresh letter, tied to c by an identity matrix
            fresh = spare.pop()
            subs.append([c, fresh])
            args.append(const(xp.eye(sizes[c], dtype=g.dtype), g))
            renamed.append(fresh)
            continue
        if c not in seen:           # only operand k has c: the gradient is constant along it
            subs.append([c])
            args.append(const(xp.ones(sizes[c], dtype=g.dtype), g))
            seen.add(c)
        renamed.append(c)
    return Einsum.apply(*args, ins=subs, out=renamed)


# ----------------------------------------------------------------------------- parsing

def _from_sublists(args):
    """PyTorch's ``einsum(op0, sublist0, op1, sublist1, ..., [sublist_out])`` -> (equation, operands)."""
    def letters(sub):
        s = ""
        for v in sub:
            if v is Ellipsis:
                s += "..."
            elif isinstance(v, int) and 0 <= v < len(_LETTERS):
                s += _LETTERS[v]
            else:
                raise OpError(f"einsum(): subscript in subscript list is not within the valid range "
                              f"[0, {len(_LETTERS)}), got {v!r}")
        return s
    operands, subs = list(args[0::2]), list(args[1::2])
    out = None
    if len(operands) > len(subs):       # an odd count: the last item is the output sublist
        out = operands.pop()
    eq = ",".join(letters(s) for s in subs)
    if out is not None:
        eq += "->" + letters(out)
    return eq, operands


def _parse(equation, tensors):
    """The equation -> (explicit input letter lists, output letters), checked against the shapes."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) > len(tensors):
        raise OpError("einsum(): fewer operands were provided than specified in the equation")
    if len(terms) < len(tensors):
        raise OpError("einsum(): more operands were provided than specified in the equation")
    for i, ch in enumerate(eq):
        if not (ch in _LETTERS or ch in ",.->"):
            raise OpError(f"einsum(): invalid subscript given at index {i} in the equation string, "
                          f"subscripts must be in [a-zA-Z]")
    named = [t.replace("...", "") for t in terms]
    n_ell = 0
    for i, (t, n, x) in enumerate(zip(terms, named, tensors)):
        if "..." in t:
            if t.count("...") > 1 or "." in n:
                raise OpError(f"einsum(): found more than one ellipsis (or a stray '.') in operand {i}")
            if x.ndim < len(n):
                raise OpError(f"einsum(): the number of subscripts in the equation ({len(n)}) is more "
                              f"than the number of dimensions ({x.ndim}) for operand {i}")
            n_ell = max(n_ell, x.ndim - len(n))
        elif "." in t:
            raise OpError(f"einsum(): found '.' for operand {i} that is not part of any ellipsis")
        elif len(n) != x.ndim:
            raise OpError(f"einsum(): the number of subscripts in the equation ({len(n)}) does not "
                          f"match the number of dimensions ({x.ndim}) for operand {i} and no "
                          f"ellipsis was given")
    used = set("".join(named) + rhs.replace(".", ""))
    free = [c for c in _LETTERS if c not in used]
    if n_ell > len(free):
        raise OpError("einsum(): too many dimensions: not enough unused letters for '...'")
    ell = free[:n_ell]
    ins = []
    for t, x in zip(terms, tensors):
        if "..." in t:
            pre, post = t.split("...")
            k = x.ndim - len(pre) - len(post)
            ins.append(list(pre) + ell[n_ell - k:] + list(post))
        else:
            ins.append(list(t))
    if arrow:
        if "..." in rhs:
            pre, post = rhs.split("...")
            out = list(pre) + ell + list(post)
        elif "." in rhs:
            raise OpError("einsum(): found '.' in the output that is not part of any ellipsis")
        else:
            out = list(rhs)
        for c in out:
            if out.count(c) > 1:
                raise OpError(f"einsum(): output subscript {c} appears more than once in the output")
            if not any(c in s for s in ins):
                raise OpError(f"einsum(): output subscript {c} does not appear in the equation for "
                              f"any input operand")
    else:   # implicit: the ellipsis dims, then the letters seen once, in alphabetical order
        counts = Counter("".join(named))
        out = ell + sorted(c for c, n in counts.items() if n == 1)
    return ins, out


def _broadcast(ins, tensors):
    """Check the sizes of every letter; expand operands whose size-1 dims meet a larger size."""
    size = {}
    for i, (s, x) in enumerate(zip(ins, tensors)):
        local = {}
        for c, n in zip(s, x.shape):
            if c in local and local[c] != n:
                raise OpError(f"einsum(): subscript {c} is repeated for operand {i} but the sizes "
                              f"don't match, {local[c]} != {n}")
            local[c] = n
        for c, n in local.items():
            if c in size and n not in (1, size[c]) and size[c] != 1:
                raise OpError(f"einsum(): subscript {c} has size {n} for operand {i} which does not "
                              f"broadcast with previously seen size {size[c]}")
            size[c] = max(size.get(c, n), n)
    out = []
    for s, x in zip(ins, tensors):
        full = tuple(size[c] for c in s)
        if full != tuple(x.shape):
            if len(set(s)) != len(s):
                raise OpError(f"einsum(): operand with subscripts {''.join(s)} has a repeated "
                              f"subscript of size 1 that would need broadcasting")
            x = x.expand(*full)
        out.append(x)
    return out


def einsum(*args):
    """``einsum(equation, *operands)``, ``einsum(equation, [operands])`` or the sublist form."""
    if not args:
        raise TypeError("einsum(): expected an equation and operands")
    if isinstance(args[0], str):
        equation, tensors = args[0], list(args[1:])
        if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
            tensors = list(tensors[0])
    else:
        equation, tensors = _from_sublists(args)
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"einsum(): operand {i} is a {type(t).__name__}, expected a Tensor")
    if not tensors:
        raise OpError("einsum(): must provide at least one operand")
    for t in tensors[1:]:
        if t.dtype != tensors[0].dtype:
            raise OpError(f"einsum(): expected scalar type {torch_name(tensors[0].dtype)} but found "
                          f"{torch_name(t.dtype)} (all operands need one dtype, as in PyTorch)")
    ins, out = _parse(equation, tensors)
    operands = _broadcast(ins, tensors)
    if tensors[0].dtype.kind != "f":
        dt = _integer_result(ins, out, tensors)
        if dt != tensors[0].dtype:
            operands = [t.to(dt) for t in operands]
    return Einsum.apply(*operands, ins=ins, out=out)


def _integer_result(ins, out, tensors):
    """The dtype of PyTorch's einsum of integer or bool operands, or the error it raises.

    PyTorch first sums each operand over the letters no other operand or the output has (a sum:
    int64; a letter of size 1 in a multi-operand einsum is only squeezed), then contracts the
    operands left to right: by an elementwise product when no letter is summed away (promoting
    the two dtypes), else by a batched matrix product, which needs one dtype and has no bool
    version. So ``"ij->i"`` of uint8 is int64, ``"ij,jk->ik"`` stays uint8, ``"i,i->i"`` of bool
    stays bool and ``"i,i->"`` of bool raises."""
    dt = tensors[0].dtype
    sizes = [dict(zip(s, t.shape)) for s, t in zip(ins, tensors)]
    if len(ins) == 1:
        return _INT64 if set(ins[0]) - set(out) else dt
    kept, dts = [], []
    for k, s in enumerate(ins):
        others = set(out).union(*(ins[j] for j in range(len(ins)) if j != k))
        private = set(s) - others
        kept.append(set(s) - private)
        dts.append(_INT64 if any(sizes[k][c] != 1 for c in private) else dt)
    acc, acc_dt, acc_size = kept[0], dts[0], dict(sizes[0])
    for k in range(1, len(ins)):
        later = set(out).union(*ins[k + 1:])
        summed = [c for c in acc & kept[k] if c not in later]
        bmm = False
        for c in summed:        # a size-1 side is summed away first, the other side squeezed
            a, b = acc_size[c], sizes[k][c]
            if a == 1 and b != 1:
                dts[k] = _INT64
            elif b == 1 and a != 1:
                acc_dt = _INT64
            elif a != 1:
                bmm = True
        if bmm:
            work = math.prod(_joint_size(acc_size, sizes[k], c) for c in acc | kept[k])
            if acc_dt.kind == "b" and work:
                raise OpNotImplementedError("einsum(): \"bmm\" not implemented for 'Bool' (bool operands "
                                            "contracted together; convert them with .long() or "
                                            ".float() first)")
            if acc_dt != dts[k]:
                raise OpError(f"einsum(): expected scalar type {torch_name(acc_dt)} but found "
                              f"{torch_name(dts[k])}")
        else:
            acc_dt = promote_types(acc_dt, dts[k])
        for c in kept[k]:
            acc_size[c] = _joint_size(acc_size, sizes[k], c)
        acc = (acc | kept[k]) - set(summed)
    return acc_dt


def _joint_size(a, b, c):
    """The size of letter ``c`` after broadcasting two operands' sizes (a size 1 takes the other)."""
    n, m = a.get(c, 1), b.get(c, 1)
    return m if n == 1 else n
