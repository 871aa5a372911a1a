"""The result model of a conformance run: one model, every report is drawn from it.

Rules:

1. A :class:`Run` holds what was planned, what each case found, and where it
   came from (suite version, session id, capability statement digest). The
   console summary, JUnit XML, JSON and HTML reports are all views of it, so
   they cannot disagree.
2. The verdict fails closed (:meth:`Run.verdict_reasons`): a failed or broken
   MUST case, a SHOULD case failed under ``--strict``, any ERROR, a MUST case
   that could not be checked (BLOCKED), a skipped case in a certification run,
   a run where no case ran, or a run whose results differ from its plan all
   give FAIL. PASS is what is left when there is no reason to fail.
3. The JSON form is versioned by ``schema``; :meth:`Run.from_json` refuses any
   other schema and any report whose stored verdict, summary or coverage does
   not follow from its own results, so an edited report cannot claim more
   than its cases found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tamga.errors import TamgaError

__all__ = [
    "REPORT_SCHEMA",
    "CaseResult",
    "ReportError",
    "Requirement",
    "Run",
    "Severity",
    "Status",
    "TranscriptStep",
    "area_of",
]

REPORT_SCHEMA = "tamga-conformance-report/1"


class ReportError(TamgaError):
    """A conformance report that cannot be read, written, signed or trusted; the message says why."""


class Status(StrEnum):
    """What became of one case."""

    PASS = "PASS"
    FAIL = "FAIL"
    #: A SHOULD case failed and the run is not strict.
    WARN = "WARN"
    #: The runner chose not to run it (development selection).
    SKIPPED = "SKIPPED"
    #: The capability statement says it does not apply to this system.
    NOT_APPLICABLE = "NOT-APPLICABLE"
    #: A prerequisite case did not pass, so this one could not be checked.
    BLOCKED = "BLOCKED"
    #: The suite itself broke (a fixture failed); counts as a failure.
    ERROR = "ERROR"


class Severity(StrEnum):
    """The level of a requirement or case."""

    MUST = "MUST"
    SHOULD = "SHOULD"


def area_of(identifier: str) -> str:
    """The area of a case id (``ENV-003`` -> ``ENV``) or requirement id (``FDX-ENV-3`` -> ``ENV``)."""
    parts = identifier.split("-")
    if parts[0] == "FDX" and len(parts) >= 3:
        return parts[1]
    return parts[0]


@dataclass(frozen=True)
class Requirement:
    """One line of docs/requirements.md."""

    id: str
    level: Severity
    text: str
    area: str


@dataclass
class TranscriptStep:
    """One thing the suite did or saw during a case (already redacted)."""

    at: float
    title: str
    details: dict[str, str] = field(default_factory=dict)


@dataclass
class CaseResult:
    """The outcome of one case."""

    id: str
    title: str
    requirements: tuple[str, ...]
    severity: Severity
    negative: bool
    mode: str
    protocol: tuple[int, int | None]
    status: Status
    message: str = ""
    duration_s: float = 0.0
    transcript: list[TranscriptStep] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """A failure of the case itself (FAIL, WARN or ERROR), whatever its severity."""
        return self.status in (Status.FAIL, Status.WARN, Status.ERROR)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "requirements": list(self.requirements),
            "severity": str(self.severity),
            "negative": self.negative,
            "mode": self.mode,
            "protocol": [self.protocol[0], self.protocol[1]],
            "status": str(self.status),
            "message": self.message,
            "duration_s": round(self.duration_s, 6),
            "transcript": [
                {"at": round(s.at, 6), "title": s.title, "details": dict(s.details)} for s in self.transcript
            ],
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CaseResult:
        proto = d["protocol"]
        return cls(
            id=str(d["id"]),
            title=str(d["title"]),
            requirements=tuple(str(r) for r in d["requirements"]),
            severity=Severity(d["severity"]),
            negative=bool(d["negative"]),
            mode=str(d["mode"]),
            protocol=(int(proto[0]), None if proto[1] is None else int(proto[1])),
            status=Status(d["status"]),
            message=str(d.get("message", "")),
            duration_s=float(d.get("duration_s", 0.0)),
            transcript=[
                TranscriptStep(float(s["at"]), str(s["title"]), {str(k): str(v) for k, v in s["details"].items()})
                for s in d.get("transcript", [])
            ],
        )


_RAN = (Status.PASS, Status.FAIL, Status.WARN, Status.ERROR)


def _because(what: str, message: str) -> str:
    first = message.strip().splitlines()[0] if message.strip() else ""
    return f"{what}: {first}" if first else what


@dataclass
class Run:
    """One run of the suite against one adapter or node."""

    mode: str
    target: str
    sut: dict[str, str]
    capabilities: dict[str, Any]
    capabilities_sha256: str
    capabilities_derived: bool
    strict: bool
    development: bool
    plan: list[str]
    results: list[CaseResult]
    requirements: dict[str, Requirement]
    started_at: str
    finished_at: str
    session_id: str
    suite_version: str
    schema: str = REPORT_SCHEMA

    # -- coverage ------------------------------------------------------------------

    def coverage(self) -> dict[str, list[str]]:
        """Requirement id -> ids of the cases of this run that check it, in the requirements' order.

        Requirements a case names but the run does not list come last, so nothing a case claims is hidden.
        """
        cover: dict[str, list[str]] = {rid: [] for rid in self.requirements}
        for res in self.results:
            for rid in res.requirements:
                cases = cover.setdefault(rid, [])
                if res.id not in cases:
                    cases.append(res.id)
        return cover

    def uncovered(self) -> list[str]:
        """Requirements no case of this run checks."""
        return [rid for rid, cases in self.coverage().items() if not cases]

    # -- counting and the verdict --------------------------------------------------

    def summary(self) -> dict[str, int]:
        """How many cases ended in each status, every status listed, plus ``total``."""
        counts = {str(s): 0 for s in Status}
        for res in self.results:
            counts[str(res.status)] += 1
        counts["total"] = len(self.results)
        return counts

    def verdict_reasons(self) -> list[str]:
        """Why the run fails, one line each; empty when it passes (see the module's rule 2)."""
        reasons: list[str] = []
        ids = [r.id for r in self.results]
        for res in self.results:
            must = res.severity == Severity.MUST
            if res.status == Status.ERROR:
                reasons.append(_because(f"{res.id}: the suite broke while checking it (ERROR)", res.message))
            elif res.status == Status.FAIL:
                reasons.append(_because(f"{res.id}: {res.severity} case failed", res.message))
            elif res.status == Status.WARN and self.strict:
                reasons.append(_because(f"{res.id}: SHOULD case failed and the run is strict", res.message))
            elif res.status == Status.BLOCKED and must:
                reasons.append(f"{res.id}: MUST case not checked, a prerequisite did not pass (BLOCKED)")
            elif res.status == Status.SKIPPED and not self.development:
                reasons.append(f"{res.id}: skipped in a certification run")
        if not any(r.status in _RAN for r in self.results):
            reasons.append("no case ran")
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            reasons.append("cases reported more than once: " + ", ".join(duplicates))
        missing = [i for i in self.plan if i not in ids]
        if missing:
            reasons.append("planned cases with no result: " + ", ".join(missing))
        unplanned = [i for i in ids if i not in self.plan]
        if unplanned:
            reasons.append("results for cases not in the plan: " + ", ".join(dict.fromkeys(unplanned)))
        return reasons

    def verdict(self) -> str:
        """``PASS`` or ``FAIL``, failing closed."""
        return "FAIL" if self.verdict_reasons() else "PASS"

    # -- JSON ----------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data, keys in a fixed order (report.json, the signed report)."""
        return {
            "schema": self.schema,
            "suite_version": self.suite_version,
            "session_id": self.session_id,
            "mode": self.mode,
            "target": self.target,
            "sut": dict(self.sut),
            "capabilities": {
                "statement": self.capabilities,
                "sha256": self.capabilities_sha256,
                "derived": self.capabilities_derived,
            },
            "strict": self.strict,
            "development": self.development,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "plan": list(self.plan),
            "results": [r.to_json() for r in self.results],
            "requirements": {
                rid: {"level": str(r.level), "area": r.area, "text": r.text} for rid, r in self.requirements.items()
            },
            "coverage": self.coverage(),
            "uncovered": self.uncovered(),
            "summary": self.summary(),
            "verdict": self.verdict(),
            "verdict_reasons": self.verdict_reasons(),
        }

    @classmethod
    def from_json(cls, d: Any) -> Run:
        """Read a report made by :meth:`to_json`.

        Raises:
            ReportError: not a report, another schema, a field missing or of
                the wrong kind, or a stored verdict, summary or coverage that
                does not follow from the report's own results.
        """
        if not isinstance(d, dict):
            raise ReportError("not a conformance report: expected a JSON object")
        if d.get("schema") != REPORT_SCHEMA:
            raise ReportError(f"unknown report schema {d.get('schema')!r}; this Tamga reads {REPORT_SCHEMA!r}")
        try:
            caps = d["capabilities"]
            run = cls(
                mode=str(d["mode"]),
                target=str(d["target"]),
                sut={str(k): str(v) for k, v in d["sut"].items()},
                capabilities=dict(caps["statement"]),
                capabilities_sha256=str(caps["sha256"]),
                capabilities_derived=bool(caps["derived"]),
                strict=bool(d["strict"]),
                development=bool(d["development"]),
                plan=[str(i) for i in d["plan"]],
                results=[CaseResult.from_json(r) for r in d["results"]],
                requirements={
                    str(rid): Requirement(str(rid), Severity(r["level"]), str(r["text"]), str(r["area"]))
                    for rid, r in d["requirements"].items()
                },
                started_at=str(d["started_at"]),
                finished_at=str(d["finished_at"]),
                session_id=str(d["session_id"]),
                suite_version=str(d["suite_version"]),
            )
        except KeyError as exc:
            raise ReportError(f"conformance report: field {exc.args[0]!r} is missing") from exc
        except (TypeError, ValueError, AttributeError, IndexError) as exc:
            raise ReportError(f"conformance report: a field has the wrong form ({exc})") from exc
        for name, computed in (
            ("verdict", run.verdict()),
            ("summary", run.summary()),
            ("coverage", run.coverage()),
            ("uncovered", run.uncovered()),
        ):
            stored = d.get(name, computed)
            if name == "uncovered" and isinstance(stored, list):  # an ordering tool may have sorted it
                stored, computed = sorted(map(str, stored)), sorted(computed)  # type: ignore[arg-type]
            if stored != computed:
                raise ReportError(
                    f"conformance report: stored {name} {d[name]!r} does not follow from its results "
                    f"(they give {computed!r}); the report was edited"
                )
        return run
