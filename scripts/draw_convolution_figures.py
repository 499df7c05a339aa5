"""Draw the figures of the convolution page (docs/theory/convolution.md) from code; re-running gives the same PNGs.

    .venv/bin/python scripts/draw_convolution_figures.py
    .venv/bin/python scripts/draw_convolution_figures.py --run RUN_DIR --image IMAGE.jpg --out docs/theory/figures

One figure per question the page asks:
- conv-window.png and conv-feature-map.png: what a 3x3 kernel does. The photo is scikit-learn's sample image
  "china.jpg" (it ships with scikit-learn, a dependency), in gray and shrunk to 120 pixels wide; the kernel is a
  vertical-edge (Sobel) detector, placed where its answer is strongest.
- padding-stride.png: out = floor((n + 2p - k) / s) + 1 drawn on a 5x5 input with a 3x3 window.
- pooling.png: 2x2 max pooling with stride 2, and global average pooling, on a 4x4 grid of numbers.
- feature-maps.png: one CIFAR-10 test image through a trained CIFAR ResNet-20. The committed figure used the run
  ../runs/experiments/depth-standard/ResNet-20-seed2 (8 epochs on CIFAR-10's training images) and the image
  test/horse/0000.jpg of the class-per-folder CIFAR-10 in ../shared/datasets/cifar10 (paths from the repository
  root). The image is normalised as the run's training normalised it (its checkpoint's per-pixel mean), so the net
  sees what it saw in training.

Every panel is computed by PyTorch (F.conv2d, F.max_pool2d, the model's own forward_intermediates), not drawn by hand.
It prints the sum behind the output value conv-window.png shows: the page writes that sum out, so a re-run that
changes the figure must change the page too.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure
from matplotlib.patches import Rectangle
from PIL import Image

from resnetlab.inference.trained import decode_image, input_normalization, load_trained
from resnetlab.models.network import ResNet

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RUN = ROOT.parent / "runs" / "experiments" / "depth-standard" / "ResNet-20-seed2"
DEFAULT_IMAGE = ROOT.parent / "shared" / "datasets" / "cifar10" / "test" / "horse" / "0000.jpg"
DEFAULT_OUT = ROOT / "docs" / "theory" / "figures"

# Figures are read on phones as narrow as 390 px: about 6.8 in wide at 100 dpi, text no smaller than 11 pt.
WIDTH = 6.8
DPI = 100
TIMES, MINUS = "\u00d7", "\u2212"  # the typeset signs, for the figures' text
STYLE: dict[RcKeyType, Any] = {"font.size": 12, "axes.titlesize": 12, "figure.titlesize": 12, "hatch.linewidth": 0.8}
# Okabe-Ito colours, distinguishable with every common colour-vision deficiency.
HIGHLIGHT = "#D55E00"  # vermillion: the window (and the output value) the figure follows
SECOND = "#0072B2"  # blue: the next window position
BLOCKS = ("#E69F00", "#56B4E9", "#009E73", "#F0E442")  # the four 2x2 pooling windows
INPUT_CELL = "#C9DDEB"
PADDING_EDGE = "#8A8A8A"

# Positive where the image gets brighter from left to right: it finds vertical edges.
EDGE_KERNEL = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
POOL_GRID = np.array([[1, 4, 2, 0], [3, 8, 1, 5], [0, 2, 6, 1], [7, 1, 3, 4]])


def gray_photo(width: int = 120) -> np.ndarray:
    """scikit-learn's sample photo china.jpg in gray, shrunk to `width` pixels wide: uint8, H x W."""
    from sklearn.datasets import load_sample_image  # imported here: only the photo needs scikit-learn

    photo = Image.fromarray(load_sample_image("china.jpg")).convert("L")
    height = round(photo.height * width / photo.width)
    return np.asarray(photo.resize((width, height), Image.Resampling.LANCZOS))


def convolve(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """The kernel at every position where it fits (no padding, stride 1), as torch computes it: each output is the
    sum of the window's pixels times the weights on top of them (no flip, as every deep-learning library)."""
    pixels = torch.tensor(image, dtype=torch.float64)[None, None]
    result = F.conv2d(pixels, torch.tensor(kernel, dtype=torch.float64)[None, None])
    return result[0, 0].round().long().numpy()


def output_side(n: int, k: int, p: int, s: int) -> int:
    """The page's formula: a window of k with padding p and stride s turns a side of n into this many outputs."""
    return (n + 2 * p - k) // s + 1


@dataclass(frozen=True)
class Window:
    """Where the figure puts the kernel: output position (row, col) and the crop (top, left) shown around it."""

    row: int
    col: int
    top: int
    left: int


def strongest_window(output: np.ndarray, crop: int) -> Window:
    """The output position with the largest answer, and a crop x crop input patch that holds its window."""
    row, col = (int(i) for i in np.unravel_index(np.abs(output).argmax(), output.shape))
    span = crop - 2  # output positions a crop of the input holds, for a 3x3 kernel
    top = min(max(row - 1, 0), max(output.shape[0] - span, 0))
    left = min(max(col - 1, 0), max(output.shape[1] - span, 0))
    return Window(row, col, top, left)


def window_sum(image: np.ndarray, kernel: np.ndarray, crop: int = 6) -> str:
    """The sum conv-window.png draws, written out (the zero weights left out): `(-1)*218 + 1*29 + ... = -789`."""
    output = convolve(image, kernel)
    at = strongest_window(output, crop)
    window = image[at.row : at.row + kernel.shape[0], at.col : at.col + kernel.shape[1]]
    terms = [f"({w})*{p}" if w < 0 else f"{w}*{p}" for w, p in zip(kernel.ravel(), window.ravel(), strict=True) if w]
    return f"{' + '.join(terms)} = {output[at.row, at.col]}"


def draw_convolution_window(image: np.ndarray, kernel: np.ndarray, path: Path, crop: int = 6) -> None:
    """Input patch (pixel values, the 3x3 window outlined), kernel weights, and the output patch with the value the
    window produces."""
    output = convolve(image, kernel)
    at = strongest_window(output, crop)
    patch = image[at.top : at.top + crop, at.left : at.left + crop]
    answers = output[at.top : at.top + crop - 2, at.left : at.left + crop - 2]
    scale = max(int(np.abs(output).max()), 1)
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(WIDTH, 3.0), layout="constrained")
        left, times, middle, equals, right = figure.subplots(
            1, 5, gridspec_kw={"width_ratios": [crop, 0.8, 3, 0.8, crop - 2]}
        )
        left.imshow(patch, cmap="gray", vmin=0, vmax=255)
        _write_values(left, patch, dark=patch < 128)
        left.add_patch(_outline(at.col - at.left, at.row - at.top, 3, HIGHLIGHT))
        left.set_title(f"input pixels ({crop}{TIMES}{crop})")
        middle.imshow(np.zeros_like(kernel), cmap="gray", vmin=-1, vmax=0)
        _write_values(middle, kernel, dark=np.zeros(kernel.shape, dtype=bool))
        _draw_cell_lines(middle, kernel.shape)
        middle.set_title("kernel")
        right.imshow(answers, cmap="cividis", vmin=-scale, vmax=scale)
        r, c = at.row - at.top, at.col - at.left
        right.add_patch(_outline(c, r, 1, HIGHLIGHT))
        right.text(
            c,
            r,
            f"{output[at.row, at.col]}",
            ha="center",
            va="center",
            weight="bold",
            color="black",
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.5},
        )
        right.set_title(f"output ({crop - 2}{TIMES}{crop - 2})")
        for axis, sign in ((times, TIMES), (equals, "=")):
            axis.text(0.5, 0.5, sign, ha="center", va="center", fontsize=22, transform=axis.transAxes)
            axis.set_axis_off()
        for axis in (left, middle, right):
            _bare(axis)
        _save(figure, path)


def draw_feature_map(image: np.ndarray, kernel: np.ndarray, path: Path, crop: int = 6) -> None:
    """The whole photo and the whole output map of the kernel, each with the patch of conv-window.png outlined."""
    output = convolve(image, kernel)
    at = strongest_window(output, crop)
    scale = max(int(np.abs(output).max()), 1)
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(WIDTH, 2.7), layout="constrained")
        photo, answers = figure.subplots(1, 2)
        photo.imshow(image, cmap="gray", vmin=0, vmax=255)
        photo.add_patch(_outline(at.left, at.top, crop, HIGHLIGHT))
        photo.set_title(f"input: {image.shape[1]}{TIMES}{image.shape[0]} pixels")
        shown = answers.imshow(output, cmap="cividis", vmin=-scale, vmax=scale)
        answers.add_patch(_outline(at.left, at.top, crop - 2, HIGHLIGHT))
        answers.set_title(f"output: {output.shape[1]}{TIMES}{output.shape[0]}")
        figure.colorbar(shown, ax=answers, shrink=0.9)
        for axis in (photo, answers):
            _bare(axis)
        _save(figure, path)


def draw_padding_stride(
    path: Path, n: int = 5, k: int = 3, cases: Sequence[tuple[int, int]] = ((0, 1), (1, 1), (1, 2))
) -> None:
    """For each (padding, stride): the padded input with the first two window positions and a dot at the centre of
    every position, and below it the output grid, one cell per dot, sized by the formula."""
    widest = max(n + 2 * p for p, _ in cases)
    largest = max(output_side(n, k, p, s) for p, s in cases)
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(WIDTH, 4.6), layout="constrained")
        axes = figure.subplots(2, len(cases), squeeze=False)
        for column, (p, s) in enumerate(cases):
            top, bottom = axes[0, column], axes[1, column]
            side, out = n + 2 * p, output_side(n, k, p, s)
            at = (widest - side) / 2  # every grid centred on the same scale, so sizes compare by eye
            for i in range(side):
                for j in range(side):
                    padding = not (p <= i < n + p and p <= j < n + p)
                    top.add_patch(
                        Rectangle(
                            (at + j, at + i),
                            1,
                            1,
                            facecolor="white" if padding else INPUT_CELL,
                            edgecolor=PADDING_EDGE if padding else "#4A4A4A",
                            hatch="///" if padding else None,
                            linewidth=0.8,
                        )
                    )
                    if padding:
                        top.text(
                            at + j + 0.5,
                            at + i + 0.5,
                            "0",
                            ha="center",
                            va="center",
                            fontsize=11,
                            color="#555555",
                            bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5},
                        )
            windows = [(0, 0, HIGHLIGHT, "solid")] + ([(0, s, SECOND, "dashed")] if out > 1 else [])
            for row, col, colour, style in windows:
                top.add_patch(_outline(at + col, at + row, k, colour, style, corner=0.0))
            centres = [(at + j * s + k / 2, at + i * s + k / 2) for i in range(out) for j in range(out)]
            top.plot(*zip(*centres, strict=True), "o", color="black", markersize=5)
            top.set_title(f"p = {p}, s = {s}")
            start = (largest - out) / 2
            for i in range(out):
                for j in range(out):
                    colour = HIGHLIGHT if (i, j) == (0, 0) else SECOND if (i, j) == (0, 1) else "#E6E1CF"
                    bottom.add_patch(
                        Rectangle(
                            (start + j, start + i),
                            1,
                            1,
                            facecolor=colour,
                            edgecolor="#4A4A4A",
                            alpha=0.55 if (i, j) in ((0, 0), (0, 1)) else 1.0,
                            linewidth=0.8,
                        )
                    )
            bottom.set_title(f"output {out}{TIMES}{out}")
            bottom.set_xlabel(rf"$\lfloor ({n}+{2 * p}-{k})/{s} \rfloor + 1 = {out}$")
            for axis, extent in ((top, widest), (bottom, largest)):
                axis.set_xlim((extent - widest) / 2 - 0.1, (extent + widest) / 2 + 0.1)  # one cell size everywhere
                axis.set_ylim(extent + 0.1, -0.1)
                axis.set_aspect("equal")
                _bare(axis)
        axes[0, 0].set_ylabel("input, padded")
        axes[1, 0].set_ylabel("output")
        _save(figure, path)


def draw_pooling(path: Path, grid: np.ndarray = POOL_GRID) -> None:
    """A grid of even sides (one channel), its 2x2 max pooling with stride 2 (each window's maximum in bold), and its
    global average pooling: one number per channel."""
    if grid.shape[0] % 2 or grid.shape[1] % 2:
        raise ValueError(f"the grid needs even sides for 2x2 windows, got {grid.shape}")
    values = torch.from_numpy(grid).double()[None, None]
    maxima = F.max_pool2d(values, 2)[0, 0].numpy()
    mean = float(F.adaptive_avg_pool2d(values, 1))
    rows, cols = grid.shape
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(WIDTH, 2.6), layout="constrained")
        source, pooled, averaged = figure.subplots(1, 3, gridspec_kw={"width_ratios": [cols, cols, cols]})
        for (i, j), value in np.ndenumerate(grid):
            block = (i // 2) * (cols // 2) + j // 2
            source.add_patch(_cell(j, i, BLOCKS[block % len(BLOCKS)]))
            biggest = value == maxima[i // 2, j // 2]
            source.text(j + 0.5, i + 0.5, f"{value}", ha="center", va="center", weight="bold" if biggest else "normal")
        offset = (cols - maxima.shape[1]) / 2
        for (i, j), value in np.ndenumerate(maxima):
            pooled.add_patch(_cell(offset + j, offset + i, BLOCKS[(i * maxima.shape[1] + j) % len(BLOCKS)]))
            pooled.text(offset + j + 0.5, offset + i + 0.5, f"{value:g}", ha="center", va="center", weight="bold")
        centre = (cols - 1) / 2
        averaged.add_patch(_cell(centre, centre, "#E6E1CF"))
        averaged.text(centre + 0.5, centre + 0.5, f"{mean:.2f}", ha="center", va="center", weight="bold")
        source.set_title(f"input ({rows}{TIMES}{cols})")
        pooled.set_title(f"2{TIMES}2 max pool, stride 2")
        averaged.set_title("global average pool")
        for axis in (source, pooled, averaged):
            axis.set_xlim(-0.1, cols + 0.1)
            axis.set_ylim(rows + 0.1, -0.1)
            axis.set_aspect("equal")
            _bare(axis)
        _save(figure, path)


@dataclass(frozen=True)
class Maps:
    """The feature maps one part of the network returns for one image: channels x height x width."""

    label: str
    values: torch.Tensor


def feature_maps(model: ResNet, image: torch.Tensor) -> list[Maps]:
    """The stem's and each stage's output for one normalised image (C x H x W or 1 x C x H x W); puts the model in
    eval mode, so that BN uses the statistics it learned."""
    model.eval()
    with torch.inference_mode():
        outputs = model.forward_intermediates(image.reshape(1, *image.shape[-3:]).float())
    labels = ["after the stem", *(f"after stage {stage}" for stage in range(1, len(outputs)))]
    return [Maps(label, output[0].float().cpu()) for label, output in zip(labels, outputs, strict=True)]


def strongest_channels(values: torch.Tensor, count: int) -> list[int]:
    """The `count` channels with the largest mean response, strongest first (ties in channel order)."""
    order = torch.argsort(values.mean(dim=(1, 2)), descending=True, stable=True)
    return [int(i) for i in order[:count]]


def draw_feature_maps(
    photo: torch.Tensor, net_input: torch.Tensor, maps: Sequence[Maps], path: Path, count: int = 4
) -> None:
    """First row: the photo (uint8, 3 x H x W) and its three channels as the network receives them (`net_input`,
    normalised). Then, for each entry of `maps`, its `count` most active channels, each on its own colour scale."""
    net_input = net_input.reshape(net_input.shape[-3:]).float()
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(WIDTH, 1.2 + 1.75 * (len(maps) + 1)), layout="constrained")
        grid = figure.subfigures(len(maps) + 1, 1, squeeze=False)
        assert isinstance(grid, np.ndarray)
        rows: list[SubFigure] = list(grid[:, 0])
        first = rows[0].subplots(1, count)
        first[0].imshow(photo.permute(1, 2, 0).numpy(), interpolation="nearest")
        first[0].set_title("photo")
        for axis, name, channel in zip(first[1:], ("red", "green", "blue"), net_input, strict=False):
            limit = float(channel.abs().max()) or 1.0
            axis.imshow(channel.numpy(), cmap="gray", vmin=-limit, vmax=limit, interpolation="nearest")
            axis.set_title(f"{name} {MINUS} mean")
        rows[0].suptitle(f"input: {net_input.shape[0]} channels of {net_input.shape[1]}{TIMES}{net_input.shape[2]}")
        for row, entry in zip(rows[1:], maps, strict=True):
            channels, height, width = entry.values.shape
            axes = row.subplots(1, count)
            for axis, channel in zip(axes, strongest_channels(entry.values, count), strict=False):
                shown = entry.values[channel].numpy()
                axis.imshow(shown, cmap="viridis", vmin=0, vmax=max(float(shown.max()), 1e-6), interpolation="nearest")
            row.suptitle(f"{entry.label}: {channels} maps of {height}{TIMES}{width}, {count} shown")
        for axis in [*first, *(a for row in rows[1:] for a in row.axes)]:
            _bare(axis)
        _save(figure, path)


def load_example(run: Path, image: Path) -> tuple[ResNet, torch.Tensor, torch.Tensor]:
    """The run's trained model, the image as uint8 C x H x W at the model's input size, and the image normalised
    as the run's training normalised its batches (1 x C x H x W)."""
    device = torch.device("cpu")
    trained = load_trained(run, device)
    if not isinstance(trained.model, ResNet):
        raise SystemExit(f"{run} holds a {type(trained.model).__name__}, not a resnetlab ResNet")
    channels, height, width = trained.record.preprocess.input_size
    photo = decode_image(image, channels, height, width, trained.record.preprocess.resize)
    return trained.model, photo, input_normalization(trained, device)(photo[None])


def _outline(x: float, y: float, size: float, colour: str, style: str = "solid", corner: float = 0.5) -> Rectangle:
    """A square outline over cells [x, x + size) x [y, y + size); imshow's cells are centred on integers (corner)."""
    return Rectangle((x - corner, y - corner), size, size, fill=False, edgecolor=colour, linewidth=3, linestyle=style)


def _cell(x: float, y: float, colour: str) -> Rectangle:
    return Rectangle((x, y), 1, 1, facecolor=colour, edgecolor="#4A4A4A", linewidth=0.8, alpha=0.6)


def _write_values(axis: Axes, values: np.ndarray, dark: np.ndarray) -> None:
    for (i, j), value in np.ndenumerate(values):
        axis.text(j, i, f"{value}", ha="center", va="center", fontsize=11, color="white" if dark[i, j] else "black")


def _draw_cell_lines(axis: Axes, shape: tuple[int, ...]) -> None:
    for line in range(shape[0] + 1):
        axis.axhline(line - 0.5, color="#4A4A4A", linewidth=0.8)
    for line in range(shape[1] + 1):
        axis.axvline(line - 0.5, color="#4A4A4A", linewidth=0.8)


def _bare(axis: Axes) -> None:
    axis.set_xticks([])
    axis.set_yticks([])
    for spine in axis.spines.values():
        spine.set_visible(False)


def _save(figure: Figure, path: Path) -> None:
    metadata: dict[str, Any] = {"Software": None}  # no matplotlib version: the same figure gives the same bytes
    figure.savefig(path, dpi=DPI, metadata=metadata)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, default=DEFAULT_RUN, help="a finished run folder of a CIFAR ResNet")
    parser.add_argument("--image", type=Path, default=DEFAULT_IMAGE, help="the image to pass through it")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the folder to write the PNGs to")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    photo = gray_photo()
    draw_convolution_window(photo, EDGE_KERNEL, args.out / "conv-window.png")
    print(f"conv-window.png, the output value drawn: {window_sum(photo, EDGE_KERNEL)}")
    draw_feature_map(photo, EDGE_KERNEL, args.out / "conv-feature-map.png")
    draw_padding_stride(args.out / "padding-stride.png")
    draw_pooling(args.out / "pooling.png")
    model, image, net_input = load_example(args.run, args.image)
    draw_feature_maps(image, net_input, feature_maps(model, net_input), args.out / "feature-maps.png")
    for name in ("conv-window", "conv-feature-map", "padding-stride", "pooling", "feature-maps"):
        path = args.out / f"{name}.png"
        print(f"{path}: {path.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
