"""``tinygrad_rnn.utils``: where PyTorch scripts look for things.

``tinygrad_rnn.utils.data`` is ``tinygrad_rnn.data`` (PyTorch's ``torch.utils.data``), so
``from tinygrad_rnn.utils.data import DataLoader`` works; ``utils.hooks.RemovableHandle`` is the
handle that hook registrations return.
"""
import sys

from .. import data
from . import hooks

# One module under two names: register data and its submodules under the second name too, so
# ``import tinygrad_rnn.utils.data.distributed`` finds them instead of loading a second copy.
for _name, _module in list(sys.modules.items()):
    if _name == data.__name__ or _name.startswith(data.__name__ + "."):
        sys.modules[__name__ + _name[len("tinygrad_rnn"):]] = _module
del _name, _module

__all__ = ["data", "hooks"]
