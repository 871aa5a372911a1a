"""``tamga adapter new``: a national team's adapter package, ready to install and test.

The package is rendered from ``adapters/sdk/template/`` (shipped as package
data of ``tamga.adapters.sdk``), so the skeleton a team starts from is kept,
tested and released with the SDK it is written against. Template files end in
``.tmpl`` (so that neither ruff nor pytest mistakes them for this project's
code) and use :class:`string.Template` placeholders: ``${name}``,
``${package}``, ``${class_name}``, ``${dist}``, ``${source_format}``. A
folder named ``package`` becomes the Python package.

The package is written into a temporary sibling folder and renamed into
place, so a failure halfway leaves nothing behind, and an existing folder is
never written into.
"""

from __future__ import annotations

import os
import re
import shutil
import string
import tempfile
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from tamga.errors import TamgaError

__all__ = ["NAME_PATTERN", "ScaffoldError", "check_adapter_name", "new_adapter", "placeholders"]

#: Adapter names: lowercase ASCII words joined by single underscores ("demo_xx", "eaeu2").
#: The name is the entry-point name, the ``[adapter] name`` of tamga.toml and part of
#: the Python package name, so it must be all three at once.
NAME_PATTERN = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*", re.ASCII)
_MAX_NAME = 40
_SUFFIX = ".tmpl"
_PACKAGE_DIR = "package"


class ScaffoldError(TamgaError):
    """The adapter package cannot be created: a bad name or a target that exists."""


def check_adapter_name(name: str) -> None:
    """Raise :class:`ScaffoldError` unless ``name`` can name an adapter."""
    if not NAME_PATTERN.fullmatch(name) or len(name) > _MAX_NAME:
        raise ScaffoldError(
            f"adapter name {name!r} is not usable: use lowercase letters, digits and single underscores,"
            f" starting with a letter, at most {_MAX_NAME} characters (e.g. 'demo_xx')"
        )


def placeholders(name: str) -> dict[str, str]:
    """The values the template's placeholders take for adapter ``name``."""
    check_adapter_name(name)
    return {
        "name": name,
        "package": f"tamga_adapter_{name}",
        "dist": f"tamga-adapter-{name.replace('_', '-')}",
        "class_name": "".join(part.capitalize() for part in name.split("_")) + "Adapter",
        "source_format": f"{name.upper()}:DECLARATION-TEXT",
    }


def template_root() -> Traversable:
    """The template folder inside the installed ``tamga.adapters.sdk`` package."""
    return resources.files("tamga.adapters.sdk").joinpath("template")


def new_adapter(name: str, target: Path) -> list[Path]:
    """Write the adapter package for ``name`` into the new folder ``target``.

    Returns:
        The files written, relative to ``target``, sorted.

    Raises:
        ScaffoldError: the name is not usable, ``target`` exists, or the
            template is missing from this installation.
        OSError: the folder cannot be written.
    """
    values = placeholders(name)
    if target.exists() or target.is_symlink():
        raise ScaffoldError(f"{target} already exists; give a new folder with --dir, nothing was written")
    root = template_root()
    if not root.is_dir():
        raise ScaffoldError(f"the adapter template is missing from this installation ({root})")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        written = _render(root, staging, values, Path())
        # rename() onto an existing empty folder succeeds on POSIX: check once more, just before.
        if target.exists() or target.is_symlink():
            raise ScaffoldError(f"{target} appeared while the package was written; nothing was written there")
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return sorted(written)


def _render(folder: Traversable, out: Path, values: dict[str, str], rel: Path) -> list[Path]:
    written: list[Path] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name == "__pycache__" or entry.name.startswith("."):
            continue
        name = values["package"] if entry.name == _PACKAGE_DIR and entry.is_dir() else entry.name
        if entry.is_dir():
            (out / rel / name).mkdir()
            written += _render(entry, out, values, rel / name)
            continue
        data = entry.read_bytes()
        if name.endswith(_SUFFIX):
            name = name[: -len(_SUFFIX)]
            try:
                data = string.Template(data.decode("utf-8")).substitute(values).encode("utf-8")
            except (KeyError, ValueError) as exc:
                raise ScaffoldError(f"template file {rel / entry.name} has a bad placeholder: {exc}") from exc
        (out / rel / name).write_bytes(data)
        written.append(rel / name)
    return written
