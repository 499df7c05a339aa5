"""Make the fine-tuning demo's image folder: real photos at mixed sizes, as a user's own folder would be.

Takes the first N test images of a few CIFAR-10 classes (from a class-per-folder copy such as
../shared/datasets/cifar10) and saves each, enlarged to a random size and aspect ratio, as a JPEG:

    python scripts/make_finetune_demo.py ../shared/datasets/cifar10 data/animals

The source model of the README's fine-tuning section never saw these images: it trained on CIFAR-10's train split.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from PIL import Image

CLASSES = ("cat", "deer", "dog", "horse")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cifar10", type=Path, help="a class-per-folder CIFAR-10 with a test/ folder")
    parser.add_argument("out", type=Path, help="the folder to create (must not exist)")
    parser.add_argument("--per-class", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.out.exists():
        parser.error(f"{args.out} exists; choose a new folder")
    draw = random.Random(args.seed)
    for name in CLASSES:
        sources = sorted((args.cifar10 / "test" / name).glob("*.jpg"))[: args.per_class]
        if len(sources) < args.per_class:
            parser.error(f"{args.cifar10 / 'test' / name} has {len(sources)} JPEGs, fewer than --per-class")
        (args.out / name).mkdir(parents=True)
        for source in sources:
            side = draw.randint(48, 160)
            aspect = draw.uniform(0.75, 1.33)
            size = (max(32, round(side * aspect)), side)
            with Image.open(source) as image:
                image.convert("RGB").resize(size, Image.Resampling.BICUBIC).save(
                    args.out / name / source.name, quality=90
                )
    print(f"{len(CLASSES) * args.per_class} images in {len(CLASSES)} classes: {args.out}")


if __name__ == "__main__":
    main()
