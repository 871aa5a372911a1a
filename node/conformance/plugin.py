"""The conformance suite as a pytest plugin: plan, applicability, statuses, reports, fail closed.

``tamga conformance adapter|node`` runs pytest with this plugin; it also runs
under plain pytest::

    pytest -p tamga.conformance.plugin --pyargs tamga.conformance.cases.adapter_cases --tamga-adapter eaeu

Rules:

1. The plan comes from the catalogue (every registered case of the mode, or
   with ``--tamga-case`` the selected ones and their prerequisites), not
   from what pytest collected. Collected tests that are not planned cases
   are deselected; a planned case with no result fails the run.
2. Cases run prerequisites first. Before a case runs, the plugin decides
   whether it applies: a protocol range the statement does not speak, or a
   need the capability statement does not meet, makes it NOT-APPLICABLE; a
   prerequisite that did not PASS makes it BLOCKED. Neither runs the case.
3. Outcomes map to statuses: passed -> PASS; failed -> FAIL for a MUST case,
   WARN for a SHOULD case (FAIL with ``--tamga-strict``); a fixture that
   failed, a case that skipped itself, or a broken teardown -> ERROR. A case
   never skips itself: what does not apply is declared with ``needs=``.
4. At the end one :class:`~tamga.conformance._model.Run` is built, every
   report is written from it, the console summary printed, and the session's
   exit status is the verdict: 0 for PASS, 1 otherwise (see
   :meth:`Run.verdict_reasons`). Bad options or input stop the run before any
   case with a usage error (pytest exit status 4; the CLI turns it into 2).
5. What the suite records is redacted by default (:meth:`Transcript.redact`):
   no key material, no record contents, only names, sizes and digests. A
   failure's message in the report is the first line of the assertion, which
   the shared checks keep free of record values.

Mode modules (``tamga.conformance.cases.adapter_cases`` and ``node_cases``)
define their cases and fixtures as ordinary pytest code. A mode module may
also define ``add_options(group)`` to register its own pytest options and
``configure(config) -> ModeSetup`` to say what the report names as target and
system under test and how to derive a default capability statement; both are
looked up here, so no other pytest hooks are needed in the cases modules.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import tamga
from google.protobuf.message import Message
from tamga.conformance._capability import (
    Capabilities,
    CapabilityError,
    adapter_features,
    derive_for_adapter,
    load_capabilities,
)
from tamga.conformance._catalogue import (
    SUITE_VERSION,
    CaseSpec,
    cases_for,
    check_catalogue,
    select,
)
from tamga.conformance._model import CaseResult, Requirement, Run, Severity, Status, TranscriptStep
from tamga.errors import AdapterError, TamgaError

__all__ = [
    "CASE_MODULES",
    "AdapterUnderTest",
    "ModeSetup",
    "Transcript",
    "UsageProblem",
    "load_adapter_under_test",
    "module_file",
    "prepare_adapter",
    "run_of",
]

#: The cases module of each mode.
CASE_MODULES = {
    "adapter": "tamga.conformance.cases.adapter_cases",
    "node": "tamga.conformance.cases.node_cases",
}

#: Hypothesis examples the fuzzing case tries by default: enough to find an
#: adapter that lets a bare exception out, few enough that a run takes seconds.
DEFAULT_EXAMPLES = 60

# -- transcripts -------------------------------------------------------------------

_SECRET_KEY = re.compile(r"secret|private|passw|passphrase|token|seed|(^|_)key($|_bytes|_material|_file)", re.I)
_CONTENT_KEY = re.compile(r"^(record|records|content|contents|body|payload|plaintext|text|data|value|values)$", re.I)
_SHORT_BYTES = 32
_MAX_TEXT = 240


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16] + "…"


class Transcript:
    """What the suite did and saw during one case, redacted as it is recorded.

    ``transcript.step("decoded sample", sample="kz.xml", bytes=2211, records=2)``
    adds a step with the time since the case started. Values are made safe by
    :meth:`redact`; a case passes records as objects (never their text), so
    they are shown by type, size and digest only.
    """

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.steps: list[TranscriptStep] = []

    def step(self, title: str, **details: object) -> None:
        """Record one step; every detail goes through :meth:`redact`."""
        self.steps.append(
            TranscriptStep(
                at=time.monotonic() - self.started,
                title=str(title)[:_MAX_TEXT],
                details={str(k): self.redact(str(k), v) for k, v in details.items()},
            )
        )

    @staticmethod
    def redact(key: str, value: object) -> str:
        """The text a detail is recorded as.

        - keys naming key material (``signing_key``, ``secret``, ``private_*``,
          ``seed``, ``token``, ``password``) -> ``<redacted>``;
        - protobuf messages (records) -> ``<record: TYPE, N bytes, sha256 …>``,
          lists of records likewise;
        - keys naming contents (``record``, ``body``, ``payload``, ``text``,
          ``data``, ``value``...) holding text or bytes -> size and digest only;
        - other bytes: hex when short (ids, digests), else size and digest;
        - anything else: its text, cut to 240 characters.
        """
        if _SECRET_KEY.search(key):
            return "<redacted>"
        if isinstance(value, Message):
            return _describe_message(value)
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, Message) for v in value):
            wire = b"".join(v.SerializeToString(deterministic=True) for v in value)
            kinds = sorted({_message_kind(v) for v in value})
            return f"<{len(value)} records: {', '.join(kinds)}, {len(wire)} bytes, sha256 {_digest(wire)}>"
        if isinstance(value, (bytes, bytearray, memoryview)):
            data = bytes(value)
            if len(data) <= _SHORT_BYTES and not _CONTENT_KEY.match(key):
                return data.hex()
            return f"<{len(data)} bytes, sha256 {_digest(data)}>"
        if isinstance(value, str) and _CONTENT_KEY.match(key):
            data = value.encode("utf-8")
            return f"<text, {len(data)} bytes, sha256 {_digest(data)}>"
        if isinstance(value, Path):
            return value.name
        text = str(value)
        return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def _message_kind(msg: Message) -> str:
    body = msg.WhichOneof("body") if "body" in msg.DESCRIPTOR.oneofs_by_name else None
    return body or msg.DESCRIPTOR.name


def _describe_message(msg: Message) -> str:
    wire = msg.SerializeToString(deterministic=True)
    return f"<record: {_message_kind(msg)}, {len(wire)} bytes, sha256 {_digest(wire)}>"


# -- the adapter under test ----------------------------------------------------------


@dataclass
class AdapterUnderTest:
    """The adapter a run checks, and how to make it for a sample that needs its own options.

    Attributes:
        spec: What was asked for: an installed adapter's name, or ``module:Class``.
        name: The adapter's own name.
        origin: ``module:Class`` of what was loaded.
        factory: What builds the adapter (called with no arguments, or with
            ``mapping_file`` for a sample ``X.csv`` that has ``X.mapping.toml`` beside it).
        adapter: The adapter built with no options.
    """

    spec: str
    name: str
    origin: str
    factory: Callable[..., Any]
    adapter: Any
    _by_mapping: dict[Path, Any] = field(default_factory=dict, repr=False)

    def for_sample(self, sample: Path) -> Any:
        """The adapter set up for ``sample`` (a sample's mapping file beside it is used)."""
        mapping = sample.with_name(sample.stem + ".mapping.toml")
        if not mapping.exists() or not _accepts(self.factory, "mapping_file"):
            return self.adapter
        if mapping not in self._by_mapping:
            self._by_mapping[mapping] = self.factory(mapping_file=str(mapping))
        return self._by_mapping[mapping]


def _accepts(factory: Callable[..., Any], option: str) -> bool:
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False
    return option in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def _import_here(name: str) -> Any:
    """Import a module, looking in the current folder too: a team checks its adapter from the
    folder of its package before installing it, and the ``tamga`` command does not search there."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        here = str(Path.cwd())
        if exc.name != name.split(".", 1)[0] or here in sys.path:
            raise
        sys.path.insert(0, here)
        return importlib.import_module(name)


def load_adapter_under_test(spec: str) -> AdapterUnderTest:
    """Load an installed adapter by name, or an adapter class given as ``module:Class``.

    ``module:Class`` is how a team checks an adapter before it is installed
    (and how the suite's own self-test checks deliberately broken adapters).

    Raises:
        AdapterError: no such adapter, it cannot be imported or built, or it
            lacks what every adapter has (name, file_suffix, decode, encode).
    """
    from importlib.metadata import entry_points

    from tamga.adapters import ENTRY_POINT_GROUP, load_adapter

    if ":" in spec:
        module_name, _, attr = spec.partition(":")
        try:
            module = _import_here(module_name)
        except Exception as exc:
            raise AdapterError(f"cannot import adapter module {module_name!r}: {exc}") from exc
        factory = getattr(module, attr, None)
        if factory is None or not callable(factory):
            raise AdapterError(f"module {module_name!r} has no adapter class {attr!r}")
        try:
            adapter = factory()
        except Exception as exc:
            raise AdapterError(f"adapter {spec!r} could not be built: {exc}") from exc
        origin = spec
    else:
        adapter = load_adapter(spec)
        found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == spec]
        factory = found[0].load()
        origin = found[0].value
    missing = [a for a in ("name", "file_suffix", "decode", "encode") if not hasattr(adapter, a)]
    if missing:
        raise AdapterError(f"adapter {spec!r} lacks {', '.join(missing)}")
    return AdapterUnderTest(spec=spec, name=str(adapter.name), origin=origin, factory=factory, adapter=adapter)


def _distribution_of(module_name: str) -> str:
    from importlib.metadata import packages_distributions, version

    top = module_name.split(".", 1)[0]
    for dist in packages_distributions().get(top, []):
        try:
            return f"{dist} {version(dist)}"
        except Exception:
            return dist
    return ""


# -- per-mode setup ------------------------------------------------------------------


@dataclass
class ModeSetup:
    """What a mode tells the plugin before the run.

    Attributes:
        target: What the report names as the target (adapter name, endpoint).
        sut: Facts about the system under test (node id, versions), text only.
        derive: Builds the capability statement used when none is given.
        feature_defaults: Features the system itself tells, assumed where a given statement is silent.
    """

    target: str
    sut: dict[str, str]
    derive: Callable[[], Capabilities]
    feature_defaults: dict[str, bool] = field(default_factory=dict)


@dataclass
class _State:
    mode: str
    strict: bool
    development: bool
    report_dir: Path | None
    sign_with: Path | None
    setup: ModeSetup
    capabilities: Capabilities
    requirements: dict[str, Requirement]
    plan: list[CaseSpec]
    examples: int
    started_at: str
    session_id: str
    adapter: AdapterUnderTest | None = None
    samples: list[Path] = field(default_factory=list)
    results: dict[str, CaseResult] = field(default_factory=dict)
    run: Run | None = None
    written: dict[str, Path] = field(default_factory=dict)
    report_error: str = ""


_STATE = pytest.StashKey[_State]()
_FORCED = pytest.StashKey[tuple[Status, str]]()
_TRANSCRIPT = pytest.StashKey[Transcript]()
_PARTIAL = pytest.StashKey[dict[str, Any]]()


def run_of(config: pytest.Config) -> Run | None:
    """The Run a finished session built (None before the end, or when the plugin was not used)."""
    state = config.stash.get(_STATE, None)
    return state.run if state else None


def _mode_module(mode: str) -> Any | None:
    name = CASE_MODULES[mode]
    try:
        if importlib.util.find_spec(name) is None:
            return None
    except ModuleNotFoundError:
        return None
    return importlib.import_module(name)


# -- options -------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tamga-conformance", "Tamga conformance suite")
    group.addoption(
        "--tamga-mode", choices=list(CASE_MODULES), help="adapter or node (default: adapter with --tamga-adapter)"
    )
    group.addoption(
        "--tamga-adapter",
        metavar="NAME",
        help="adapter mode: an installed adapter's name, or module:Class for an adapter not installed yet",
    )
    group.addoption(
        "--tamga-samples", metavar="DIR", help="adapter mode: sample national files (default: the adapter's own)"
    )
    group.addoption(
        "--tamga-capabilities",
        metavar="FILE",
        help="capability statement (TOML); without it one is derived and marked so",
    )
    group.addoption(
        "--tamga-report-dir",
        metavar="DIR",
        default="conformance-report",
        help="where report.json, junit.xml and report.html go (default ./conformance-report)",
    )
    group.addoption("--tamga-strict", action="store_true", help="a failed SHOULD case fails the run")
    group.addoption(
        "--tamga-case",
        action="append",
        default=[],
        metavar="ID",
        help="development run: only these cases (ids or globs such as ADP-*) and their prerequisites; "
        "not valid for certification",
    )
    group.addoption(
        "--tamga-sign-with",
        metavar="HOME",
        help="also write report.signed.json, signed with the identity key of the node in HOME (certification only)",
    )
    group.addoption(
        "--tamga-examples",
        type=int,
        default=DEFAULT_EXAMPLES,
        metavar="N",
        help=f"examples the fuzzing cases try (default {DEFAULT_EXAMPLES})",
    )
    for mode in CASE_MODULES:
        module = _mode_module(mode)
        add = getattr(module, "add_options", None) if module else None
        if add is not None:
            add(group)


# -- configuration: everything that can be wrong is found before any case runs ------


def _resolve_mode(config: pytest.Config) -> str | None:
    mode = config.getoption("--tamga-mode")
    if mode is None and config.getoption("--tamga-adapter"):
        mode = "adapter"
    return mode


class UsageProblem(TamgaError):
    """Options or input that cannot make a run (the CLI exits 2, pytest with a usage error)."""


def module_file(mode: str) -> Path:
    """The file of a mode's cases module (what the runner asks pytest to collect).

    Raises:
        UsageProblem: the mode is not installed.
    """
    module = _mode_module(mode)
    if module is None or not getattr(module, "__file__", None):
        raise UsageProblem(f"the {mode} mode of the conformance suite is not installed ({CASE_MODULES[mode]})")
    return Path(module.__file__)


def prepare_adapter(spec: str, samples_dir: str | None) -> tuple[ModeSetup, AdapterUnderTest, list[Path]]:
    """Load the adapter under test and find its samples, for adapter mode.

    Raises:
        UsageProblem: no adapter given, it cannot be loaded, or there are no samples.
    """
    from tamga.adapters.sdk.testing import sample_files

    if not spec:
        raise UsageProblem("adapter mode needs an adapter: an installed adapter's name, or module:Class")
    try:
        aut = load_adapter_under_test(spec)
    except TamgaError as exc:
        raise UsageProblem(str(exc)) from None
    if samples_dir:
        folder = Path(samples_dir)
        if not folder.is_dir():
            raise UsageProblem(f"samples folder {samples_dir}: no such folder")
        samples = sample_files(folder)
        if not samples:
            raise UsageProblem(f"samples folder {samples_dir}: it holds no sample file")
    else:
        samples = sample_files(getattr(aut.adapter, "samples", None))
        if not samples:
            raise UsageProblem(f"adapter {spec!r} ships no samples; give a folder of sample files")
    module = aut.origin.partition(":")[0]
    sut = {
        "adapter": aut.name,
        "adapter_class": aut.origin,
        "adapter_distribution": _distribution_of(module) or "not installed",
        "tamga_version": tamga.__version__,
        "samples": ", ".join(p.name for p in samples),
    }
    setup = ModeSetup(
        target=spec,
        sut=sut,
        derive=lambda: derive_for_adapter(aut.adapter, samples, adapter_for=aut.for_sample),
        feature_defaults=adapter_features(aut.adapter),
    )
    return setup, aut, samples


def pytest_configure(config: pytest.Config) -> None:
    mode = _resolve_mode(config)
    if mode is None:
        return  # loaded but not asked to run the suite: stay out of the way
    from tamga.conformance._requirements import load_requirements

    module = _mode_module(mode)
    if module is None:
        raise pytest.UsageError(f"the {mode} mode of the conformance suite is not installed ({CASE_MODULES[mode]})")
    patterns = [p for p in config.getoption("--tamga-case") if p.strip()]
    development = bool(patterns)
    sign_with = config.getoption("--tamga-sign-with")
    if sign_with and development:
        raise pytest.UsageError(
            "--tamga-sign-with: a development run (--tamga-case) is not valid for certification and is never signed"
        )
    examples = config.getoption("--tamga-examples")
    if examples < 1:
        raise pytest.UsageError(f"--tamga-examples {examples}: must be at least 1")
    aut: AdapterUnderTest | None = None
    samples: list[Path] = []
    if mode == "adapter":
        try:
            setup, aut, samples = prepare_adapter(
                config.getoption("--tamga-adapter") or "", config.getoption("--tamga-samples")
            )
        except TamgaError as exc:
            raise pytest.UsageError(" ".join(str(exc).split())) from None
    else:
        configure = getattr(module, "configure", None)
        if configure is None:
            raise pytest.UsageError(f"{CASE_MODULES[mode]} does not define configure(config)")
        try:
            setup = configure(config)
        except TamgaError as exc:
            raise pytest.UsageError(" ".join(str(exc).split())) from None
    path = config.getoption("--tamga-capabilities")
    try:
        caps = load_capabilities(path, defaults=setup.feature_defaults) if path else setup.derive()
    except CapabilityError as exc:
        raise pytest.UsageError(" ".join(str(exc).split())) from None
    if mode == "adapter" and aut is not None and caps.adapter and caps.adapter not in (aut.name, aut.spec):
        raise pytest.UsageError(
            f"{path}: [statement] adapter is {caps.adapter!r}, but the run checks adapter {aut.name!r}"
        )
    try:
        requirements = load_requirements()
        catalogue = cases_for(mode)
        check_catalogue(catalogue, requirements)
        plan = select(catalogue, patterns) if patterns else catalogue
    except TamgaError as exc:
        raise pytest.UsageError(" ".join(str(exc).split())) from None
    report_dir = config.getoption("--tamga-report-dir")
    config.stash[_STATE] = _State(
        mode=mode,
        strict=bool(config.getoption("--tamga-strict")),
        development=development,
        report_dir=Path(report_dir) if report_dir else None,
        sign_with=Path(sign_with) if sign_with else None,
        setup=setup,
        capabilities=caps,
        requirements=requirements,
        plan=plan,
        examples=examples,
        started_at=_now(),
        session_id=str(uuid.uuid4()),
        adapter=aut,
        samples=samples,
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# -- collection: Tamga's own modules are imported under their real names ------------


def _tamga_module_name(path: Path) -> str | None:
    """``tamga.x.y`` for a file or folder inside the installed ``tamga`` package, else None.

    pytest would otherwise import a cases module from its file path, under a
    name derived from the folders (``node.conformance...`` in a source
    checkout): a second copy whose cases would register twice.
    """
    root = Path(tamga.__file__).resolve().parent
    try:
        rel = path.resolve().relative_to(root)
    except ValueError:
        return None
    parts = list(rel.parts)
    if parts and parts[-1] == "__init__.py":
        parts.pop()
    elif parts and parts[-1].endswith(".py"):
        parts[-1] = parts[-1][:-3]
    return ".".join(["tamga", *parts])


class _TamgaModule(pytest.Module):
    """A module of the tamga package, taken from ``sys.modules`` rather than imported again by path."""

    def _getobj(self) -> Any:
        name = _tamga_module_name(self.path)
        assert name is not None
        return importlib.import_module(name)


class _TamgaPackage(pytest.Package):
    """A folder of the tamga package; its ``__init__`` is imported under its real name."""

    def setup(self) -> None:
        name = _tamga_module_name(self.path)
        if name:
            importlib.import_module(name)


@pytest.hookimpl(tryfirst=True)
def pytest_collect_directory(path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if (path / "__init__.py").is_file() and _tamga_module_name(path) is not None:
        return _TamgaPackage.from_parent(parent, path=path)
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    if _tamga_module_name(module_path) is not None:
        return _TamgaModule.from_parent(parent, path=module_path)
    return None


def _spec_of(item: pytest.Item) -> CaseSpec | None:
    func = getattr(item, "obj", None)
    spec = getattr(func, "tamga_case", None)
    return spec if isinstance(spec, CaseSpec) else None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    state = config.stash.get(_STATE, None)
    if state is None:
        return
    planned = {s.id: n for n, s in enumerate(state.plan)}
    keep: dict[str, pytest.Item] = {}
    dropped: list[pytest.Item] = []
    for item in items:
        spec = _spec_of(item)
        if spec is None or spec.id not in planned:
            dropped.append(item)
            continue
        if spec.id in keep:
            raise pytest.UsageError(
                f"conformance case {spec.id} was collected twice ({item.nodeid}); a case is one test"
            )
        keep[spec.id] = item
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = sorted(keep.values(), key=lambda i: planned[_spec_of(i).id])  # type: ignore[union-attr]


# -- running: applicability, prerequisites, statuses -----------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    state = item.config.stash.get(_STATE, None)
    spec = _spec_of(item)
    if state is None or spec is None:
        return
    item.stash[_TRANSCRIPT] = Transcript()
    caps = state.capabilities
    forced: tuple[Status, str] | None = None
    if not spec.applies_to_protocol(caps.protocol_versions):
        low, high = spec.protocol
        span = f"{low} and later" if high is None else f"{low} to {high}"
        forced = (
            Status.NOT_APPLICABLE,
            f"applies to protocol versions {span}; the statement speaks {', '.join(map(str, caps.protocol_versions))}",
        )
    elif unmet := caps.unmet(spec.needs):
        forced = (Status.NOT_APPLICABLE, "the capability statement does not have " + ", ".join(unmet))
    else:
        for pre in spec.after:
            got = state.results.get(pre)
            if got is None or got.status != Status.PASS:
                seen = got.status if got else "no result"
                forced = (Status.BLOCKED, f"prerequisite {pre} did not pass ({seen})")
                break
    if forced is not None:
        item.stash[_FORCED] = forced
        pytest.skip(f"{forced[0]}: {forced[1]}")


def _first_line(excinfo: pytest.ExceptionInfo[BaseException] | None, fallback: str) -> str:
    if excinfo is None:
        return fallback
    text = str(excinfo.value).strip()
    if isinstance(excinfo.value, pytest.skip.Exception):
        text = excinfo.value.msg or ""
    line = text.splitlines()[0] if text else excinfo.typename
    if not isinstance(excinfo.value, (AssertionError, pytest.skip.Exception)):
        line = f"{excinfo.typename}: {line}"
    return line if len(line) <= 400 else line[:399] + "…"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    state = item.config.stash.get(_STATE, None)
    spec = _spec_of(item)
    if state is None or spec is None:
        return report
    partial = item.stash.setdefault(_PARTIAL, {})
    status: Status | None = None
    message = ""
    if call.when == "setup":
        if item.stash.get(_FORCED, None) is not None:
            status, message = item.stash[_FORCED]
        elif report.skipped:
            status = Status.ERROR
            message = "the case skipped itself (declare needs= instead): " + _first_line(call.excinfo, "skipped")
        elif report.failed:
            status, message = Status.ERROR, "setup failed: " + _first_line(call.excinfo, "error")
    elif call.when == "call":
        if report.passed:
            status = Status.PASS
        elif report.skipped:
            status = Status.ERROR
            message = "the case skipped itself (declare needs= instead): " + _first_line(call.excinfo, "skipped")
        else:
            message = _first_line(call.excinfo, "failed")
            if spec.severity == Severity.SHOULD and not state.strict:
                status = Status.WARN
            else:
                status = Status.FAIL
    elif call.when == "teardown" and report.failed and partial.get("status") in (None, Status.PASS):
        status, message = Status.ERROR, "teardown failed: " + _first_line(call.excinfo, "error")
    if status is not None:
        partial["status"], partial["message"] = status, message
        report.tamga_status = str(status)  # type: ignore[attr-defined]
    if call.when == "teardown":
        _finish(state, item, spec, partial)
    return report


def _finish(state: _State, item: pytest.Item, spec: CaseSpec, partial: Mapping[str, Any]) -> None:
    transcript = item.stash.get(_TRANSCRIPT, None)
    started = transcript.started if transcript else time.monotonic()
    status = partial.get("status") or Status.ERROR
    message = partial.get("message") or ("" if partial.get("status") else "the case produced no outcome")
    state.results[spec.id] = CaseResult(
        id=spec.id,
        title=spec.title,
        requirements=spec.requirements,
        severity=spec.severity,
        negative=spec.negative,
        mode=spec.mode,
        protocol=spec.protocol,
        status=status,
        message=message,
        duration_s=time.monotonic() - started,
        transcript=list(transcript.steps) if transcript else [],
    )


_TESTSTATUS = {
    "PASS": ("passed", ".", "PASS"),
    "FAIL": ("failed", "F", "FAIL"),
    "WARN": ("warned", "W", "WARN"),
    "NOT-APPLICABLE": ("not applicable", "n", "NOT-APPLICABLE"),
    "BLOCKED": ("blocked", "b", "BLOCKED"),
    "ERROR": ("error", "E", "ERROR"),
}


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> tuple[str, str, str] | None:
    status = getattr(report, "tamga_status", None)
    if status is None or (status == "PASS" and report.when != "call"):
        return None
    return _TESTSTATUS.get(status)


# -- the end: one Run, the reports, the verdict ----------------------------------------


def _build_run(state: _State) -> Run:
    caps = state.capabilities
    planned = [s.id for s in state.plan]
    order = {i: n for n, i in enumerate(planned)}
    results = sorted(state.results.values(), key=lambda r: order.get(r.id, len(order)))
    return Run(
        mode=state.mode,
        target=state.setup.target,
        sut=dict(state.setup.sut),
        capabilities=caps.as_dict(),
        capabilities_sha256=caps.sha256,
        capabilities_derived=caps.derived,
        strict=state.strict,
        development=state.development,
        plan=planned,
        results=results,
        requirements=dict(state.requirements),
        started_at=state.started_at,
        finished_at=_now(),
        session_id=state.session_id,
        suite_version=SUITE_VERSION,
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash.get(_STATE, None)
    if state is None:
        return
    from tamga.conformance._reports import write_reports

    run = state.run = _build_run(state)
    failed = run.verdict() != "PASS"
    if state.report_dir is not None:
        try:
            state.written = write_reports(run, state.report_dir)
            if state.sign_with is not None:
                from tamga.conformance._signing import sign_report

                out = state.report_dir / "report.signed.json"
                state.written["signed"] = sign_report(run, state.sign_with, out)
        except (TamgaError, OSError) as exc:
            state.report_error = " ".join(str(exc).split())
            failed = True
    if exitstatus in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
        return
    session.exitstatus = pytest.ExitCode.TESTS_FAILED if failed else pytest.ExitCode.OK


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is None or state.run is None:
        return
    from tamga.conformance._reports import console_summary

    tr = terminalreporter
    tr.section("Tamga conformance")
    for line in console_summary(state.run).splitlines():
        tr.write_line(line)
    for name, path in state.written.items():
        tr.write_line(f"{name}: {path}")
    if state.report_error:
        tr.write_line(f"reports: {state.report_error}", red=True)


# -- fixtures every case may use -------------------------------------------------------


def _state(request: pytest.FixtureRequest) -> _State:
    state = request.config.stash.get(_STATE, None)
    if state is None:
        raise pytest.UsageError("conformance cases run only with --tamga-mode or --tamga-adapter")
    return state


@pytest.fixture
def transcript(request: pytest.FixtureRequest) -> Transcript:
    """The current case's transcript (see :class:`Transcript`)."""
    _state(request)
    node = request.node
    if _TRANSCRIPT not in node.stash:
        node.stash[_TRANSCRIPT] = Transcript()
    return node.stash[_TRANSCRIPT]


@pytest.fixture(scope="session")
def capabilities(request: pytest.FixtureRequest) -> Capabilities:
    """The capability statement of the run (loaded, or derived and marked so)."""
    return _state(request).capabilities


@pytest.fixture(scope="session")
def adapter_under_test(request: pytest.FixtureRequest) -> AdapterUnderTest:
    """Adapter mode: the adapter under test and how to set it up for each sample."""
    state = _state(request)
    if state.adapter is None:
        raise pytest.UsageError("the adapter fixtures are for adapter mode")
    return state.adapter


@pytest.fixture(scope="session")
def adapter(adapter_under_test: AdapterUnderTest) -> Any:
    """Adapter mode: the adapter under test, built with no options."""
    return adapter_under_test.adapter


@pytest.fixture(scope="session")
def samples(request: pytest.FixtureRequest) -> Sequence[Path]:
    """Adapter mode: the sample national files the run checks."""
    return list(_state(request).samples)


@pytest.fixture(scope="session")
def fuzz_examples(request: pytest.FixtureRequest) -> int:
    """How many examples a fuzzing case tries (--tamga-examples)."""
    return _state(request).examples
