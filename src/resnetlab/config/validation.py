"""Checking a config against the dataclasses of `resnetlab.config.schema`, by pydantic: its types and keys, the ranges
declared beside the keys (pydantic's bounds) and the rules between keys (each section's model validators). Every
failure is one line that names the key by its dotted name and says what it accepts, the range in the schema's own
words; an unknown key comes with the closest valid one."""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from typing import Any

from pydantic import TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from resnetlab.config.schema import ConfigError, Rule, TrainConfig, must_be

_ADAPTER = TypeAdapter(TrainConfig)

# pydantic's error types, in resnetlab's words: "<key> must be <this>, got <value>".
_ACCEPTS = {
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "int_parsing": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "text",
    "list_type": "a list, e.g. [1, 2]",
    "dict_type": "a mapping",
    "dataclass_type": "a mapping",
}
# A value outside the bounds a key declares (`Field(ge=0, lt=1)`), and those bounds in words: "in [0, 1)", ">= 1".
_OUT_OF_RANGE = ("greater_than", "greater_than_equal", "less_than", "less_than_equal")
_SIGNS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
_BRACKETS = {"gt": "(", "ge": "[", "lt": ")", "le": "]"}


def checked_config(values: Any) -> TrainConfig:
    """The config a mapping describes (sections of keys, as in a recipe), its types, ranges and rules checked."""
    try:
        return _ADAPTER.validate_python(values)
    except ValidationError as error:
        raise ConfigError(_one_line(_first(error.errors()))) from None


def validate(config: TrainConfig) -> None:
    """Checks a config built in code (e.g. changed with `dataclasses.replace`) as a file is checked: the same types,
    ranges and rules, the same one-line errors. Building a config checks nothing; loading one checks it."""
    checked_config(dataclasses.asdict(config))


def _first(errors: list[ErrorDetails]) -> ErrorDetails:
    """The error to report: a key of the wrong type or an unknown key before any value out of its range (or a
    broken rule between keys), each kind in the schema's order."""
    return min(errors, key=lambda error: error["type"] in _OUT_OF_RANGE or error["type"] == "value_error")


def _one_line(error: ErrorDetails) -> str:
    if error["type"] in ("unexpected_keyword_argument", "extra_forbidden"):
        return _unknown_key(tuple(str(part) for part in error["loc"]))
    loc = _schema_loc(error["loc"])
    key = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".") or "config"
    if error["type"] == "value_error" and isinstance(error.get("ctx", {}).get("error"), ConfigError):
        return str(error["ctx"]["error"])  # a rule between keys, worded by its section
    if error["type"] in _OUT_OF_RANGE:  # the bounds' own words unless the schema declares some
        ctx = error.get("ctx", {})
        rule = _rule_at(loc) or _in_words({name: ctx[name] for name in _SIGNS if name in ctx})
        return must_be(key, rule, _as_held(loc, error["input"]))
    if (choices_in_words := _union_choices(loc)) is not None:  # e.g. true, false or auto
        return f"{key} must be {choices_in_words}, got {error['input']!r}"
    if error["type"] == "literal_error":
        choices = typing.get_args(_hint_at(tuple(str(part) for part in loc)))
        return f"{key} must be one of {', '.join(map(str, choices))}, got {error['input']!r}"
    accepts = _ACCEPTS.get(error["type"])
    if accepts is None:
        return f"{key}: {error['msg']}, got {error['input']!r}"
    return f"{key} must be {accepts}, got {error['input']!r}"


def _schema_loc(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """`loc` without the tags pydantic adds for the member of a union it tried (`channels_last.bool`)."""
    kept: tuple[int | str, ...] = ()
    for part in loc:
        try:
            _declared_at((*kept, part))
        except (KeyError, TypeError, IndexError):
            continue
        kept = (*kept, part)
    return kept


def _union_choices(loc: tuple[int | str, ...]) -> str | None:
    """A key that takes a flag or named choices (`Bool | Literal["auto"]`), its values in words; None for others."""
    try:
        hint = _value_type(_declared_at(loc))
    except (KeyError, TypeError, IndexError):
        return None
    members = [_strip(arg) for arg in typing.get_args(hint)]
    if typing.get_origin(hint) not in (typing.Union, types.UnionType) or not any(
        typing.get_origin(member) is typing.Literal for member in members
    ):
        return None
    words = [
        word
        for member in members
        for word in (["true", "false"] if member is bool else map(str, typing.get_args(member)))
    ]
    return f"{', '.join(words[:-1])} or {words[-1]}"


def _unknown_key(loc: tuple[str, ...]) -> str:
    *section, name = loc
    prefix = "".join(f"{part}." for part in section)
    names = [field.name for field in dataclasses.fields(_hint_at(tuple(section)))]
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" (did you mean {prefix}{close[0]}?)" if close else f"; valid keys: {', '.join(names)}"
    return f"unknown config key {prefix}{name}{hint}"


def range_rule(key: str) -> str | None:
    """The range the schema declares for a dotted key (`data.val_fraction`), as its errors word it: the key's `Rule`,
    or its bounds ("in [0, 1)", ">= 1"); None for a key without bounds."""
    return _rule_at(tuple(key.split(".")))


def _rule_at(loc: tuple[int | str, ...]) -> str | None:
    metadata = _metadata(_declared_at(loc))
    rules = [item.text for item in metadata if isinstance(item, Rule)]
    if rules:
        return rules[0]
    constraints = [item for info in metadata if isinstance(info, FieldInfo) for item in info.metadata]
    bounds = {name: getattr(item, name) for item in constraints for name in _SIGNS if hasattr(item, name)}
    return _in_words(bounds) if bounds else None


def _in_words(bounds: dict[str, Any]) -> str:
    if len(bounds) == 1:
        ((name, value),) = bounds.items()
        return f"{_SIGNS[name]} {value}"
    low = "ge" if "ge" in bounds else "gt"
    high = "le" if "le" in bounds else "lt"
    return f"in {_BRACKETS[low]}{bounds[low]}, {bounds[high]}{_BRACKETS[high]}"


def _as_held(loc: tuple[int | str, ...], value: Any) -> Any:
    """The value as the config holds it: a whole number given for a number key is that float (lr=1 holds 1.0)."""
    if isinstance(value, int) and not isinstance(value, bool) and _value_type(_declared_at(loc)) is float:
        return float(value)
    return value


def _hint_at(loc: tuple[str, ...]) -> Any:
    """The type the schema gives the key at `loc` (a section's dataclass for a section), without its annotations."""
    return _strip(_declared_at(loc))


def _declared_at(loc: tuple[int | str, ...]) -> Any:
    """The type the schema declares for the key at `loc` (an int: an item of a list), with its annotations."""
    hint: Any = TrainConfig
    for part in loc:
        if isinstance(part, int):
            hint = typing.get_args(_value_type(hint))[0]
        else:
            hint = typing.get_type_hints(_strip(hint), include_extras=True)[part]
    return hint


def _value_type(hint: Any) -> Any:
    """`hint` without its annotations and its `| None`: `Annotated[float, ...] | None` is float."""
    hint = _strip(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        values = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        hint = _strip(values[0]) if len(values) == 1 else hint
    return hint


def _strip(hint: Any) -> Any:
    while typing.get_origin(hint) is typing.Annotated:
        hint = typing.get_args(hint)[0]
    return hint


def _metadata(hint: Any) -> list[Any]:
    """The annotations of `hint` and of the types inside it (`Annotated[Float, Field(gt=0)] | None`)."""
    if typing.get_origin(hint) is typing.Annotated:
        base, *own = typing.get_args(hint)
        return own + _metadata(base)
    return [item for arg in typing.get_args(hint) for item in _metadata(arg)]
