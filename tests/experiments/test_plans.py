"""Every experiment's plan at every budget, pinned: the runs it trains and the config of each, for seeds 0 and 1.

An experiment run is resumable: run again, `resnetlab experiment NAME` finds its run folders and refuses one whose saved
config differs from the plan's (runner._check_same_run). A refactor that changes what a plan resolves to (a recipe
value, a default, a model name, an override) therefore breaks the resumption of every experiment run already under
way, and changes what a new run trains. This test fails on any such change.

The fixture, plans.json, holds per budget the recipe's config (`recipe(budget, data)`, as a flat mapping
"section.field" -> value) and, per experiment, each planned run's label, model, group and depth, with the keys in which
each seed's config differs from that budget's recipe. Together they pin every value of every config exactly (the test
compares the whole config, every key). Each run's config comes from the runner's own `run_config`, as in
`run_experiment`. Configs are taken as the plan builds them, before `resolved_config`: precision "auto" and the device
stay as written, so the fixture holds on any machine. The data folder is a class-per-folder tree made for the test;
its absolute path is written "<data>".

Regenerate the fixture only on purpose (a deliberate change of a plan, knowing that runs under way cannot resume):

    .venv/bin/python -m tests.experiments.test_plans --write

`--dump FILE` writes the same JSON to FILE instead (e.g. to compare another checkout's plans:
`PYTHONPATH=/path/to/checkout/src .venv/bin/python -m tests.experiments.test_plans --dump other.json`).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from resnetlab.config import TrainConfig, config_to_dict
from resnetlab.experiments import BUDGETS, EXPERIMENTS
from resnetlab.experiments.budget import Budget, recipe
from resnetlab.experiments.runner import PlannedRun, run_config

FIXTURE = Path(__file__).with_name("plans.json")
DATA = "<data>"
SEEDS = (0, 1)
REGENERATE = ".venv/bin/python -m tests.experiments.test_plans --write"


def _cifar_like_folder(root: Path) -> Path:
    """A class-per-folder tree: `guess_dataset` calls it "folder", and the recipe accepts it for CIFAR-10."""
    for split in ("train", "test"):
        (root / split / "cat").mkdir(parents=True)
    return root


def _flat(config_dict: dict[str, Any], data: str | None) -> dict[str, Any]:
    """{"section.field": value}, JSON-normalised, with the data folder's absolute path written "<data>"."""
    flat = {f"{section}.{key}": value for section, fields in config_dict.items() for key, value in fields.items()}
    normalised: dict[str, Any] = json.loads(json.dumps(flat))
    if data is not None:
        for key, value in normalised.items():
            if isinstance(value, str) and data in value:
                normalised[key] = value.replace(data, DATA)
    return normalised


def _data_for(budget: Budget, folder: Path) -> str | None:
    return None if budget == "smoke" else str(folder)


def _run_config(shared: TrainConfig, run: PlannedRun, seed: int, data: str | None) -> dict[str, Any]:
    """The config exactly as runner.run_experiment builds it for this run and seed."""
    return _flat(config_to_dict(run_config(shared, run, seed)), data)


def _recipe_config(budget: Budget, folder: Path) -> dict[str, Any]:
    data = _data_for(budget, folder)
    resolved = str(Path(data).resolve()) if data is not None else None
    return _flat(config_to_dict(recipe(budget, data)), resolved)


def _runs(name: str, budget: Budget, folder: Path, base: dict[str, Any]) -> list[dict[str, Any]]:
    """Each planned run of `name` at `budget`: what it is, and per seed the keys where its config leaves `base`."""
    data = _data_for(budget, folder)
    resolved = str(Path(data).resolve()) if data is not None else None
    shared = recipe(budget, data)
    runs = []
    for run in EXPERIMENTS[name].plan(budget):
        configs = {}
        for seed in SEEDS:
            config = _run_config(shared, run, seed, resolved)
            if set(config) != set(base):
                raise AssertionError(f"{name} {run.label}: its config has other keys than the recipe's")
            configs[str(seed)] = {k: v for k, v in config.items() if v != base[k]}
        runs.append({"label": run.label, "model": run.model, "group": run.group, "depth": run.depth, "seeds": configs})
    return runs


def generate(folder: Path) -> dict[str, Any]:
    """The whole fixture, for the class-per-folder tree `folder`."""
    recipes = {budget: _recipe_config(budget, folder) for budget in BUDGETS}
    return {
        "recipe": recipes,
        "experiments": {
            name: {budget: _runs(name, budget, folder, recipes[budget]) for budget in BUDGETS}
            for name in sorted(EXPERIMENTS)
        },
    }


def _expanded(fixture: dict[str, Any], name: str, budget: str) -> list[dict[str, Any]]:
    """Each pinned run with its full config per seed (the recipe's, then the run's own keys)."""
    base = fixture["recipe"][budget]
    return [
        {**run, "seeds": {seed: {**base, **keys} for seed, keys in run["seeds"].items()}}
        for run in fixture["experiments"][name][budget]
    ]


def _differences(pinned: list[dict[str, Any]], planned: list[dict[str, Any]]) -> list[str]:
    """What changed, one line each."""
    lines = []
    pinned_labels = [run["label"] for run in pinned]
    planned_labels = [run["label"] for run in planned]
    if pinned_labels != planned_labels:
        lines.append(f"runs: pinned {pinned_labels}, planned {planned_labels}")
    for was, now in zip(pinned, planned, strict=False):
        for field in ("label", "model", "group", "depth"):
            if was[field] != now[field]:
                lines.append(f"{was['label']}: {field} pinned {was[field]!r}, planned {now[field]!r}")
        for seed in sorted(set(was["seeds"]) | set(now["seeds"])):
            old, new = was["seeds"].get(seed, {}), now["seeds"].get(seed, {})
            for key in sorted(set(old) | set(new)):
                if old.get(key, "<absent>") != new.get(key, "<absent>"):
                    pinned_value, planned_value = old.get(key, "<absent>"), new.get(key, "<absent>")
                    lines.append(
                        f"{was['label']} seed {seed}: {key} pinned {pinned_value!r}, planned {planned_value!r}"
                    )
    return lines


@pytest.fixture(scope="module")
def pinned() -> dict[str, Any]:
    fixture: dict[str, Any] = json.loads(FIXTURE.read_text())
    return fixture


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return generate(_cifar_like_folder(tmp_path_factory.mktemp("plans") / "cifar"))


def test_the_fixture_covers_every_experiment_and_budget(pinned: dict[str, Any]) -> None:
    assert sorted(pinned["experiments"]) == sorted(EXPERIMENTS)
    assert list(pinned["recipe"]) == list(BUDGETS)
    for name, budgets in pinned["experiments"].items():
        assert list(budgets) == list(BUDGETS), name
        for budget, runs in budgets.items():
            assert runs, f"{name} plans no run at {budget}"
            assert all(sorted(run["seeds"]) == [str(s) for s in SEEDS] for run in runs), (name, budget)


def test_the_data_folder_is_a_placeholder(pinned: dict[str, Any]) -> None:
    """The fixture holds on any machine: no absolute path, no precision or device resolved for this CPU."""
    assert pinned["recipe"]["smoke"]["data.path"] is None
    for budget in BUDGETS:
        if budget != "smoke":
            assert pinned["recipe"][budget]["data.path"] == DATA
            assert pinned["recipe"][budget]["data.dataset"] == "folder"
        assert pinned["recipe"][budget]["runtime.precision"] == "auto"
        assert pinned["recipe"][budget]["runtime.device"] == "auto"
    for budget, runs in [("recipe", [{"seeds": {"-": pinned["recipe"][b]}} for b in BUDGETS])] + [
        (budget, runs) for budgets in pinned["experiments"].values() for budget, runs in budgets.items()
    ]:
        for run in runs:
            for keys in run["seeds"].values():
                absolute = [k for k, v in keys.items() if isinstance(v, str) and Path(v).is_absolute()]
                assert not absolute, (budget, absolute)


@pytest.mark.parametrize("budget", BUDGETS)
@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_the_plan_is_the_pinned_one(name: str, budget: Budget, pinned: dict[str, Any], planned: dict[str, Any]) -> None:
    was, now = _expanded(pinned, name, budget), _expanded(planned, name, budget)
    if now != was:
        differences = _differences(was, now)
        pytest.fail(
            f"experiment {name!r} at budget {budget!r} no longer plans what tests/experiments/plans.json pins "
            f"({len(differences)} differences, the first 20 shown):\n  "
            + "\n  ".join(differences[:20])
            + "\nA changed plan breaks the resumption of experiment runs already under way (their run folders no "
            "longer match the plan's config, and the runner refuses them), and changes what new runs train. If the "
            f"change is deliberate, regenerate the fixture on purpose: {REGENERATE}"
        )


def test_the_pinned_runs_differ_from_the_recipe_by_model_seed_and_own_overrides(pinned: dict[str, Any]) -> None:
    """A sanity check of the fixture itself: the seed is where seed 1 differs, and every run names its model."""
    for name, budgets in pinned["experiments"].items():
        for budget in budgets:
            for run in _expanded(pinned, name, budget):
                zero, one = (run["seeds"][str(seed)] for seed in SEEDS)
                assert (zero["runtime.seed"], one["runtime.seed"]) == (0, 1)
                assert {k for k in zero if zero[k] != one[k]} == {"runtime.seed"}, (name, budget, run["label"])
                assert zero["model.name"] == run["model"]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description="Regenerate the pinned experiment plans (on purpose only).")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help=f"overwrite {FIXTURE}")
    action.add_argument("--dump", type=Path, help="write the plans of the code imported here to this file instead")
    arguments = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temporary:
        plans = generate(_cifar_like_folder(Path(temporary) / "cifar"))
    target = FIXTURE if arguments.write else arguments.dump
    target.write_text(json.dumps(plans, indent=1) + "\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    main(sys.argv[1:])
