"""`batches`: the stream of batches a run feeds its model from one split, in memory or streamed from disk."""

from __future__ import annotations

import torch

from resnetlab.config import DataConfig
from resnetlab.data.file_stream import FileStream, View
from resnetlab.data.imageset import DataSplits, FileSet, ImageSet
from resnetlab.data.splits import plain_view
from resnetlab.data.stream import BatchStream
from resnetlab.data.transforms import normalization
from resnetlab.data.views import MirroredView, ScaleAugmentation, TenCropView
from resnetlab.errors import UserInputError


def batches(
    config: DataConfig,
    splits: DataSplits,
    data: ImageSet | FileSet,
    *,
    train: bool,
    seed: int,
    device: torch.device,
    channels_last: bool = False,
    shard: tuple[int, int] = (0, 1),
) -> BatchStream | FileStream:
    """Training batches (shuffled, augmented) or evaluation batches (in order, evaluation views) of `data`."""
    batch_size = config.batch_size if train else config.eval_batch_size
    if isinstance(data, ImageSet):
        return BatchStream(
            data,
            batch_size,
            train=train,
            augment="cifar" if config.augment == "cifar" else "none",
            normalize=config.normalize,
            mean=splits.mean,
            std=splits.std,
            pixel_mean=splits.pixel_mean,
            seed=seed,
            device=device,
            channels_last=channels_last,
            mirrored=not train and config.eval_view in ("flip", "flip_translate"),
            translated=not train and config.eval_view == "flip_translate",
            cutout=config.cutout,
            shard=shard,
        )
    normalize = normalization(config.normalize, splits.mean, splits.std, splits.pixel_mean, data.image_shape, device)
    imagenet = config.augment == "imagenet"
    if config.eval_view == "flip_translate":
        raise UserInputError(
            "data.eval_view=flip_translate applies to images held in memory, and these are streamed from disk "
            "(a large set, or augment=imagenet); use data.eval_view=flip"
        )
    view: View
    if train and imagenet:
        view = ScaleAugmentation(config.crop_size, (config.scale_range[0], config.scale_range[1]), config.color_jitter)
    elif not train and config.eval_view == "ten_crop":
        view = TenCropView(config.eval_resize, config.crop_size)
    elif not train and config.eval_view == "flip":
        view = MirroredView(plain_view(config))
    else:
        view = plain_view(config)
    lighting = None
    if train and imagenet and config.lighting > 0 and splits.color_pca is not None:
        lighting = (splits.color_pca, config.lighting)
    return FileStream(
        data,
        batch_size,
        train=train,
        view=view,
        normalize=normalize,
        seed=seed,
        device=device,
        workers=config.workers,
        cifar_augment=config.augment == "cifar",
        lighting=lighting,
        channels_last=channels_last,
        cutout=config.cutout,
        shard=shard,
    )
