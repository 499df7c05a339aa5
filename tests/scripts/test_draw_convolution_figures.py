"""scripts/draw_convolution_figures.py: each drawing function writes a real PNG from tiny inputs, the numbers it draws
are the ones torch computes, and the feature-map figure works on any resnetlab CIFAR net (here an untrained one and
a random image: the test needs no trained run and no dataset)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from resnetlab.models import create_model
from tests.helpers.scripts import load_script


@pytest.fixture(scope="module")
def draw() -> ModuleType:
    return load_script("draw_convolution_figures")


def assert_a_drawing(path: Path) -> None:
    """A PNG of a few KB whose pixels are not all one colour."""
    assert path.stat().st_size > 3_000, f"{path.name} is only {path.stat().st_size} bytes"
    with Image.open(path) as image:
        assert image.format == "PNG"
        pixels = np.asarray(image.convert("L"))
    assert pixels.std() > 10, f"{path.name} is almost blank"


def test_convolve_is_the_sum_of_the_window_times_the_kernel(draw: ModuleType) -> None:
    image = np.random.default_rng(0).integers(0, 256, size=(7, 9), dtype=np.uint8)
    output = draw.convolve(image, draw.EDGE_KERNEL)
    assert output.shape == (draw.output_side(7, 3, 0, 1), draw.output_side(9, 3, 0, 1)) == (5, 7)
    for row, col in [(0, 0), (2, 3), (4, 6)]:
        window = image[row : row + 3, col : col + 3].astype(np.int64)
        assert output[row, col] == (window * draw.EDGE_KERNEL).sum()
    kernel = np.array([[1, 0, -1], [0, 2, 0], [0, 0, 0]])
    written = draw.window_sum(image, kernel)  # the sum the script prints for the page, at the strongest output
    terms, total = written.split(" = ")
    products = [term.split("*") for term in terms.split(" + ")]
    assert sum(int(w.strip("()")) * int(p) for w, p in products) == int(total)
    assert abs(int(total)) == np.abs(draw.convolve(image, kernel)).max()
    assert len(products) == np.count_nonzero(kernel)


@pytest.mark.parametrize(("n", "k", "p", "s"), [(5, 3, 0, 1), (5, 3, 1, 1), (5, 3, 1, 2), (224, 7, 3, 2), (6, 3, 1, 2)])
def test_the_output_side_formula_is_what_torch_computes(draw: ModuleType, n: int, k: int, p: int, s: int) -> None:
    out = F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), padding=p, stride=s)
    assert tuple(out.shape[-2:]) == (draw.output_side(n, k, p, s),) * 2


def test_the_kernel_figures_are_drawn_from_a_small_image(draw: ModuleType, tmp_path: Path) -> None:
    image = np.random.default_rng(1).integers(0, 256, size=(12, 16), dtype=np.uint8)
    draw.draw_convolution_window(image, draw.EDGE_KERNEL, tmp_path / "window.png")
    draw.draw_feature_map(image, draw.EDGE_KERNEL, tmp_path / "map.png")
    assert_a_drawing(tmp_path / "window.png")
    assert_a_drawing(tmp_path / "map.png")


def test_the_grid_figures_are_drawn_and_the_same_bytes_twice(draw: ModuleType, tmp_path: Path) -> None:
    draw.draw_padding_stride(tmp_path / "padding.png")
    draw.draw_padding_stride(tmp_path / "again.png")
    draw.draw_pooling(tmp_path / "pooling.png", np.arange(16).reshape(4, 4))
    assert_a_drawing(tmp_path / "padding.png")
    assert_a_drawing(tmp_path / "pooling.png")
    assert (tmp_path / "padding.png").read_bytes() == (tmp_path / "again.png").read_bytes()


def test_pooling_refuses_a_grid_that_2x2_windows_do_not_tile(draw: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="even sides"):
        draw.draw_pooling(tmp_path / "pooling.png", np.ones((3, 4), dtype=np.int64))


def test_feature_maps_of_a_fresh_resnet20_on_a_random_image(draw: ModuleType, tmp_path: Path) -> None:
    model = create_model("cifar_resnet20")
    generator = torch.Generator().manual_seed(0)
    photo = torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8, generator=generator)
    net_input = photo[None].float() / 255 - 0.5
    maps = draw.feature_maps(model, net_input)
    assert [m.label for m in maps] == ["after the stem", "after stage 1", "after stage 2", "after stage 3"]
    assert [tuple(m.values.shape) for m in maps] == [(16, 32, 32), (16, 32, 32), (32, 16, 16), (64, 8, 8)]
    assert not model.training  # BN in eval mode: the maps of one image do not depend on a batch
    strongest = draw.strongest_channels(maps[1].values, 4)
    means = maps[1].values.mean(dim=(1, 2))
    assert means[strongest[0]] == means.max() and len(set(strongest)) == 4
    draw.draw_feature_maps(photo, net_input, maps, tmp_path / "maps.png")
    assert_a_drawing(tmp_path / "maps.png")
