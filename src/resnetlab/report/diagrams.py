"""Architecture diagrams drawn from the code, never by hand: the unit orderings from `UNIT_ORDERS`, the blocks and the
plain/residual columns from the registered specs. Change a spec or an ordering and the picture changes with it.

Each function returns an SVG document (text). Text stays text (`svg.fonttype: none`), so a test can read a drawing's
labels, and the output is the same for the same specs (fixed ids, no date).
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.patches import FancyBboxPatch

from resnetlab.models.registry import model_entry
from resnetlab.models.spec import ResNetSpec
from resnetlab.models.unit_orders import UNIT_ORDERS, OrderSpec

# One colour per kind of layer, the same in every drawing.
COLOURS = {"conv": "#c6dbef", "bn": "#fdd0a2", "relu": "#c7e9c0", "pool": "#dadaeb", "fc": "#fcbba1"}
OP_LABELS = {"conv": "weight", "bn": "BN", "relu": "ReLU"}  # [R2] Fig. 4 calls each conv "weight"
SCALE = 0.42  # inches per data unit; one layer's row is one unit
BOX_WIDTH = 1.5
# The networks of [R1] Fig. 3 (36 boxes each): rows closer, boxes just wider than "3x3 conv, 512, /2" at 8 pt, and the
# next column after the shortcut lane and the carry-over path: three columns fit 390 px at about 0.85 scale.
PITCH = 0.6
NETWORK_BOX = 2.6
COLUMN_STEP = NETWORK_BOX + 0.95


@dataclass(frozen=True)
class Layer:
    label: str
    kind: str  # a COLOURS key


def _svg(figure: plt.Figure) -> str:
    buffer = io.StringIO()
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "resnetlab"}):
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(figure)
    return buffer.getvalue()


def _box(axes: Axes, x: float, y: float, layer: Layer, width: float = BOX_WIDTH) -> None:
    axes.add_patch(
        FancyBboxPatch(
            (x - width / 2, y - 0.15),
            width,
            0.3,
            boxstyle="round,pad=0.02",
            facecolor=COLOURS[layer.kind],
            edgecolor="#444444",
            linewidth=0.8,
        )
    )
    axes.text(x, y, layer.label, ha="center", va="center", fontsize=8)


def _arrow(axes: Axes, x: float, y_from: float, y_to: float) -> None:
    axes.annotate("", (x, y_to), (x, y_from), arrowprops={"arrowstyle": "->", "linewidth": 0.8, "color": "#444444"})


def _column(
    axes: Axes, x: float, top: float, layers: Sequence[Layer], width: float = BOX_WIDTH, pitch: float = 1.0
) -> list[float]:
    """`layers` drawn downwards from `top`, `pitch` apart, joined by arrows; the y of each."""
    ys = [top - i * pitch for i in range(len(layers))]
    for i, (layer, y) in enumerate(zip(layers, ys, strict=True)):
        _box(axes, x, y, layer, width)
        if i:
            _arrow(axes, x, ys[i - 1] - 0.15, y + 0.15)
    return ys


def _add_node(axes: Axes, x: float, y: float) -> None:
    axes.add_patch(plt.Circle((x, y), 0.13, facecolor="white", edgecolor="#444444", linewidth=0.8))
    axes.text(x, y, "+", ha="center", va="center", fontsize=9)


def _shortcut(
    axes: Axes,
    x: float,
    y_from: float,
    y_to: float,
    label: str,
    *,
    dashed: bool = False,
    width: float = BOX_WIDTH,
    gap: float = 0.25,
) -> None:
    """The shortcut: out from the column at `y_from`, down its right side (`gap` from the boxes), back in at `y_to`."""
    side = x + width / 2 + gap
    style = (0, (3, 2)) if dashed else "-"
    axes.plot([x + 0.1, side, side, x + 0.13], [y_from, y_from, y_to, y_to], color="#444444", lw=0.8, ls=style)
    if label:
        axes.text(side + 0.05, (y_from + y_to) / 2, label, ha="left", va="center", fontsize=7, rotation=90)


def _unit_layers(order: OrderSpec, convs: int) -> tuple[list[Layer], list[Layer]]:
    """A unit of `convs` convolutions in `order`: the residual branch, and what follows the addition."""
    branch = [Layer(OP_LABELS[op], op) for _ in range(convs - 1) for op in order.around_conv]
    branch += [Layer(OP_LABELS[op], op) for op in order.around_last_conv]
    return branch, [Layer(OP_LABELS[op], op) for op in order.after_add]


def unit_orders_svg() -> str:
    """[R2] Fig. 4: every ordering of `UNIT_ORDERS`, a two-conv unit each, side by side."""
    orders = list(UNIT_ORDERS.items())
    rows = max(len(_unit_layers(o, 2)[0]) + len(_unit_layers(o, 2)[1]) for _, o in orders) + 3
    figure, axes = _canvas(-1.2, 2.6 * (len(orders) - 1) + 1.4, -rows - 0.5, 2.2)
    for i, (name, order) in enumerate(orders):
        x = 2.6 * i
        branch, after = _unit_layers(order, 2)
        title = f"({'abcdefghij'[i]})\n{name.replace('_', ' ')}"
        axes.text(x, 0.9, title, ha="center", va="bottom", fontsize=8, weight="bold")
        axes.text(x, 0.0, "$x_l$", ha="center", va="center", fontsize=9)
        ys = _column(axes, x, -1.0, branch)
        _arrow(axes, x, -0.15, ys[0] + 0.15)
        add = ys[-1] - 1
        _arrow(axes, x, ys[-1] - 0.15, add + 0.13)
        _add_node(axes, x, add)
        _shortcut(axes, x, 0.0, add, "")
        after_ys = _column(axes, x, add - 1, after) if after else []
        if after_ys:
            _arrow(axes, x, add - 0.13, after_ys[0] + 0.15)
        end = (after_ys[-1] if after_ys else add) - 1
        _arrow(axes, x, end + 0.85, end + 0.1)
        axes.text(x, end, "$x_{l+1}$", ha="center", va="center", fontsize=9)
    return _svg(figure)


def _canvas(left: float, right: float, bottom: float, top: float) -> tuple[plt.Figure, Axes]:
    """A figure whose data units are SCALE inches each way, so text (in points) and boxes keep their proportions."""
    figure = plt.figure(figsize=((right - left) * SCALE, (top - bottom) * SCALE))
    axes = figure.add_axes((0.0, 0.0, 1.0, 1.0))
    axes.set_xlim(left, right)
    axes.set_ylim(bottom, top)
    axes.axis("off")
    return figure, axes


def _block_layers(spec: ResNetSpec) -> list[Layer]:
    """The first stage's unit of `spec`, as [R1] Fig. 5 labels it: each conv's kernel and output channels."""
    width = spec.widths[0]
    if spec.block == "basic":
        return [Layer(f"3x3, {width}", "conv"), Layer("ReLU", "relu"), Layer(f"3x3, {width}", "conv")]
    inner = width * spec.width_per_group // 64 * spec.groups
    return [
        Layer(f"1x1, {inner}", "conv"),
        Layer("ReLU", "relu"),
        Layer(f"3x3, {inner}", "conv"),
        Layer("ReLU", "relu"),
        Layer(f"1x1, {4 * width}", "conv"),
    ]


def blocks_svg(basic: str = "resnet34", bottleneck: str = "resnet50") -> str:
    """[R1] Fig. 5: the basic block (left) and the bottleneck (right) of two registered networks' first stage."""
    specs = [(basic, model_entry(basic).spec), (bottleneck, model_entry(bottleneck).spec)]
    figure, axes = _canvas(-1.6, 5.4, -8.5, 1.6)
    for i, (name, spec) in enumerate(specs):
        x = 3.8 * i
        channels = spec.widths[0] * (4 if spec.block == "bottleneck" else 1)
        axes.text(x, 1.0, f"{spec.block} ({name})", ha="center", fontsize=9, weight="bold")
        axes.text(x, 0.0, f"{channels}-d", ha="center", va="center", fontsize=8)
        ys = _column(axes, x, -1.0, _block_layers(spec))
        _arrow(axes, x, -0.15, ys[0] + 0.15)
        add = ys[-1] - 1
        _arrow(axes, x, ys[-1] - 0.15, add + 0.13)
        _add_node(axes, x, add)
        _shortcut(axes, x, 0.0, add, "identity")
        _box(axes, x, add - 1, Layer("ReLU", "relu"))
        _arrow(axes, x, add - 0.13, add - 0.85)
    return _svg(figure)


def _network_layers(spec: ResNetSpec) -> tuple[list[Layer], list[tuple[int, int, bool]]]:
    """Every weighted layer of an ImageNet-style `spec` ([R1] Fig. 3) and its units' shortcuts: (first layer index,
    the index after the unit, whether the shape changes there)."""
    layers = [Layer(f"7x7 conv, {spec.stem_width}, /2", "conv"), Layer("pool, /2", "pool")]
    units: list[tuple[int, int, bool]] = []
    for stage, (depth, width) in enumerate(zip(spec.depths, spec.widths, strict=True)):
        for unit in range(depth):
            downsample = unit == 0 and stage > 0
            start = len(layers)
            for conv in range(3 if spec.block == "bottleneck" else 2):
                stride = ", /2" if downsample and conv == 0 else ""
                layers.append(Layer(f"3x3 conv, {width}{stride}", "conv"))
            units.append((start, len(layers), downsample or (stage == 0 and unit == 0 and spec.block == "bottleneck")))
    layers += [Layer("avg pool", "pool"), Layer(f"fc {spec.num_classes}", "fc")]
    return layers, units


def _wraps(count: int, units: Sequence[tuple[int, int, bool]], columns: int) -> list[int]:
    """Where `count` layers are cut into `columns` columns of near-equal height: the first layer of each column after
    the first. Never inside a unit, so each shortcut stays beside one column."""
    inside = {i for start, end, _ in units for i in range(start + 1, end)}
    cuts: list[int] = []
    for k in range(1, columns):
        allowed = [i for i in range(1, count) if i not in inside and i > (cuts[-1] if cuts else 0)]
        if allowed:
            cuts.append(min(allowed, key=lambda i: abs(i - k * count / columns)))
    return cuts


def _carry_over(axes: Axes, x_from: float, bottom: float, x_to: float, top: float, lane: float) -> None:
    """The data path from the bottom of one column round to the top of the next, through the gap between them (below
    where a column's last shortcut joins, above where the next column's first one leaves)."""
    low, high = bottom - 0.75 * PITCH, top + 0.75 * PITCH
    axes.plot([x_from, x_from, lane, lane, x_to], [bottom - 0.15, low, low, high, high], color="#444444", lw=0.8)
    _arrow(axes, x_to, high, top + 0.15)


def _network(axes: Axes, top: float, name: str, spec: ResNetSpec, bounds: Sequence[int]) -> None:
    """One network of [R1] Fig. 3, every layer, its column cut at `bounds` into columns read left to right."""
    layers, units = _network_layers(spec)
    weighted = len([layer for layer in layers if layer.kind in ("conv", "fc")])
    middle = (len(bounds) - 2) * COLUMN_STEP / 2
    axes.text(middle, top + 0.9, f"{name} ({weighted} layers)", ha="center", fontsize=9, weight="bold")
    xs: list[float] = []
    ys: list[float] = []
    for c, (first, last) in enumerate(itertools.pairwise(bounds)):
        x = c * COLUMN_STEP
        if c:
            _carry_over(axes, xs[-1], ys[-1], x, top, xs[-1] + NETWORK_BOX / 2 + 0.62)
        ys += _column(axes, x, top, layers[first:last], width=NETWORK_BOX, pitch=PITCH)
        xs += [x] * (last - first)
    if spec.residual:
        for start, end, changes in units:
            label = f"{spec.shortcut}" if changes else ""
            y_from, y_to = ys[start] + PITCH / 2, ys[end - 1] - PITCH / 2
            _shortcut(axes, xs[start], y_from, y_to, label, dashed=changes, width=NETWORK_BOX, gap=0.2)


def plain_and_residual_svg(plain: str = "plain34", residual: str = "resnet34", columns: int = 3) -> str:
    """[R1] Fig. 3: a plain network above its residual counterpart, layer by layer, from their registered specs. Each
    network's column is wrapped into `columns` columns (cut between units), so the 34-layer pair fits a screen and
    its labels stay legible on a phone. Solid shortcuts are identities; dashed ones change the shape (option A pads
    with zeros, B and C project)."""
    specs = [(plain, model_entry(plain).spec), (residual, model_entry(residual).spec)]
    cuts = []
    for _, spec in specs:
        layers, units = _network_layers(spec)
        cuts.append([0, *_wraps(len(layers), units, columns), len(layers)])
    tallest = max(last - first for bounds in cuts for first, last in itertools.pairwise(bounds))
    band = (tallest - 0.25) * PITCH + 1.7  # the rows, the carry-over's turn below them, the title above
    width = (max(len(bounds) for bounds in cuts) - 2) * COLUMN_STEP
    figure, axes = _canvas(-NETWORK_BOX / 2 - 0.1, width + NETWORK_BOX / 2 + 0.6, 1.3 - len(specs) * band, 1.3)
    for i, ((name, spec), bounds) in enumerate(zip(specs, cuts, strict=True)):
        _network(axes, -i * band, name, spec, bounds)
    return _svg(figure)


def cifar_layout_svg(name: str = "cifar_resnet20") -> str:
    """[R1] Sec. 4.2's 6n+2 layout: a 3x3 stem, three stages of 2n layers on maps of 32, 16 and 8 pixels with 16, 32
    and 64 filters, global average pooling and a 10-way classifier; n read from the registered spec."""
    spec = model_entry(name).spec
    n = spec.depths[0]
    sizes = [spec.input_size // 2**i for i in range(len(spec.depths))]
    layers = [Layer(f"3x3 conv, {spec.stem_width}  ({sizes[0]}x{sizes[0]})", "conv")]
    layers += [
        Layer(f"{2 * depth} x 3x3 conv, {width}  ({size}x{size})", "conv")
        for depth, width, size in zip(spec.depths, spec.widths, sizes, strict=True)
    ]
    layers += [Layer("global avg pool", "pool"), Layer(f"fc {spec.num_classes}", "fc")]
    figure, axes = _canvas(-2.6, 2.6, -len(layers) - 0.2, 1.6)
    total = 2 + 2 * sum(spec.depths)
    axes.text(0, 1.0, f"{name}: 6n+2 = {total} layers, n = {n}", ha="center", fontsize=9, weight="bold")
    _column(axes, 0.0, 0.0, layers, width=4.2)
    return _svg(figure)


DIAGRAMS = {
    "unit-orders.svg": unit_orders_svg,
    "blocks.svg": blocks_svg,
    "plain-and-residual-34.svg": plain_and_residual_svg,
    "cifar-layout.svg": cifar_layout_svg,
}
