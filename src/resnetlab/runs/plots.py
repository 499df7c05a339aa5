"""PNG plots of a run, in the papers' style: error (%) against iterations, training dashed, test solid ([R1] Fig. 6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt


def plot_run(records: list[dict[str, Any]], out_dir: Path, title: str) -> list[Path]:
    steps = [r for r in records if r.get("kind") == "iteration"]
    epochs = [r for r in records if r.get("kind") == "epoch"]
    # With a validation split the per-epoch curve is the validation error ([R1] picks its schedule on 45k/5k).
    held_out = "val" if any("val_top1" in r for r in epochs) else "test"
    epochs = [r for r in epochs if f"{held_out}_top1" in r]
    written: list[Path] = []

    figure, axis = plt.subplots(figsize=(6, 4))
    if steps:
        axis.plot([r["iteration"] for r in steps], [100 * r["train_error"] for r in steps], "--", label="training")
    if epochs:
        errors = [100 * (1 - r[f"{held_out}_top1"]) for r in epochs]
        axis.plot([r["iteration"] for r in epochs], errors, "-", label=held_out)
    axis.set(xlabel="iteration", ylabel="error (%)", title=title)
    axis.grid(alpha=0.3)
    axis.legend()
    written.append(_save(figure, out_dir / "error.png"))

    figure, (loss_axis, lr_axis) = plt.subplots(1, 2, figsize=(10, 4))
    if steps:
        loss_axis.plot([r["iteration"] for r in steps], [r["train_loss"] for r in steps], "--", label="training")
        lr_axis.plot([r["iteration"] for r in steps], [r["lr"] for r in steps])
    if epochs:
        losses = [r[f"{held_out}_loss"] for r in epochs]
        loss_axis.plot([r["iteration"] for r in epochs], losses, "-", label=held_out)
    loss_axis.set(xlabel="iteration", ylabel="loss", title="loss")
    loss_axis.legend()
    lr_axis.set(xlabel="iteration", ylabel="learning rate", title="learning rate")
    written.append(_save(figure, out_dir / "loss_lr.png"))
    return written


def _save(figure: Any, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
