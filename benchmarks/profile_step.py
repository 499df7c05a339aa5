"""Where a training step or an inference call spends its time: torch.profiler's operator table for one variant of a
benchmark case, to explain a ratio (which ops dominate, and whether they run in bf16).

    python -m benchmarks.profile_step train cifar_resnet20 "bf16+channels_last"
    python -m benchmarks.profile_step inference resnet50-b32 fold_bn+channels_last+bf16 --steps 5
"""

from __future__ import annotations

import argparse

from torch.profiler import ProfilerActivity, profile

from benchmarks import inference, train_step


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=("train", "inference"))
    parser.add_argument("case")
    parser.add_argument("variant")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--rows", type=int, default=25)
    args = parser.parse_args(argv)
    module = train_step if args.kind == "train" else inference
    cases = {**module.TINY, **module.CASES}  # a full-size case wins over a tiny one of the same name
    if args.case not in cases:
        parser.error(f"unknown case {args.case!r}; one of {', '.join(sorted(cases))}")
    variants = {v.name: v for v in module.variants(cases[args.case])}  # type: ignore[attr-defined]
    if args.variant not in variants:
        parser.error(f"unknown variant {args.variant!r}; one of {', '.join(variants)}")
    run = variants[args.variant].setup()
    for _ in range(2):
        run()
    with profile(activities=[ProfilerActivity.CPU], record_shapes=False) as profiler:
        for _ in range(args.steps):
            run()
    print(profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows))


if __name__ == "__main__":
    main()
