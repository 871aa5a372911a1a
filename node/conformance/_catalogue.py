"""The catalogue of conformance cases: the ``@case`` decorator and its registry.

A case is a pytest test function with a stable id, the requirements it
checks and the facts the runner needs to plan it, declared where the test is
written::

    @case("ENV-003", "Body changed after signing is refused; nothing reaches the national system",
          requirements=("FDX-ENV-3",), mode="node", negative=True, after=("TRN-001",))
    def test_env_003(peer, target, transcript): ...

Rules:

1. A case id (``ENV-003``: area, three digits) names one case for ever; ids
   are never reused or renamed, so a national team's history of runs stays
   comparable. Titles may change, ids may not.
2. Every declaration is checked when the module is imported: the id's form,
   a known mode and severity, at least one requirement id of the form
   ``FDX-AREA-n``, a protocol range, the form of each capability need and of
   each prerequisite. A second case with an id already taken is an error
   naming both functions. Whether each requirement exists in
   docs/requirements.md and each prerequisite is a registered case is
   checked when a run is planned (:func:`check_catalogue`), once every cases
   module is imported.
3. Importing ``tamga.conformance.cases.adapter_cases`` or ``node_cases``
   registers their cases; the registry is the catalogue the plan is built
   from, not what pytest happened to collect, so a case that was not
   collected shows as planned without a result and the run fails.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from tamga.conformance._model import Requirement, Severity
from tamga.errors import TamgaError

__all__ = [
    "MODES",
    "NEED_KINDS",
    "SUITE_VERSION",
    "CaseSpec",
    "CatalogueError",
    "case",
    "cases_for",
    "check_catalogue",
    "order_cases",
    "registry",
    "select",
]

#: Version of the suite: ``<protocol major>.<minor>.<patch>``. The major is
#: the protocol version the catalogue checks; the minor grows when cases are
#: added, the patch when a case is corrected. Reports carry it.
SUITE_VERSION = "1.0.0"

#: The two targets of the suite: an adapter alone, or a live node.
MODES = ("adapter", "node")

#: What a capability need may name: ``record_type:seizure_report``, ``format:eaeu``,
#: ``feature:restart_command``, ``direction:send`` (the statement's send_direction feature).
NEED_KINDS = ("record_type", "format", "feature", "direction")

_CASE_ID = re.compile(r"^([A-Z]{3})-([0-9]{3})$")
_REQ_ID = re.compile(r"^FDX-[A-Z]{2,5}-[1-9][0-9]*$")
_NEED = re.compile(r"^([a-z_]+):([a-z0-9_]+)$")

F = TypeVar("F", bound=Callable[..., Any])


class CatalogueError(TamgaError):
    """A case declaration is wrong: the message names the case (or function) and what is wrong."""


@dataclass(frozen=True)
class CaseSpec:
    """One declared case: everything the runner plans and reports, without running it.

    Attributes:
        id: Stable id, ``AREA-NNN``.
        title: What the case checks, in one line.
        requirements: The FDX requirement ids it checks (at least one).
        mode: ``adapter`` or ``node``.
        severity: MUST (a failure fails the run) or SHOULD (a warning, a failure with --strict).
        negative: The case feeds bad input and expects it refused.
        protocol: Protocol versions it applies to, inclusive; ``(1, None)`` is 1 and later.
        needs: Capability keys that must hold for the case to apply (see :data:`NEED_KINDS`).
        after: Prerequisite case ids; if any did not pass, this case is BLOCKED.
        func: ``module:qualname`` of the test function.
    """

    id: str
    title: str
    requirements: tuple[str, ...]
    mode: str
    severity: Severity
    negative: bool
    protocol: tuple[int, int | None]
    needs: tuple[str, ...]
    after: tuple[str, ...]
    func: str

    @property
    def area(self) -> str:
        return self.id.split("-", 1)[0]

    def applies_to_protocol(self, versions: Iterable[int]) -> bool:
        """Whether any of ``versions`` lies in the case's protocol range."""
        low, high = self.protocol
        return any(v >= low and (high is None or v <= high) for v in versions)


_REGISTRY: dict[str, CaseSpec] = {}


def _fail(where: str, message: str) -> CatalogueError:
    return CatalogueError(f"conformance case {where}: {message}")


def case(
    id: str,
    title: str,
    *,
    requirements: tuple[str, ...],
    mode: str,
    severity: str = "MUST",
    negative: bool = False,
    protocol: tuple[int, int | None] = (1, None),
    needs: tuple[str, ...] = (),
    after: tuple[str, ...] = (),
) -> Callable[[F], F]:
    """Declare a pytest test function as a conformance case (see the module docstring).

    Raises:
        CatalogueError: a malformed declaration, or an id already taken by another function.
    """
    where = repr(id)
    if not isinstance(id, str) or not _CASE_ID.match(id):
        raise _fail(where, "id must be an area and three digits, like 'ENV-003'")
    if not isinstance(title, str) or not title.strip() or "\n" in title:
        raise _fail(where, "title must be one non-empty line")
    if mode not in MODES:
        raise _fail(where, f"mode {mode!r} is not one of {', '.join(MODES)}")
    try:
        level = Severity(severity)
    except ValueError:
        raise _fail(where, f"severity {severity!r} is not MUST or SHOULD") from None
    if isinstance(requirements, str) or not requirements:
        raise _fail(where, "requirements must be a non-empty tuple of ids like ('FDX-ENV-3',)")
    for rid in requirements:
        if not isinstance(rid, str) or not _REQ_ID.match(rid):
            raise _fail(where, f"requirement {rid!r} is not an id like 'FDX-ENV-3'")
    if (
        not isinstance(protocol, tuple)
        or len(protocol) != 2
        or not isinstance(protocol[0], int)
        or protocol[0] < 1
        or not (protocol[1] is None or (isinstance(protocol[1], int) and protocol[1] >= protocol[0]))
    ):
        raise _fail(where, f"protocol {protocol!r} must be (from, to) with 1 <= from <= to, or (from, None)")
    if isinstance(needs, str):
        raise _fail(where, "needs must be a tuple of strings, like ('feature:restart_command',)")
    for need in needs:
        m = _NEED.match(need) if isinstance(need, str) else None
        if m is None or m.group(1) not in NEED_KINDS:
            raise _fail(where, f"need {need!r} is not KIND:NAME with KIND one of {', '.join(NEED_KINDS)}")
    if isinstance(after, str):
        raise _fail(where, "after must be a tuple of case ids, like ('TRN-001',)")
    for pre in after:
        if not isinstance(pre, str) or not _CASE_ID.match(pre):
            raise _fail(where, f"prerequisite {pre!r} is not a case id like 'TRN-001'")
        if pre == id:
            raise _fail(where, "a case cannot be its own prerequisite")

    def decorate(func: F) -> F:
        name = f"{func.__module__}:{func.__qualname__}"
        spec = CaseSpec(
            id=id,
            title=title.strip(),
            requirements=tuple(requirements),
            mode=mode,
            severity=level,
            negative=bool(negative),
            protocol=(protocol[0], protocol[1]),
            needs=tuple(needs),
            after=tuple(after),
            func=name,
        )
        taken = _REGISTRY.get(id)
        if taken is not None and taken.func != name:
            raise _fail(where, f"id already taken by {taken.func}; {name} needs an id of its own")
        _REGISTRY[id] = spec
        func.tamga_case = spec  # type: ignore[attr-defined]
        return func

    return decorate


def registry() -> dict[str, CaseSpec]:
    """Every registered case, by id, in the order they were declared."""
    return dict(_REGISTRY)


def order_cases(specs: Iterable[CaseSpec]) -> list[CaseSpec]:
    """The cases with every prerequisite before the cases that need it, otherwise by id.

    Raises:
        CatalogueError: the prerequisites form a cycle.
    """
    by_id = {s.id: s for s in sorted(specs, key=lambda s: s.id)}
    done: dict[str, CaseSpec] = {}
    visiting: list[str] = []

    def visit(spec: CaseSpec) -> None:
        if spec.id in done:
            return
        if spec.id in visiting:
            cycle = " -> ".join([*visiting[visiting.index(spec.id) :], spec.id])
            raise _fail(repr(spec.id), f"prerequisites form a cycle: {cycle}")
        visiting.append(spec.id)
        for pre in spec.after:
            if pre in by_id:
                visit(by_id[pre])
        visiting.pop()
        done[spec.id] = spec

    for spec in by_id.values():
        visit(spec)
    return list(done.values())


def cases_for(mode: str) -> list[CaseSpec]:
    """The registered cases of one mode, prerequisites first.

    Raises:
        CatalogueError: an unknown mode, or a prerequisite cycle.
    """
    if mode not in MODES:
        raise CatalogueError(f"unknown conformance mode {mode!r}; the modes are {', '.join(MODES)}")
    return order_cases(s for s in _REGISTRY.values() if s.mode == mode)


def check_catalogue(specs: Iterable[CaseSpec], requirements: Mapping[str, Requirement]) -> None:
    """Check what can only be checked once every case is registered.

    Raises:
        CatalogueError: a case names a requirement that docs/requirements.md
            does not list, or a prerequisite that is not a case of the same mode.
    """
    for spec in specs:
        unknown = [r for r in spec.requirements if r not in requirements]
        if unknown:
            raise _fail(
                repr(spec.id),
                f"names {', '.join(unknown)}, not in docs/requirements.md (a case checks written requirements only)",
            )
        for pre in spec.after:
            other = _REGISTRY.get(pre)
            if other is None:
                raise _fail(repr(spec.id), f"prerequisite {pre} is not a registered case")
            if other.mode != spec.mode:
                raise _fail(repr(spec.id), f"prerequisite {pre} is a {other.mode}-mode case, not {spec.mode}")


def select(specs: Iterable[CaseSpec], patterns: Iterable[str]) -> list[CaseSpec]:
    """The cases matching any of ``patterns`` (ids or globs like ``ADP-*``), with their prerequisites.

    A selected case brings the cases it runs after, so a development run of
    one case is not BLOCKED by its own selection.

    Raises:
        CatalogueError: a pattern matches no case.
    """
    ordered = order_cases(specs)
    by_id = {s.id: s for s in ordered}
    chosen: set[str] = set()
    for pattern in patterns:
        hits = [i for i in by_id if fnmatch.fnmatchcase(i, pattern.strip().upper())]
        if not hits:
            raise CatalogueError(f"--case {pattern!r} matches no case (cases: {', '.join(by_id) or 'none'})")
        chosen.update(hits)
    pending = list(chosen)
    while pending:
        for pre in by_id[pending.pop()].after:
            if pre in by_id and pre not in chosen:
                chosen.add(pre)
                pending.append(pre)
    return [s for s in ordered if s.id in chosen]
