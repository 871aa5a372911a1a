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

import re
from importlib import resources
from pathlib import Path

from tamga.conformance._model import ReportError, Requirement, Severity

__all__ = ["load_requirements", "parse_requirements", "requirements_text"]

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
