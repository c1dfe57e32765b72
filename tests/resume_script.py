"""A tiny seeded training run that checkpoints after every step, for the exact-resume tests.

    python resume_script.py CKPT FINAL TOTAL_STEPS [--stop-after N] [--resume]

Trains Linear -> ReLU -> Dropout -> Linear with Adam, a StepLR schedule stepped per batch, and a
shuffling DataLoader, all seeded. After every step it saves model, optimizer, scheduler, loader
position, RNG state, step and epoch to CKPT. With ``--stop-after N`` it creates CKPT + ".ready"
after step N's checkpoint and then sleeps, waiting to be killed. With ``--resume`` it restores
everything from CKPT and carries on. At TOTAL_STEPS it saves the model's state_dict to FINAL.

``train`` is importable too, so tests can check what happens when part of the state is not restored.
"""
import argparse
import time

import tinygrad_rnn as tg
from tinygrad_rnn import nn, optim
from tinygrad_rnn.data import DataLoader, TensorDataset

EVERYTHING = ("model", "optim", "sched", "loader", "rng")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.drop, self.fc2 = nn.Linear(3, 8), nn.Dropout(0.3), nn.Linear(8, 1)

    def forward(self, x):
        return self.fc2(self.drop(self.fc1(x).relu()))


def train(ckpt, total_steps, stop_after=None, resume=False, restore=EVERYTHING, hang=True):
    """Run to ``total_steps`` and return the model's state_dict (see the module docstring)."""
    tg.manual_seed(0)
    X = tg.randn(20, 3)
    Y = X @ tg.tensor([[1.0], [-2.0], [0.5]]) + 0.1 * tg.randn(20, 1)
    loader = DataLoader(TensorDataset(X, Y), batch_size=6, shuffle=True)    # 4 batches per epoch
    model = Net()
    opt = optim.Adam(model.parameters(), lr=0.05)
    sched = optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.5)
    step = epoch = 0
    if resume:
        ck = tg.load(ckpt)
        parts = {"model": model, "optim": opt, "sched": sched, "loader": loader}
        for name in restore:
            if name == "rng":
                tg.set_rng_state(ck["rng"])
            else:
                parts[name].load_state_dict(ck[name])
        step, epoch = ck["step"], ck["epoch"]
    model.train()
    while step < total_steps:
        for xb, yb in loader:
            opt.zero_grad()
            loss = ((model(xb) - yb) ** 2).mean()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            tg.save({"model": model.state_dict(), "optim": opt.state_dict(), "sched": sched.state_dict(),
                     "loader": loader.state_dict(), "rng": tg.get_rng_state(), "step": step,
                     "epoch": epoch}, ckpt)
            if step == stop_after:
                if not hang:
                    return model.state_dict()
                open(str(ckpt) + ".ready", "w").close()
                time.sleep(120)                                # the test kills us here
            if step == total_steps:
                break
        epoch += 1
    return model.state_dict()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ckpt")
    ap.add_argument("final")
    ap.add_argument("total_steps", type=int)
    ap.add_argument("--stop-after", type=int)
    ap.add_argument("--resume", action="store_true")
    a = ap.parse_args()
    tg.save(train(a.ckpt, a.total_steps, a.stop_after, a.resume), a.final)


if __name__ == "__main__":
    main()
