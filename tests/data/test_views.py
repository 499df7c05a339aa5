from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from resnetlab.data.views import CenterView, MirroredView, ScaleAugmentation, SquareView, TenCropView, open_rgb


def _striped(path: Path, width: int, height: int) -> Path:
    """Column x holds value 4 * x in every channel: where a crop came from can be read off its pixels."""
    columns = (np.arange(width) * 4 % 256).astype(np.uint8)
    Image.fromarray(np.repeat(np.tile(columns, (height, 1))[:, :, None], 3, axis=2)).save(path)
    return path


def test_open_rgb_converts_grayscale_and_rgba(tmp_path: Path) -> None:
    Image.new("L", (6, 4), 77).save(tmp_path / "gray.png")
    Image.new("RGBA", (6, 4), (1, 2, 3, 0)).save(tmp_path / "alpha.png")
    assert open_rgb(str(tmp_path / "gray.png"), 4).mode == "RGB"
    assert np.asarray(open_rgb(str(tmp_path / "alpha.png"), 4))[0, 0].tolist() == [1, 2, 3]


def test_open_rgb_decodes_large_jpegs_at_a_reduced_scale_that_still_covers_the_size(tmp_path: Path) -> None:
    Image.new("RGB", (800, 600), (50, 100, 150)).save(tmp_path / "big.jpg")
    image = open_rgb(str(tmp_path / "big.jpg"), 100)
    assert min(image.size) >= 100 and image.size[0] < 800  # 1/4 scale: 200 x 150


def test_scale_augmentation_crops_at_a_random_scale_reproducibly(tmp_path: Path) -> None:
    path = str(_striped(tmp_path / "s.png", 60, 40))
    augment = ScaleAugmentation(crop=16, scale_range=(20, 40), color_jitter=0.0)
    outputs = []
    for seed in range(12):
        torch.manual_seed(seed)
        outputs.append(augment(path))
    assert all(o.shape == (3, 16, 16) and o.dtype == torch.uint8 for o in outputs)
    torch.manual_seed(3)
    assert torch.equal(augment(path), outputs[3])
    # Different seeds give different crops, scales and flips (columns step by 4 * 60 / side per pixel).
    assert len({tuple(o[0, 0].tolist()) for o in outputs}) > 6
    flipped = [o for o in outputs if int(o[0, 0, 0]) > int(o[0, 0, -1])]
    assert 0 < len(flipped) < len(outputs)


def test_colour_jitter_changes_pixels_and_keeps_shape(tmp_path: Path) -> None:
    Image.new("RGB", (32, 32), (120, 80, 40)).save(tmp_path / "c.png")
    plain, jittered = ScaleAugmentation(16, (20, 20), 0.0), ScaleAugmentation(16, (20, 20), 0.4)
    torch.manual_seed(0)
    a = plain(str(tmp_path / "c.png"))
    torch.manual_seed(0)
    b = jittered(str(tmp_path / "c.png"))
    assert a.shape == b.shape == (3, 16, 16) and not torch.equal(a, b)


def test_center_view_resizes_the_shorter_side_then_crops_the_centre(tmp_path: Path) -> None:
    path = str(_striped(tmp_path / "s.png", 80, 40))  # shorter side 40 -> 20: the image becomes 40 x 20
    view = CenterView(resize=20, crop=10)(path)
    assert view.shape == (3, 10, 10)
    # Centre crop of a 40-wide row: columns 15..24 of the resized image, i.e. source columns ~30..49.
    assert 4 * 28 <= int(view[0, 0, 0]) <= 4 * 32 and 4 * 46 <= int(view[0, 0, -1]) <= 4 * 50


def test_ten_crop_is_five_crops_and_their_mirrors(tmp_path: Path) -> None:
    path = str(_striped(tmp_path / "s.png", 40, 30))
    views = TenCropView(resize=30, crop=20)(path)
    assert views.shape == (10, 3, 20, 20)
    # The mirrors are crops of the mirrored image: its top-left corner is the mirror of the top-right one.
    assert torch.equal(views[5], views[1].flip(-1)) and torch.equal(views[9], views[4].flip(-1))
    assert torch.equal(views[4], CenterView(resize=30, crop=20)(path))  # the fifth crop is the centre one


def test_square_view_matches_the_in_memory_decode(tmp_path: Path) -> None:
    path = str(_striped(tmp_path / "s.png", 40, 30))
    assert SquareView(12)(path).shape == (3, 12, 12)


@pytest.mark.parametrize("view", [CenterView(8, 8), SquareView(8)])
def test_views_fail_on_files_that_are_not_images(tmp_path: Path, view: object) -> None:
    (tmp_path / "x.jpg").write_text("no")
    with pytest.raises(Exception):  # noqa: B017 - the stream turns any failure into a skipped file
        view(str(tmp_path / "x.jpg"))  # type: ignore[operator]


def test_mirrored_view_is_the_view_and_its_mirror(tmp_path: Path) -> None:
    path = str(_striped(tmp_path / "s.png", 40, 30))
    pair = MirroredView(CenterView(30, 20))(path)
    assert pair.shape == (2, 3, 20, 20) and torch.equal(pair[1], pair[0].flip(-1))
