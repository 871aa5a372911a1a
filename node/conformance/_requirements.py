"""The federation requirements (FDX ids), read from docs/requirements.md.

The requirement text lives in one Markdown file that people read and review;
the suite parses it rather than keeping a second copy in code, so a case can
only name a requirement that is written down. The file ships in the package
as ``tamga.docs`` (see pyproject.toml), so an installed suite reads the text
it was released with.

Format: every line ``- **FDX-<AREA>-<n>** MUST: text`` (or ``SHOULD:``) is a
requirement. A line ``- **FDX-<AREA>-<n>** retired: ...`` keeps a retired id
reserved (ids are never reused) and is not a requirement. Any other line that
starts like a requirement is an error naming the line, so a typo cannot make
a requirement silently disappear.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from importlib import resources
from pathlib import Path
from typing import Any

from tamga.conformance._model import ReportError, Requirement, Severity

__all__ = ["catalogue_coverage", "format_coverage", "load_requirements", "parse_requirements", "requirements_text"]

_LINE = re.compile(r"^\s*[-*]\s+\*\*(FDX-([A-Z]{2,5})-([1-9][0-9]*))\*\*\s+(MUST|SHOULD):\s*(\S.*?)\s*$")
_RETIRED = re.compile(r"^\s*[-*]\s+\*\*(FDX-[A-Z]{2,5}-[1-9][0-9]*)\*\*\s+retired\b", re.IGNORECASE)
_STARTS = re.compile(r"^\s*[-*]\s+\*\*FDX-")


def requirements_text() -> tuple[str, str]:
    """The shipped docs/requirements.md and where it was read from.

    Raises:
        ReportError: the file is not in the installed package.
    """
    try:
        ref = resources.files("tamga.docs") / "requirements.md"
        return ref.read_text("utf-8"), str(ref)
    except (ModuleNotFoundError, FileNotFoundError, OSError) as exc:
        raise ReportError(f"docs/requirements.md is not installed with Tamga ({exc}); reinstall the package") from exc


def parse_requirements(text: str, where: str) -> dict[str, Requirement]:
    """Every requirement of a requirements file, in the file's order.

    Raises:
        ReportError: a malformed or repeated requirement line (named with its
            line number), or a file with no requirement at all.
    """
    found: dict[str, Requirement] = {}
    retired: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not _STARTS.match(line):
            continue
        m = _LINE.match(line)
        if m is None:
            r = _RETIRED.match(line)
            if r is not None:
                retired.add(r.group(1))
                continue
            raise ReportError(
                f"{where}:{number}: not a requirement line; expected '- **FDX-AREA-n** MUST: text' "
                "(or SHOULD:, or 'retired')"
            )
        rid, area, _, level, body = m.groups()
        if rid in found or rid in retired:
            raise ReportError(f"{where}:{number}: {rid} is listed twice; an id names one requirement for ever")
        found[rid] = Requirement(rid, Severity(level), body, area)
    clash = retired & found.keys()
    if clash:
        raise ReportError(f"{where}: {', '.join(sorted(clash))} is both retired and a requirement")
    if not found:
        raise ReportError(f"{where}: no requirement lines ('- **FDX-AREA-n** MUST: text') found")
    return found


def load_requirements(path: Path | None = None) -> dict[str, Requirement]:
    """The requirements, from ``path`` or, by default, the docs/requirements.md shipped with Tamga.

    Raises:
        ReportError: the file is missing or unreadable, or a line is malformed.
    """
    if path is None:
        text, where = requirements_text()
    else:
        try:
            text, where = Path(path).read_text("utf-8"), str(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise ReportError(f"{path}: cannot read the requirements file: {exc}") from exc
    return parse_requirements(text, where)


# -- which cases cover which requirement (tamga conformance requirements) ---------------


def _import_cases(mode: str) -> bool:
    """Import a mode's case module so its cases register; False if that mode is not installed."""
    from tamga.conformance.plugin import CASE_MODULES

    name = CASE_MODULES[mode]
    try:
        if importlib.util.find_spec(name) is None:
            return False
    except ModuleNotFoundError:
        return False
    importlib.import_module(name)
    return True


def catalogue_coverage(
    requirements: dict[str, Requirement], mode: str | None = None
) -> tuple[dict[str, list[str]], list[str]]:
    """Requirement id -> ids of the registered cases that check it (of one mode, or all), and the modes found.

    Requirements no case checks map to an empty list. A case naming an id
    that is not a requirement is listed under that id too, so it shows.

    Raises:
        CatalogueError: an unknown mode.
    """
    from tamga.conformance._catalogue import cases_for
    from tamga.conformance.plugin import CASE_MODULES

    modes = [mode] if mode else list(CASE_MODULES)
    found = [m for m in modes if _import_cases(m)]
    cover: dict[str, list[str]] = {rid: [] for rid in requirements}
    for m in modes:
        for spec in cases_for(m):
            for rid in spec.requirements:
                cover.setdefault(rid, []).append(spec.id)
    return {rid: sorted(set(cases)) for rid, cases in cover.items()}, found


def format_coverage(requirements: dict[str, Requirement], cover: dict[str, list[str]], as_json: bool) -> str:
    """The requirements with their covering cases: a table by area, or JSON (``--json``)."""
    uncovered = [rid for rid, cases in cover.items() if not cases]
    if as_json:
        import json

        items: list[dict[str, Any]] = []
        for rid, cases in cover.items():
            req = requirements.get(rid)
            items.append(
                {
                    "id": rid,
                    "level": str(req.level) if req else None,
                    "area": req.area if req else rid.split("-")[1],
                    "text": req.text if req else None,
                    "cases": cases,
                }
            )
        return json.dumps({"requirements": items, "uncovered": uncovered}, indent=2, ensure_ascii=False) + "\n"
    lines: list[str] = []
    area = ""
    width = max((len(", ".join(c)) for c in cover.values()), default=0)
    width = min(max(width, len("UNCOVERED")), 40)
    for rid, cases in cover.items():
        req = requirements.get(rid)
        this_area = req.area if req else rid.split("-")[1]
        if this_area != area:
            area = this_area
            lines.append(f"{area}" if not lines else f"\n{area}")
        level = str(req.level) if req else "?"
        text = req.text if req else "(not in docs/requirements.md)"
        covering = ", ".join(cases) if cases else "UNCOVERED"
        lines.append(f"  {rid:<12} {level:<6} {covering:<{width}}  {text}")
    lines.append(
        f"\n{len(cover)} requirements, {len(cover) - len(uncovered)} covered by a case, {len(uncovered)} uncovered"
        + (": " + ", ".join(uncovered) if uncovered else "")
    )
    return "\n".join(lines) + "\n"
