"""Data-parallel pieces with two real gloo processes on this CPU: sharded batches, DistributedDataParallel."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

from resnetlab.data import BatchStream
from resnetlab.errors import UserInputError
from resnetlab.models import create_model
from resnetlab.runs.checkpoint import load_checkpoint
from resnetlab.runtime.distributed import (
    Distributed,
    from_environment,
    lost_another_process,
    per_process_batch,
    start,
    wrap,
)
from tests.data.fakes import make_imageset, write_photos
from tests.helpers.command import resnetlab, resume

GLOBAL_BATCH, STEPS, LR = 16, 3, 0.1


def _stream(shard: tuple[int, int]) -> BatchStream:
    data = make_imageset(64, side=8, classes=4)
    mean, std = (0.5,) * 3, (0.25,) * 3
    return BatchStream(
        data, GLOBAL_BATCH, train=True, augment="cifar", normalize="channel", mean=mean, std=std,
        pixel_mean=torch.zeros(3, 8, 8), seed=0, device=torch.device("cpu"), shard=shard,
    )  # fmt: skip


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model("cifar_resnet20", num_classes=4)


def _worker(rank: int, world: int, port: int, out: str) -> None:
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world))
    context = from_environment()
    assert context is not None and context.shard == (rank, world)
    start(context, torch.device("cpu"))
    model = wrap(_model(), torch.device("cpu"), sync_batchnorm=False)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)
    for step, (images, labels) in enumerate(_stream(context.shard).epoch(0)):
        if step == STEPS:
            break
        assert len(images) == per_process_batch(GLOBAL_BATCH, context)
        optimizer.zero_grad()
        F.cross_entropy(model(images), labels).backward()  # DDP averages the gradients over the processes
        optimizer.step()
    torch.save(torch.nn.utils.parameters_to_vector(model.module.parameters()).detach(), f"{out}/rank{rank}.pt")
    dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_two_processes_hold_identical_weights_and_take_one_processs_steps(tmp_path: Path) -> None:
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    rank0, rank1 = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    assert torch.equal(rank0, rank1)

    # One process on the global batch, each half through the network on its own: each process's BN normalises its
    # own shard, so this is the computation two processes share out (SyncBatchNorm would use the whole batch's
    # statistics, but PyTorch runs it on GPUs only). The loss halves' mean is DDP's gradient average.
    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)
    for step, (images, labels) in enumerate(_stream((0, 1)).epoch(0)):
        if step == STEPS:
            break
        optimizer.zero_grad()
        for half_images, half_labels in zip(images.tensor_split(2), labels.tensor_split(2), strict=True):
            (F.cross_entropy(model(half_images), half_labels) / 2).backward()
        optimizer.step()
    alone = torch.nn.utils.parameters_to_vector(model.parameters()).detach()
    # Stated tolerance: the all-reduce sums the two gradients in another order than autograd's accumulation.
    assert torch.allclose(rank0, alone, rtol=0, atol=1e-5), (rank0 - alone).abs().max()
    assert not torch.equal(alone, torch.nn.utils.parameters_to_vector(_model().parameters()))  # it did train


def test_the_shards_of_a_batch_are_the_batch() -> None:
    whole = list(_stream((0, 1)).epoch(0))
    halves = [list(_stream((rank, 2)).epoch(0)) for rank in range(2)]
    for batch, first, second in zip(whole, *halves, strict=True):
        assert torch.equal(torch.cat([first[0], second[0]]), batch[0])  # augmentation included
        assert torch.equal(torch.cat([first[1], second[1]]), batch[1])


def test_the_environment_and_the_batch_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert from_environment() is None
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("LOCAL_RANK", "1")
    context = from_environment()
    assert context == Distributed(3, 4, 1) and not context.is_main
    assert per_process_batch(128, context) == 32
    with pytest.raises(UserInputError, match=r"data\.batch_size=130 .* must divide evenly over 4 processes"):
        per_process_batch(130, context)
    with pytest.raises(UserInputError, match="sync_batchnorm needs CUDA"):
        wrap(_model(), torch.device("cpu"), sync_batchnorm=True)


@pytest.fixture(scope="module")
def two_process_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """`resnetlab train --nproc 2` on the digits for 2 epochs, run once for the tests that read it (or copy it)."""
    root = tmp_path_factory.mktemp("two-processes")
    run = root / "run"
    argv = ["train", "--nproc", "2", "--epochs", "2", "--batch-size", "64", "--out", str(run), "--no-progress"]
    argv += ["--set", f"data.cache_dir={root / 'cache'}"]
    return run, resnetlab(*argv)


def test_train_in_two_processes_writes_one_run(two_process_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    """`resnetlab train --nproc 2`: torchrun, two gloo processes, one run directory written by rank 0 alone."""
    run, result = two_process_run
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("test accuracy") == 1 and "after 46 iterations" in result.stdout  # 23 global batches
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records if r["kind"] == "epoch"] == [1, 2]  # logged once, not once per process
    iterations = [r["iteration"] for r in records if r["kind"] == "iteration"]
    assert iterations == sorted(set(iterations))
    assert load_checkpoint(run / "last.pt")["progress"]["iteration"] == 46
    accuracy = json.loads((run / "test_metrics.json").read_text())["top1"]
    assert accuracy > 0.5  # 10 digits: chance is 0.1; the processes also checked that their weights agree
    assert json.loads((run / "environment.json").read_text())["processes"] == 2
    assert "data.batch_size is the global batch" in (run / "config.yaml").read_text()  # the rule, in the record


def test_a_checkpoint_of_two_processes_resumes_in_one(
    two_process_run: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    """The checkpoint holds the whole model and optimizer (rank 0's, identical to the others') and the position in
    global batches, so any number of processes can continue it with the same global batch."""
    trained, first = two_process_run
    assert first.returncode == 0, first.stderr[-3000:]
    run = tmp_path / "run"
    shutil.copytree(trained, run)  # the shared run stays as the test above reads it
    # Back to the end of epoch 1 (kept as last.pt.prev): as if the two processes had been stopped there.
    (run / "last.pt").write_bytes((run / "last.pt.prev").read_bytes())
    (run / "test_metrics.json").unlink()
    assert load_checkpoint(run / "last.pt")["progress"]["iteration"] == 23
    resumed = resume(run)
    assert resumed.returncode == 0, resumed.stderr
    assert "after 46 iterations" in resumed.stdout
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records if r["kind"] == "epoch"] == [1, 2]


def test_two_processes_train_on_a_streamed_folder_each_decoding_its_shard(tmp_path: Path) -> None:
    """data.storage=stream: each process's DataLoader decodes only its block of every global batch."""
    photos = write_photos(tmp_path / "photos", classes=3, per_class=10)
    run = tmp_path / "run"
    argv = ["train", "--nproc", "2", "--data", str(photos), "--epochs", "2", "--batch-size", "8", "--out", str(run)]
    argv += ["--no-progress", "--set", "data.storage=stream", "--set", "data.image_size=16", "--set", "data.workers=1"]
    result = resnetlab(*argv)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("test accuracy") == 1 and "after 6 iterations" in result.stdout  # 24 images: 3 x 8
    assert load_checkpoint(run / "last.pt")["progress"]["iteration"] == 6


GLOO_PEER_GONE = (
    "[/__w/pytorch/pytorch/third_party/gloo/gloo/transport/tcp/pair.cc:561] Connection closed by peer "
    "[127.0.0.1]:47293. This is typically caused by a remote worker crashing. Check the logs of the remote worker."
)


def test_a_collective_that_lost_its_partner_is_told_from_a_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    """What rank 0 raised in CI when rank 1 was killed mid-step (gloo), and what NCCL raises: one line each; a
    RuntimeError of the model's own (a bug) and anything in a single-process run keep their tracebacks."""
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    assert lost_another_process(RuntimeError(GLOO_PEER_GONE)) == "Connection closed by peer [127.0.0.1]:47293"
    assert lost_another_process(dist.DistBackendError("NCCL communicator was aborted")) == (
        "NCCL communicator was aborted"
    )
    assert lost_another_process(RuntimeError("mat1 and mat2 shapes cannot be multiplied (4x8 and 9x2)")) is None
    assert lost_another_process(ValueError(GLOO_PEER_GONE)) is None
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert lost_another_process(RuntimeError(GLOO_PEER_GONE)) is None
