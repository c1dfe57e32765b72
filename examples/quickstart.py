"""Quick start: fit a tiny two-layer network to y = sin(x) with nothing but Tensors and autograd.

What it shows (lecture 003, back-propagation): the error is a function of the weights; backward()
gives dE/dw for every weight; the update is w_new = w_old - lr * dE/dw; an epoch is one pass over
the data. The loss printed every few epochs falls.

    python examples/quickstart.py            # 2000 epochs
    python examples/quickstart.py --quick    # a few seconds
"""
import argparse
import math

import tinygrad_rnn as tg


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2000)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights")
    parser.add_argument("--quick", action="store_true", help="a short run (for tests)")
    args = parser.parse_args(argv)
    epochs = 60 if args.quick else args.epochs

    tg.manual_seed(args.seed)
    x = tg.linspace(-math.pi, math.pi, 128).reshape(-1, 1)          # (N, 1)
    y = x.sin()                                                     # (N, 1)

    hidden = 16                                                     # weights start random
    w1 = (tg.randn(1, hidden) * 1.0).requires_grad_()
    b1 = tg.zeros(hidden, requires_grad=True)
    w2 = (tg.randn(hidden, 1) * (1 / math.sqrt(hidden))).requires_grad_()
    b2 = tg.zeros(1, requires_grad=True)
    params = [w1, b1, w2, b2]

    losses = []
    for epoch in range(epochs):
        pred = (x @ w1 + b1).tanh() @ w2 + b2                       # a layer is X @ W + b
        loss = ((pred - y) ** 2).mean()
        for p in params:
            p.grad = None
        loss.backward()                                             # dE/dw for every weight
        with tg.no_grad():
            for p in params:
                p -= args.lr * p.grad                               # w <- w - lr * dE/dw
        losses.append(loss.item())
        if epoch % max(epochs // 10, 1) == 0 or epoch == epochs - 1:
            print(f"epoch {epoch:4d}  loss {loss.item():.5f}")
    return losses


if __name__ == "__main__":
    main()
