"""The data layer: datasets decoded once into uint8 tensors (cached by content), splits, and batch streams.

Knows no model and no training loop; of the layers above it, it reads only `DataConfig` (`resnetlab.config`).
"""

from resnetlab.data.batches import batches
from resnetlab.data.cifar import guess_dataset
from resnetlab.data.file_stream import FileStream
from resnetlab.data.imageset import DataSplits, FileSet, ImageSet
from resnetlab.data.splits import load_splits
from resnetlab.data.stream import BatchStream

__all__ = [
    "BatchStream",
    "DataSplits",
    "FileSet",
    "FileStream",
    "ImageSet",
    "batches",
    "guess_dataset",
    "load_splits",
]
