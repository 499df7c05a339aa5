"""The shipped recipes: YAML files under `resnetlab/recipes/`, package data, each named by its path there without
`.yaml` (`cifar10/resnet20`). Read through importlib.resources, so they load the same from a checkout and from an
installed wheel; `resnetlab recipes` lists them with the first line of each one's leading comment."""

from __future__ import annotations

import difflib
import posixpath
from importlib import resources
from importlib.resources.abc import Traversable

from resnetlab.config.schema import ConfigError

SUFFIX = ".yaml"


def recipe_names() -> list[str]:
    """Every shipped recipe's name, sorted: `cifar10/preact_resnet110`, ..., `imagenet/resnet50`."""
    names: list[str] = []

    def walk(folder: Traversable, prefix: str) -> None:
        for entry in folder.iterdir():
            if entry.is_dir():
                walk(entry, f"{prefix}{entry.name}/")
            elif entry.name.endswith(SUFFIX):
                names.append(prefix + entry.name.removesuffix(SUFFIX))

    walk(_root(), "")
    return sorted(names)


def recipe_name(text: str) -> str | None:
    """The shipped recipe `text` names (`cifar10/resnet20`, also written `cifar10/resnet20.yaml`), or None."""
    name = "/".join(_parts(text))
    return name if name in recipe_names() else None


def recipe_text(name: str) -> str:
    """The YAML of the shipped recipe `name`; an unknown name is a ConfigError that lists the known ones."""
    known = recipe_name(name)
    if known is None:
        raise ConfigError(unknown_recipe(name))
    return _root().joinpath(*f"{known}{SUFFIX}".split("/")).read_text(encoding="utf-8")


def recipe_summary(name: str) -> str:
    """The first line of the recipe's leading comment: what it is, in one line ("" when it starts without one)."""
    first = recipe_text(name).lstrip("\n").partition("\n")[0].strip()
    return first.lstrip("#").strip() if first.startswith("#") else ""


def moved_recipe(path: str) -> str | None:
    """The shipped recipe a missing YAML file's path names: the same name under a longer path
    (`configs/cifar10/resnet20.yaml`, as recipes were once run from a checkout), or None."""
    parts, names = _parts(path), recipe_names()
    return next((tail for i in range(len(parts)) if (tail := "/".join(parts[i:])) in names), None)


def closest_recipe(text: str) -> str | None:
    """The shipped recipe `text` most likely means: a moved one, the same file name in one folder (`resnet50`), or a
    close spelling; None when nothing is close."""
    names = recipe_names()
    parts = _parts(text)
    same_file = [name for name in names if name.rpartition("/")[2] == parts[-1]]
    likely = same_file or difflib.get_close_matches("/".join(parts), names, n=1)
    return moved_recipe(text) or (likely[0] if likely else None)


def unknown_recipe(text: str) -> str:
    """One line: what was asked, the likely meaning, and every shipped recipe's name."""
    close = closest_recipe(text)
    hint = f" (did you mean {close}?)" if close else ""
    return f"no file and no shipped recipe named {text!r}{hint}; the recipes are {', '.join(recipe_names())}"


def _parts(text: str) -> list[str]:
    return posixpath.normpath(text.replace("\\", "/")).removesuffix(SUFFIX).split("/")


def _root() -> Traversable:
    return resources.files("resnetlab") / "recipes"
