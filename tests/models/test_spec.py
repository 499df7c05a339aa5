from __future__ import annotations

import pytest

from resnetlab.errors import UserInputError
from resnetlab.models import model_entry
from resnetlab.models.cifar import cifar_spec


def test_options_change_only_what_they_name() -> None:
    base = model_entry("cifar_resnet20").spec
    changed = base.with_options(shortcut="C", num_classes=100)
    assert (changed.shortcut, changed.num_classes) == ("C", 100)
    assert (changed.depths, changed.widths, changed.block) == (base.depths, base.widths, base.block)


def test_preact_is_shorthand_for_the_full_preactivation_order() -> None:
    base = model_entry("cifar_resnet110").spec
    assert base.with_options(preact=True).unit_order == "full_preact"
    assert model_entry("cifar_preact_resnet110").spec.with_options(preact=False).unit_order == "original"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"shortcut": "D"}, "shortcut='D' is not one of"),
        ({"unit_order": "preact"}, "unit_order='preact' is not one of"),
        ({"shortcut_mapping": "gate"}, "shortcut_mapping='gate' is not one of"),
        ({"num_classes": -1}, "num_classes must be a whole number >= 0"),
        ({"num_classes": 2.5}, "num_classes must be a whole number >= 0"),
        ({"in_chans": 0}, "in_chans must be a whole number >= 1"),
        ({"shortcut_dropout": 1.0}, "shortcut_dropout must be in [0, 1)"),
        ({"widht": 3}, "unknown model option(s) widht; valid options: num_classes"),
    ],
)
def test_bad_options_are_refused_with_a_message_that_names_them(options: dict[str, object], message: str) -> None:
    with pytest.raises(UserInputError) as error:
        model_entry("resnet18").spec.with_options(**options)
    assert message in str(error.value)


def test_settings_of_another_mapping_or_conflicting_orders_are_refused() -> None:
    spec = model_entry("cifar_resnet110").spec
    with pytest.raises(UserInputError, match="gate_bias only applies with shortcut_mapping='exclusive_gating' or"):
        spec.with_options(gate_bias=-6.0)
    assert spec.with_options(shortcut_mapping="shortcut_gating", gate_bias=-6.0).gate_bias == -6.0
    with pytest.raises(UserInputError, match="give either preact or unit_order, not both"):
        spec.with_options(preact=True, unit_order="relu_before_add")


def test_a_plain_network_has_no_shortcut_to_map() -> None:
    with pytest.raises(UserInputError, match="plain network has no shortcut"):
        model_entry("cifar_plain20").spec.with_options(shortcut_mapping="scaling")


def test_cifar_depths_must_be_6n_plus_2_or_9n_plus_2() -> None:
    assert cifar_spec(20).depths == (3, 3, 3)
    assert cifar_spec(164, "bottleneck").depths == (18, 18, 18)
    with pytest.raises(UserInputError, match="depth 6n\\+2, not 21"):
        cifar_spec(21)
