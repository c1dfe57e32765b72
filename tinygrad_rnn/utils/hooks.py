"""The handle that hook registrations return (PyTorch's ``torch.utils.hooks.RemovableHandle``)."""
from __future__ import annotations

import itertools

_ids = itertools.count()


class RemovableHandle:
    """``handle.remove()`` unregisters the hook; ``with handle:`` removes it on leaving the block."""

    def __init__(self, hooks: dict):
        self.hooks_dict = hooks
        self.id = next(_ids)

    def remove(self) -> None:
        self.hooks_dict.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
