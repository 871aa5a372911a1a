"""Every output of a conformance run, drawn from one :class:`~tamga.conformance._model.Run`.

- :func:`console_summary`: counts per area and status, the cases that failed,
  broke or were blocked with their message, the requirements no case checked,
  and the verdict with its reasons;
- ``junit.xml``: one testcase per case, for CI systems; FAIL as failure,
  ERROR as error, SKIPPED / NOT-APPLICABLE / BLOCKED as skipped with the
  status in the message, requirement ids as properties;
- ``report.json``: :meth:`Run.to_json`, keys in a fixed order;
- ``report.html``: one self-contained page (inline CSS, no script, no
  external resource) that a reviewer can open offline or attach to a
  submission: provenance, summary, coverage, and every case with its
  transcript.

Defence in depth: the plugin redacts transcripts as they are recorded, and
:func:`write_reports` still refuses to write a report in which anything looks
like a private key (:func:`find_secrets`), naming where, never the value.
"""

from __future__ import annotations

import html
import json
import os
import re
import tempfile
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tamga.conformance._model import CaseResult, ReportError, Run, Status, area_of

__all__ = ["console_summary", "find_secrets", "html_report", "json_report", "junit_xml", "write_reports"]

STATUS_ORDER: tuple[Status, ...] = tuple(Status)
_NOT_RUN = (Status.SKIPPED, Status.NOT_APPLICABLE, Status.BLOCKED)
_ATTENTION = (Status.FAIL, Status.ERROR, Status.WARN, Status.BLOCKED)

# -- refusing secrets ------------------------------------------------------------------

_PEM_PRIVATE = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
_KEY_FILE = re.compile(r"(?m)^\s*private_key\s*=")
_KEY_NAME = re.compile(r"private|secret|seed|passphrase|password|signing_key|encryption_key|^key$", re.IGNORECASE)
_PUBLIC_NAME = re.compile(r"public|verify|fingerprint|_id$|digest|sha256", re.IGNORECASE)
_KEY_MATERIAL = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{64}(?![0-9a-fA-F])|[A-Za-z0-9+/]{43}=")


def _strings(value: Any, path: str, name: str) -> Iterator[tuple[str, str, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, f"{path}.{k}", str(k))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _strings(v, f"{path}[{i}]", name)
    elif isinstance(value, str):
        yield path, name, value


def find_secrets(run: Run) -> list[str]:
    """Where the report holds something that looks like a private key (paths only, never the values).

    Looked for: a PEM private key block, the text of a Tamga key file
    (``private_key = ...``), and 32 bytes of hex or base64 under a key-like
    name (private, secret, seed, passphrase, password, signing_key...;
    names saying public, verify, fingerprint, digest or id are public).
    """
    found = []
    for path, name, text in _strings(run.to_json(), "report", ""):
        if _PEM_PRIVATE.search(text) or _KEY_FILE.search(text):
            found.append(f"{path} (private key text)")
        elif _KEY_NAME.search(name) and not _PUBLIC_NAME.search(name) and _KEY_MATERIAL.search(text):
            found.append(f"{path} (key material under the name {name!r})")
    return found


def _check(run: Run) -> None:
    found = find_secrets(run)
    if found:
        raise ReportError(
            "refusing to write the conformance report: it holds what looks like private key material at "
            + "; ".join(found)
            + " (transcripts must record key ids and fingerprints, never keys)"
        )


# -- console ---------------------------------------------------------------------------


def _short(text: str, limit: int = 160) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _kind(run: Run) -> str:
    return "development run, not valid for certification" if run.development else "certification run"


def _by_area(run: Run) -> dict[str, dict[Status, int]]:
    """Status counts per area, areas in the requirements file's order, then any others."""
    order = list(dict.fromkeys(r.area for r in run.requirements.values()))
    found = {area_of(r.id) for r in run.results}
    areas: dict[str, dict[Status, int]] = {
        a: dict.fromkeys(STATUS_ORDER, 0) for a in [*(a for a in order if a in found), *sorted(found - set(order))]
    }
    for res in run.results:
        areas[area_of(res.id)][res.status] += 1
    return areas


def console_summary(run: Run) -> str:
    """The end-of-run summary for a terminal: per area counts, what needs attention, coverage and the verdict."""
    lines = [
        f"Tamga conformance, {run.mode} mode, target {run.target}",
        f"  suite {run.suite_version}, session {run.session_id}, {_kind(run)}" + (", strict" if run.strict else ""),
        "  capability statement sha256 "
        + run.capabilities_sha256
        + (" (derived, not supplied)" if run.capabilities_derived else ""),
    ]
    if run.sut:
        lines.append("  system under test: " + ", ".join(f"{k} {v}" for k, v in run.sut.items()))
    widths = [len(str(s)) + 2 for s in STATUS_ORDER]

    def row(label: str, cells: list[str]) -> str:
        return "  " + label.ljust(6) + "".join(c.rjust(w) for c, w in zip(cells, widths, strict=True))

    lines += ["", row("area", [str(s) for s in STATUS_ORDER])]
    total = dict.fromkeys(STATUS_ORDER, 0)
    for area, counts in _by_area(run).items():
        lines.append(row(area, [str(counts[s]) for s in STATUS_ORDER]))
        for st in STATUS_ORDER:
            total[st] += counts[st]
    lines.append(row("total", [str(total[s]) for s in STATUS_ORDER]))
    attention = [r for r in run.results if r.status in _ATTENTION]
    if attention:
        lines += ["", "Cases that need attention:"]
        for r in attention:
            lines.append(f"  {r.id} {r.status} ({r.severity}) {r.title}")
            if r.message:
                lines.append(f"      {_short(r.message)}")
    uncovered = run.uncovered()
    lines += ["", f"Requirements no case of this run checks: {len(uncovered)} of {len(run.coverage())}"]
    if uncovered:
        lines += textwrap.wrap(
            ", ".join(uncovered), width=100, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False
        )
    reasons = run.verdict_reasons()
    lines += ["", f"Verdict: {run.verdict()}" + (f" ({_kind(run)})" if run.development else "")]
    lines += [f"  - {_short(r)}" for r in reasons]
    return "\n".join(lines) + "\n"


# -- JUnit XML -------------------------------------------------------------------------

_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _x(text: object) -> str:
    """Text XML 1.0 can carry: characters it forbids become \\xNN."""
    return _XML_BAD.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def _transcript_text(res: CaseResult) -> str:
    out = []
    for step in res.transcript:
        details = ", ".join(f"{k}={v}" for k, v in step.details.items())
        out.append(f"[{step.at:8.3f}s] {step.title}" + (f": {details}" if details else ""))
    return "\n".join(out)


def junit_xml(run: Run) -> str:
    """The run as JUnit XML: one testsuite, one testcase per case."""
    counts = run.summary()
    failures = counts[Status.FAIL] + (counts[Status.WARN] if run.strict else 0)
    skipped = sum(counts[s] for s in _NOT_RUN)
    total_time = sum(r.duration_s for r in run.results)
    attrs = {
        "name": f"tamga-conformance.{run.mode}",
        "tests": str(counts["total"]),
        "failures": str(failures),
        "errors": str(counts[Status.ERROR]),
        "skipped": str(skipped),
        "time": f"{total_time:.3f}",
        "timestamp": run.started_at,
        "id": run.session_id,
    }
    suites = ET.Element("testsuites", {k: v for k, v in attrs.items() if k in ("tests", "failures", "errors", "time")})
    suites.set("name", "tamga-conformance")
    suite = ET.SubElement(suites, "testsuite", {k: _x(v) for k, v in attrs.items()})
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("suite_version", run.suite_version),
        ("session_id", run.session_id),
        ("mode", run.mode),
        ("target", run.target),
        ("capabilities_sha256", run.capabilities_sha256),
        ("capabilities_derived", str(run.capabilities_derived).lower()),
        ("strict", str(run.strict).lower()),
        ("development", str(run.development).lower()),
        ("verdict", run.verdict()),
        *((f"sut.{k}", v) for k, v in run.sut.items()),
    ):
        ET.SubElement(props, "property", {"name": _x(name), "value": _x(value)})
    for res in run.results:
        tc = ET.SubElement(
            suite,
            "testcase",
            {
                "classname": _x(f"tamga.conformance.{res.mode}.{area_of(res.id)}"),
                "name": _x(f"{res.id} {res.title}"),
                "time": f"{res.duration_s:.3f}",
            },
        )
        cprops = ET.SubElement(tc, "properties")
        for rid in res.requirements:
            ET.SubElement(cprops, "property", {"name": "requirement", "value": _x(rid)})
        ET.SubElement(cprops, "property", {"name": "severity", "value": str(res.severity)})
        ET.SubElement(cprops, "property", {"name": "negative", "value": str(res.negative).lower()})
        ET.SubElement(cprops, "property", {"name": "status", "value": str(res.status)})
        message = _x(f"{res.status}: {res.message}" if res.message else str(res.status))
        if res.status == Status.FAIL or (res.status == Status.WARN and run.strict):
            el = ET.SubElement(tc, "failure", {"message": message, "type": str(res.status)})
            el.text = _x(res.message)
        elif res.status == Status.ERROR:
            el = ET.SubElement(tc, "error", {"message": message, "type": "ERROR"})
            el.text = _x(res.message)
        elif res.status in _NOT_RUN:
            ET.SubElement(tc, "skipped", {"message": message})
        text = _transcript_text(res)
        if res.status == Status.WARN and not run.strict:
            text = f"WARN (SHOULD case failed): {res.message}\n" + text
        if text:
            ET.SubElement(tc, "system-out").text = _x(text)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


# -- JSON ------------------------------------------------------------------------------


def json_report(run: Run) -> str:
    """report.json: :meth:`Run.to_json`, indented, keys in the model's order."""
    return json.dumps(run.to_json(), indent=2, ensure_ascii=False) + "\n"


# -- HTML ------------------------------------------------------------------------------

_COLOURS = {
    Status.PASS: ("#e3f4e1", "#1d6b1a"),
    Status.FAIL: ("#fbe0de", "#a4160c"),
    Status.WARN: ("#fff1d6", "#8a5300"),
    Status.SKIPPED: ("#eeeeee", "#555555"),
    Status.NOT_APPLICABLE: ("#eef1f6", "#4a5a70"),
    Status.BLOCKED: ("#f2e5f7", "#6d2a86"),
    Status.ERROR: ("#fbe0de", "#7a0000"),
}


def _css() -> str:
    rules = [
        "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:72rem;"
        "padding:0 1rem;color:#1b1b1b;line-height:1.4}",
        "h1{margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:1px solid #ccc}",
        "table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.25rem .5rem;"
        "text-align:left;vertical-align:top}",
        "dl.prov{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dl.prov dt{font-weight:600}",
        "dl.prov dd{margin:0;font-family:ui-monospace,monospace;word-break:break-all}",
        ".banner{padding:.5rem 1rem;border:2px solid #8a5300;background:#fff1d6;font-weight:600}",
        ".verdict{display:inline-block;padding:.2rem .8rem;font-weight:700;border-radius:.3rem}",
        ".verdict-PASS{background:#e3f4e1;color:#1d6b1a}.verdict-FAIL{background:#fbe0de;color:#a4160c}",
        "section.case{border:1px solid #ccc;border-left-width:.5rem;margin:1rem 0;padding:.5rem 1rem}",
        "section.case h3{margin:.2rem 0}.status{display:inline-block;font-weight:700;padding:0 .5rem;"
        "border-radius:.2rem}",
        "tr.uncovered td{background:#fff1d6}.mono,code{font-family:ui-monospace,monospace}",
        "ol.transcript{font-size:.92rem}ol.transcript table{font-size:.85rem}",
        "pre{white-space:pre-wrap;word-break:break-word}",
    ]
    for status, (bg, fg) in _COLOURS.items():
        slug = _slug(str(status))
        rules.append(f".status-{slug}{{background:{bg};color:{fg}}}section.case-{slug}{{border-left-color:{fg}}}")
    return "".join(rules)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", text)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _text(text: str) -> str:
    """Escaped text, with Markdown `code` spans of the requirements file shown as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", _e(text))


def _status(status: Status) -> str:
    return f'<span class="status status-{_slug(str(status))}">{_e(status)}</span>'


def _case_section(res: CaseResult) -> str:
    proto_to = "open" if res.protocol[1] is None else str(res.protocol[1])
    reqs = ", ".join(_e(r) for r in res.requirements) or "-"
    parts = [
        f'<section class="case case-{_slug(str(res.status))}" id="case-{_e(_slug(res.id))}" '
        f'data-case="{_e(res.id)}" data-status="{_e(res.status)}">',
        f'<h3><span class="case-id">{_e(res.id)}</span> {_e(res.title)}</h3>',
        f"<p>Status: {_status(res.status)}</p>",
        "<table>",
        f"<tr><th>Requirements</th><td>{reqs}</td></tr>",
        f"<tr><th>Severity</th><td>{_e(res.severity)}</td></tr>",
        f"<tr><th>Negative</th><td>{'yes' if res.negative else 'no'}</td></tr>",
        f"<tr><th>Mode</th><td>{_e(res.mode)}</td></tr>",
        f"<tr><th>Protocol versions</th><td>{res.protocol[0]} to {_e(proto_to)}</td></tr>",
        f"<tr><th>Duration</th><td>{res.duration_s:.3f} s</td></tr>",
        "</table>",
    ]
    if res.message:
        parts.append(f'<pre class="message">{_e(res.message)}</pre>')
    if res.transcript:
        parts.append('<h4>Transcript</h4><ol class="transcript">')
        for step in res.transcript:
            parts.append(f'<li><span class="mono">{step.at:.3f} s</span> {_e(step.title)}')
            if step.details:
                parts.append("<table>")
                parts += [f'<tr><th>{_e(k)}</th><td class="mono">{_e(v)}</td></tr>' for k, v in step.details.items()]
                parts.append("</table>")
            parts.append("</li>")
        parts.append("</ol>")
    else:
        parts.append("<p>No transcript recorded.</p>")
    parts.append("</section>")
    return "\n".join(parts)


def html_report(run: Run) -> str:
    """report.html: self-contained, readable without JavaScript, every value escaped."""
    verdict = run.verdict()
    summary = run.summary()
    prov = [
        ("Suite version", run.suite_version),
        ("Session", run.session_id),
        ("Mode", run.mode),
        ("Target", run.target),
        *((f"SUT {k}", v) for k, v in run.sut.items()),
        ("Capability statement SHA-256", run.capabilities_sha256 + (" (derived)" if run.capabilities_derived else "")),
        ("Strict", "yes" if run.strict else "no"),
        ("Run kind", _kind(run)),
        ("Started", run.started_at),
        ("Finished", run.finished_at),
        ("Schema", run.schema),
    ]
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Tamga conformance report: {_e(run.target)} ({_e(verdict)})</title>",
        f"<style>{_css()}</style></head><body>",
        "<header>",
        "<h1>Tamga conformance report</h1>",
        f'<p>Verdict: <span class="verdict verdict-{verdict}" id="verdict">{verdict}</span></p>',
    ]
    if run.development:
        out.append('<p class="banner" id="development">Development run, not valid for certification.</p>')
    out.append('<dl class="prov" id="provenance">')
    out += [f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in prov]
    out.append("</dl></header>")

    out.append('<h2 id="summary">Summary</h2><table class="summary"><tr>')
    out += [f"<th>{_status(s)}</th>" for s in STATUS_ORDER] + ["<th>Total</th></tr><tr>"]
    out += [f'<td data-status="{_e(s)}">{summary[str(s)]}</td>' for s in STATUS_ORDER]
    out.append(f"<td>{summary['total']}</td></tr></table>")
    out.append('<table class="areas"><tr><th>Area</th>' + "".join(f"<th>{_e(s)}</th>" for s in STATUS_ORDER) + "</tr>")
    for area, counts in _by_area(run).items():
        cells = "".join(f"<td>{counts[s]}</td>" for s in STATUS_ORDER)
        out.append(f'<tr data-area="{_e(area)}"><th>{_e(area)}</th>{cells}</tr>')
    out.append("</table>")
    reasons = run.verdict_reasons()
    if reasons:
        out.append('<p>Why the verdict is FAIL:</p><ul id="verdict-reasons">')
        out += [f"<li>{_e(r)}</li>" for r in reasons]
        out.append("</ul>")

    out.append('<h2 id="coverage">Requirement coverage</h2>')
    uncovered = run.uncovered()
    out.append(f"<p>{len(uncovered)} of {len(run.coverage())} requirements are checked by no case of this run.</p>")
    out.append('<table class="coverage"><tr><th>Requirement</th><th>Level</th><th>Text</th><th>Cases</th></tr>')
    for rid, cases in run.coverage().items():
        req = run.requirements.get(rid)
        level, text = (req.level, req.text) if req else ("?", "not in the requirements of this run")
        cells = ", ".join(f'<a href="#case-{_e(_slug(c))}">{_e(c)}</a>' for c in cases) or "<strong>UNCOVERED</strong>"
        cls = ' class="uncovered"' if not cases else ""
        out.append(
            f'<tr{cls} data-requirement="{_e(rid)}"><td class="mono">{_e(rid)}</td><td>{_e(level)}</td>'
            f"<td>{_text(text)}</td><td>{cells}</td></tr>"
        )
    out.append("</table>")

    out.append('<h2 id="cases">Cases</h2>')
    out += [_case_section(r) for r in run.results]
    out.append("</body></html>")
    return "\n".join(out) + "\n"


# -- writing ---------------------------------------------------------------------------


def _write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_reports(run: Run, out_dir: Path) -> dict[str, Path]:
    """Write report.json, junit.xml and report.html into ``out_dir`` (created if needed).

    Returns:
        ``{"json": ..., "junit": ..., "html": ...}``, the paths written.

    Raises:
        ReportError: the run holds something that looks like a private key
            (nothing is written), or the folder cannot be written.
    """
    _check(run)
    texts = {"json": ("report.json", json_report(run)), "junit": ("junit.xml", junit_xml(run))}
    texts["html"] = ("report.html", html_report(run))
    out_dir = Path(out_dir)
    written: dict[str, Path] = {}
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for kind, (name, text) in texts.items():
            _write(out_dir / name, text)
            written[kind] = out_dir / name
    except OSError as exc:
        raise ReportError(f"{out_dir}: cannot write the conformance report: {exc.strerror or exc}") from exc
    return written
