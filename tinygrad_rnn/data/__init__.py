"""Feeding data to a model: datasets, batching, and sequence chunks for (truncated) BPTT.

* ``Dataset`` / ``TensorDataset`` / ``Subset`` / ``random_split``: what a sample is.
* ``DataLoader``: samples -> batches, optionally shuffled by the seeded generator; resumable
  mid-epoch through ``state_dict()`` / ``load_state_dict()``.
* ``DistributedSampler``: each rank's share of a dataset, for data-parallel training.
* ``default_collate``: how a list of samples becomes one batch.
* ``batchify`` / ``bptt_chunks``: one long sequence -> parallel streams -> chunks of T steps.
"""
from .collate import default_collate
from .dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split
from .distributed import DistributedSampler
from .loader import DataLoader, get_worker_info
from .sequence import batchify, bptt_chunks

__all__ = ["ConcatDataset", "DataLoader", "Dataset", "Subset", "TensorDataset", "batchify",
           "bptt_chunks", "default_collate", "get_worker_info", "random_split"]
__all__ += ["DistributedSampler"]
