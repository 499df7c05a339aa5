"""The shipped recipes: package data, listed and loaded by name; a YAML file's path still works, and wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from resnetlab.config import ConfigError, load_config, load_recipe, recipe_names, recipe_summary

PAPERS = ("cifar10/", "imagenet/")  # the folders of recipes that train one named network of the papers


def test_the_recipes_are_listed_by_name() -> None:
    names = recipe_names()
    assert names == sorted(names)
    for name in ("cifar10/resnet20", "cifar10/resnet110", "cifar10/resnet20_fast", "cifar10/resnet20_standard"):
        assert name in names
    assert {"imagenet/resnet50", "finetune/folder"} <= set(names)
    assert not any(name.endswith(".yaml") for name in names)


@pytest.mark.parametrize("name", recipe_names())
def test_every_shipped_recipe_loads_by_name_and_says_what_it_is(name: str) -> None:
    config = load_recipe(name)  # validated, its base: chain followed inside the package
    assert load_config(name) == config
    summary = recipe_summary(name)
    assert 20 < len(summary) <= 120 and summary.endswith("."), summary  # one line, `resnetlab recipes` shows it
    if name.startswith(PAPERS):
        assert name.rpartition("/")[2].split("_")[0] in config.model.name  # the name says which network it trains


def test_base_chains_work_inside_the_package() -> None:
    """cutout_ls <- cutout_long <- cutout <- cosine <- resnet20: each adds its own values to the one before."""
    config = load_recipe("cifar10/resnet20_cutout_ls")
    assert (config.optim.label_smoothing, config.schedule.length, config.data.cutout) == (0.1, 200, 16)
    assert (config.schedule.kind, config.optim.weight_decay, config.data.augment) == ("cosine", 0.0005, "cifar")
    assert load_recipe("cifar10/resnet20.yaml") == load_recipe("cifar10/resnet20")


def test_a_yaml_file_still_works_and_may_start_from_a_shipped_recipe(tmp_path: Path) -> None:
    own = tmp_path / "my_resnet32.yaml"
    own.write_text("base: cifar10/resnet20_fast.yaml\nmodel:\n  name: cifar_resnet32\n")
    config = load_config(own, ["optim.lr=0.1"])
    assert config.model.name == "cifar_resnet32" and config.optim.lr == 0.1
    assert config.schedule == load_recipe("cifar10/resnet20_fast").schedule
    (tmp_path / "resnet20_fast.yaml").write_text("optim:\n  lr: 0.3\n")  # a file beside it wins over the recipe
    (tmp_path / "beside.yaml").write_text("base: resnet20_fast.yaml\n")
    assert load_config(tmp_path / "beside.yaml").optim.lr == 0.3


def test_a_path_that_exists_wins_over_a_recipe_of_the_same_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cifar10").mkdir()
    (tmp_path / "cifar10" / "resnet20").write_text("optim:\n  lr: 0.05\n")
    monkeypatch.chdir(tmp_path)
    assert load_config("cifar10/resnet20").optim.lr == 0.05
    assert load_recipe("cifar10/resnet20").optim.lr == 0.1  # a recipe by name never reads the working directory


@pytest.mark.parametrize(
    ("asked", "meant"),
    [
        ("cifar10/resnet20_fsat", "cifar10/resnet20_fast"),
        ("resnet50", "imagenet/resnet50"),
        ("cifar10/resnet20_standrad", "cifar10/resnet20_standard"),
    ],
)
def test_an_unknown_name_is_one_line_with_the_likely_one_and_every_name(asked: str, meant: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(asked)
    message = str(error.value)
    assert message.startswith(
        f"no file and no shipped recipe named {asked!r} (did you mean {meant}?); the recipes are "
    )
    assert message.endswith(", ".join(recipe_names())) and "\n" not in message


def test_a_missing_yaml_file_says_so_and_names_the_recipe_it_was_moved_to() -> None:
    with pytest.raises(ConfigError, match=r"^config file nowhere\.yaml does not exist$"):
        load_config("nowhere.yaml")
    with pytest.raises(ConfigError) as error:
        load_config("configs/cifar10/resnet20.yaml")  # where the recipes lived before they became package data
    moved = "config file configs/cifar10/resnet20.yaml does not exist (did you mean the recipe cifar10/resnet20?)"
    assert str(error.value) == moved
