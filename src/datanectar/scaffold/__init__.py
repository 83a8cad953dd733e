"""The project `datanectar init` writes: templates shipped as package data under `project/`.

Every template is a `*.tmpl` file rendered with `string.Template` (`${project}`, `${package}`,
`${requirement}`; a literal dollar is `$$`), so the Jinja2 braces of the catalog templates pass
through untouched. Its path is the output path without `.tmpl`, with the folder `package`
named after the project's Python package and `gitignore` written as `.gitignore` (a dotfile
would not be picked up as package data by setuptools' globs).
"""

from __future__ import annotations

import importlib.util
import keyword
import re
import string
from dataclasses import dataclass
from importlib import metadata, resources
from importlib.abc import Traversable
from pathlib import Path, PurePosixPath

from ..errors import DatanectarError

SUFFIX = ".tmpl"
RENAMED = {"gitignore": ".gitignore"}
PACKAGE_FOLDER = "package"
# A PEP 508 distribution name: letters and digits, inner `.`, `-`, `_`.
DISTRIBUTION_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")


@dataclass(frozen=True)
class Names:
    """What the templates are rendered with."""

    project: str  # the distribution name, [project] name
    package: str  # the Python package holding the pipelines

    def substitutions(self) -> dict[str, str]:
        return {"project": self.project, "package": self.package, "requirement": _requirement()}


def names_for(target: Path, name: str | None = None) -> Names:
    """The project's names, from `name` or the folder's; an error when they cannot be used."""
    project = name or target.resolve().name
    if not DISTRIBUTION_NAME.match(project):
        raise DatanectarError(
            f"'{project}' is not a valid project name (letters, digits, '-', '_', '.'; starting "
            "and ending with a letter or digit). Fix: pass --name NAME."
        )
    package = re.sub(r"[-.]+", "_", project).lower()
    if not package.isidentifier() or keyword.iskeyword(package):
        raise DatanectarError(
            f"project name '{project}' gives '{package}', which is no Python package name. "
            "Fix: pass --name NAME starting with a letter."
        )
    if importlib.util.find_spec(package) is not None:
        raise DatanectarError(
            f"project name '{project}' gives the package '{package}', which would hide the "
            f"installed module '{package}'. Fix: pass --name NAME, e.g. --name {package}_project."
        )
    return Names(project=project, package=package)


def templates() -> dict[PurePosixPath, Traversable]:
    """Each file the project gets (relative path) and its template."""
    found: dict[PurePosixPath, Traversable] = {}
    _collect(resources.files(__name__) / "project", PurePosixPath(), found)
    return found


def _collect(folder: Traversable, at: PurePosixPath, found: dict[PurePosixPath, Traversable]):
    for item in folder.iterdir():
        if item.is_dir():
            _collect(item, at / item.name, found)
        elif item.name.endswith(SUFFIX):
            found[at / item.name.removesuffix(SUFFIX)] = item


def output_path(relative: PurePosixPath, names: Names) -> PurePosixPath:
    parts = [names.package if part == PACKAGE_FOLDER else part for part in relative.parts[:-1]]
    return PurePosixPath(*parts, RENAMED.get(relative.name, relative.name))


def render(template: Traversable, names: Names) -> str:
    return string.Template(template.read_text(encoding="utf-8")).substitute(names.substitutions())


def scaffold(target: Path, *, name: str | None = None, force: bool = False) -> list[Path]:
    """Write a new project into `target` (created when missing); the files written.

    A folder holding anything is refused unless `force`; even then no existing file is
    overwritten: every clash is named and nothing is written.
    """
    if target.exists() and not target.is_dir():
        raise DatanectarError(f"{target} exists and is not a folder. Fix: name a new folder.")
    names = names_for(target, name)
    if target.is_dir() and any(target.iterdir()) and not force:
        raise DatanectarError(
            f"{target} is not empty. Fix: name a new or empty folder, or pass --force to add "
            "the project's files beside what is there (no existing file is overwritten)."
        )
    planned = {
        target.joinpath(*output_path(relative, names).parts): template
        for relative, template in sorted(templates().items())
    }
    clashes = sorted(str(path) for path in planned if path.exists() or path.is_symlink())
    if clashes:
        raise DatanectarError(
            f"{len(clashes)} file(s) of the new project exist already in {target}: "
            f"{', '.join(clashes)}. Nothing was written. Fix: move them away, or init into "
            "another folder."
        )
    written = []
    for path, template in planned.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(template, names), encoding="utf-8")
        written.append(path)
    return written


def _requirement() -> str:
    """The datanectar the new project asks for: at least the one scaffolding it."""
    try:
        return f">={metadata.version('datanectar')}"
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        return ""
