"""Which rows of a global batch each data-parallel process trains on.

Every process draws the same global batch (the same shuffle, the same augmentation parameters) and keeps one
contiguous block of it; in rank order the blocks are exactly the batch one process would train on, so N processes
see what one would, with two exceptions. BN statistics: each process normalises its own block (SyncBatchNorm
aside). Uneven blocks: DDP averages the processes' mean losses, which weighs the images of a shorter block (the
last, partial batch, or a block that lost unreadable files) a little more than one process's mean over the batch.
"""

from __future__ import annotations

from resnetlab.errors import UserInputError

Shard = tuple[int, int]  # (rank, world size)


def check_shard(shard: Shard) -> Shard:
    rank, world = shard
    if not 0 <= rank < world:
        raise ValueError(f"shard must be (rank, world size) with 0 <= rank < world size, got {shard}")
    return shard


def shard_rows(count: int, shard: Shard) -> slice:
    """Rank's block of a `count`-row batch; blocks are sized as torch.tensor_split's (the first count % world one
    row longer)."""
    rank, world = shard
    base, extra = divmod(count, world)
    start = rank * base + min(rank, extra)
    return slice(start, start + base + (1 if rank < extra else 0))


def check_batches_shard(images: int, batch_size: int, shard: Shard) -> None:
    """Every process needs rows in every batch: BN cannot normalise an empty block, and DDP waits for every
    process's gradients."""
    world = shard[1]
    if world > 1 and batch_size < world:
        raise UserInputError(
            f"data.batch_size={batch_size} (the global batch) is smaller than the {world} processes; use at least "
            f"{world}"
        )
    if world > 1 and 0 < images % batch_size < world:
        raise UserInputError(
            f"the last batch of {images} training images in batches of {batch_size} has {images % batch_size} "
            f"image(s), fewer than the {world} processes; choose another data.batch_size"
        )
