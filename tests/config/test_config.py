from __future__ import annotations

from pathlib import Path

import pytest

from resnetlab.config import (
    ConfigError,
    TrainConfig,
    config_from_dict,
    config_to_dict,
    load_config,
    load_recipe,
    save_config,
)


def test_defaults_are_the_main_job() -> None:
    config = load_config()
    assert config == TrainConfig()
    assert (config.model.name, config.data.dataset) == ("cifar_resnet20", "digits")


def test_overrides_read_values_as_yaml() -> None:
    config = load_config(
        overrides=["optim.lr=0.05", "schedule.milestones=[10, 20]", "optim.nesterov=true", "optim.grad_clip=null"]
    )
    assert config.optim.lr == 0.05 and config.optim.nesterov is True and config.optim.grad_clip is None
    assert config.schedule.milestones == [10, 20]
    assert load_config(overrides=["optim.lr=1"]).optim.lr == 1.0  # a whole number is a valid float
    assert load_config(overrides=["model.options.shortcut=B"]).model.options == {"shortcut": "B"}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("optim.lrr=0.1", "unknown config key optim.lrr (did you mean optim.lr?)"),
        ("optimizer.lr=0.1", "unknown config key optimizer (did you mean optim?)"),
        ("optim.lr=-0.1", "optim.lr must be > 0, got -0.1"),
        ("optim.lr=fast", "optim.lr must be a number, got 'fast'"),
        ("data.batch_size=0", "data.batch_size must be >= 1, got 0"),
        ("data.cutout=-1", "data.cutout must be >= 0 (0 turns it off), got -1"),
        ("data.batch_size=12.5", "data.batch_size must be a whole number, got 12.5"),
        ("schedule.kind=linear", "schedule.kind must be one of multistep, cosine, onecycle, constant, got 'linear'"),
        ("schedule.milestones=[20, 10]", "schedule.milestones must be increasing"),
        ("schedule.milestones=5", "schedule.milestones must be a list"),
        ("optim.nesterov=maybe", "optim.nesterov must be true or false, got 'maybe'"),
        ("schedule.warmup_until_error=0.8", "schedule.warmup_lr must be set with warmup_until_error"),
        ("optim", "override 'optim' is not key=value"),
        ("optim.lr.x=1", "optim.lr must be a number, got {'x': 1}"),
        ("optim.lr=true", "optim.lr must be a number, got True"),  # YAML's true is no number, nor 1
        ("data.batch_size=true", "data.batch_size must be a whole number, got True"),
        ("data.batch_size='64'", "data.batch_size must be a whole number, got '64'"),  # quoted: text, not a number
        ("schedule.milestones=[10, x]", "schedule.milestones[1] must be a whole number, got 'x'"),
        ("model.name=20", "model.name must be text, got 20"),
        ("model.options=3", "model.options must be a mapping, got 3"),
        ("data.zzz=1", "unknown config key data.zzz; valid keys: dataset, path, val_fraction"),
    ],
)
def test_bad_values_name_the_key_and_the_rule(override: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(overrides=[override])
    assert message in str(error.value)


def test_numbers_with_an_exponent_and_no_dot_are_numbers(tmp_path: Path) -> None:
    # YAML 1.1 (PyYAML) reads 1e-3 as text; written in a file or on the command line, users mean a number.
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("optim:\n  weight_decay: 5e-4\n")
    config = load_config(recipe, ["optim.lr=1e-3"])
    assert (config.optim.lr, config.optim.weight_decay) == (0.001, 0.0005)
    with pytest.raises(ConfigError, match=r"optim\.lr must be a number, got '1e-3x'"):
        load_config(overrides=["optim.lr=1e-3x"])


def test_a_file_inherits_from_its_base_and_overrides_win(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text("optim: {lr: 0.2, momentum: 0.8}\nmodel: {options: {shortcut: B}}\n")
    (tmp_path / "child.yaml").write_text(
        "base: base.yaml\noptim: {lr: 0.3}\nmodel: {options: {zero_init_residual: true}}\n"
    )
    config = load_config(tmp_path / "child.yaml", ["optim.momentum=0.5"])
    assert (config.optim.lr, config.optim.momentum) == (0.3, 0.5)
    assert config.model.options == {"shortcut": "B", "zero_init_residual": True}


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("optim: {lr: 0.1\n")
    with pytest.raises(ConfigError, match="is not valid YAML at line"):
        load_config(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="must hold a mapping of sections"):
        load_config(tmp_path / "list.yaml")
    (tmp_path / "loop.yaml").write_text("base: loop.yaml\n")
    with pytest.raises(ConfigError, match="includes itself"):
        load_config(tmp_path / "loop.yaml")
    (tmp_path / "section.yaml").write_text("optim: 3\n")
    with pytest.raises(ConfigError, match="optim must be a mapping"):
        load_config(tmp_path / "section.yaml")


def test_saved_config_loads_back_to_the_same_config(tmp_path: Path) -> None:
    config = load_config(overrides=["optim.lr=0.05", "schedule.milestones=[3]", "model.options.shortcut=C"])
    save_config(config, tmp_path / "config.yaml")
    assert load_config(tmp_path / "config.yaml") == config
    assert [p.name for p in tmp_path.iterdir()] == ["config.yaml"]  # no partial file left beside it


def test_paper_recipe_values() -> None:
    """[R1] Sec. 4.2 as written in paper-facts: 0.1, /10 at 32k and 48k, stop at 64k, batch 128, wd 1e-4."""
    r20, r110 = load_recipe("cifar10/resnet20"), load_recipe("cifar10/resnet110")
    assert (r20.optim.lr, r20.optim.momentum, r20.optim.weight_decay, r20.data.batch_size) == (0.1, 0.9, 1e-4, 128)
    assert (r20.schedule.unit, r20.schedule.length, r20.schedule.milestones) == ("iteration", 64000, [32000, 48000])
    assert (r110.schedule.warmup_lr, r110.schedule.warmup_until_error) == (0.01, 0.8)


def test_a_warmup_lr_without_its_stopping_rule_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"schedule\.warmup_until_error must be set with warmup_lr"):
        load_config(overrides=["schedule.warmup_lr=0.01"])


def test_a_stored_config_is_checked_like_a_file() -> None:
    """A config read back from a checkpoint goes through the same checks, with the same one-line errors."""
    stored = config_to_dict(load_config())
    assert config_from_dict(stored) == TrainConfig()
    stored["optim"]["momentun"] = 0.9
    with pytest.raises(ConfigError, match=r"^unknown config key optim\.momentun \(did you mean optim\.momentum\?\)$"):
        config_from_dict(stored)
    with pytest.raises(ConfigError, match=r"^config must be a mapping, got \[1\]$"):
        config_from_dict([1])  # type: ignore[arg-type]
