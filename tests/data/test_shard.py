"""Which rows of a global batch each data-parallel process trains on, and the batch sizes that leave none empty."""

from __future__ import annotations

import pytest
import torch

from resnetlab.data.shard import check_batches_shard, check_shard, shard_rows
from resnetlab.errors import UserInputError


@pytest.mark.parametrize("world", [1, 2, 3, 5])
@pytest.mark.parametrize("count", [0, 1, 4, 7, 12, 13])
def test_the_blocks_are_torchs_tensor_split_of_the_batch(count: int, world: int) -> None:
    rows = torch.arange(count)
    expected = torch.tensor_split(rows, world)
    blocks = [rows[shard_rows(count, (rank, world))] for rank in range(world)]
    assert all(torch.equal(block, want) for block, want in zip(blocks, expected, strict=True))
    assert torch.equal(torch.cat(blocks), rows)  # in rank order, the blocks are the whole batch


def test_one_process_keeps_every_row() -> None:
    assert shard_rows(10, (0, 1)) == slice(0, 10)


@pytest.mark.parametrize("shard", [(0, 1), (0, 4), (3, 4)])
def test_a_rank_inside_the_world_is_accepted(shard: tuple[int, int]) -> None:
    assert check_shard(shard) == shard


@pytest.mark.parametrize("shard", [(1, 1), (4, 4), (-1, 2), (0, 0)])
def test_a_rank_outside_the_world_is_refused(shard: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match=r"0 <= rank < world size"):
        check_shard(shard)


@pytest.mark.parametrize(
    ("images", "batch_size", "shard"),
    [
        (9, 1, (0, 1)),  # one process: any batch feeds it
        (12, 4, (0, 3)),  # every batch full
        (11, 4, (2, 3)),  # the last batch of 3 rows: one per process
        (8, 2, (1, 2)),
    ],
)
def test_batches_that_feed_every_process_are_accepted(images: int, batch_size: int, shard: tuple[int, int]) -> None:
    check_batches_shard(images, batch_size, shard)


def test_a_global_batch_smaller_than_the_processes_is_refused() -> None:
    with pytest.raises(
        UserInputError, match=r"data\.batch_size=2 \(the global batch\) is smaller than the 4 processes"
    ):
        check_batches_shard(100, 2, (0, 4))


def test_a_last_batch_smaller_than_the_processes_is_refused() -> None:
    with pytest.raises(UserInputError, match=r"last batch of 10 training images in batches of 4 has 2 image\(s\)"):
        check_batches_shard(10, 4, (1, 3))
