"""The capability statement: what a national system says it does, which decides what applies.

A national team states, in a small TOML file, the record types it sends and
receives, the protocol versions it speaks and a few features; the suite runs
every case whose needs the statement meets and reports the others as
NOT-APPLICABLE (never as passed, never as SKIPPED)::

    [statement]
    node_id = "KZ-CUSTOMS"
    country = "KZ"
    adapter = "eaeu"
    protocol_versions = [1]
    record_types = ["declaration_snapshot", "ods_shipment"]
    formats = ["eaeu"]
    [features]
    restart_command = false
    send_direction = true
    tls = true
    xml = true

The statement is part of the evidence: its SHA-256 goes into the report, and
an unknown table or key is an error naming it (a misspelt feature must not
silently make cases NOT-APPLICABLE). Without a file, the suite derives a
statement from the adapter (its record types, those of its samples, whether
its format is XML) and the report marks it as derived.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tamga.errors import TamgaError
from tamga.v1 import records_pb2

__all__ = [
    "FEATURES",
    "RECORD_TYPES",
    "Capabilities",
    "CapabilityError",
    "derive_for_adapter",
    "load_capabilities",
    "parse_capabilities",
]

#: Every record type of protocol version 1 (the ``body`` of ``tamga.v1.Record``).
RECORD_TYPES = tuple(f.name for f in records_pb2.Record.DESCRIPTOR.oneofs_by_name["body"].fields)

#: Known features: name -> (default, what it means).
FEATURES: dict[str, tuple[bool, str]] = {
    "manifest": (
        False,
        "node mode: the target and the suite's test identity are members of one federation manifest "
        "(the target's GetManifest returns a chain)",
    ),
    "restart_command": (False, "node mode: the suite may restart the target (with --restart-command)"),
    "send_direction": (True, "node mode: the suite can make the target send (it can use the drop folders)"),
    "tls": (True, "the peer port speaks TLS with pinned certificates"),
    "xml": (False, "the national format is XML (the DTD and entity cases apply)"),
}

_STATEMENT_KEYS = ("node_id", "country", "adapter", "protocol_versions", "record_types", "formats")
_REQUIRED = ("protocol_versions", "record_types")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


class CapabilityError(TamgaError):
    """A capability statement that cannot be used; the message names the file, the key and why."""


@dataclass(frozen=True)
class Capabilities:
    """A loaded (or derived) capability statement.

    Attributes:
        node_id: The node the statement is for (may be empty in adapter mode).
        country: ISO 3166-1 alpha-2 of the customs service (may be empty).
        adapter: The adapter the node uses (may be empty).
        protocol_versions: Protocol versions spoken.
        record_types: Record types sent and received.
        formats: National formats (adapter names) handled.
        features: Every known feature, with its default when the statement is silent.
        derived: The suite built the statement; no team stated it.
        source: The file read, or how the statement was derived.
        sha256: SHA-256 of the file's bytes (of :meth:`to_toml` when derived).
    """

    node_id: str
    country: str
    adapter: str
    protocol_versions: tuple[int, ...]
    record_types: tuple[str, ...]
    formats: tuple[str, ...]
    features: Mapping[str, bool] = field(default_factory=dict)
    derived: bool = False
    source: str = ""
    sha256: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The statement as the report stores it (both tables, every feature)."""
        return {
            "statement": {
                "node_id": self.node_id,
                "country": self.country,
                "adapter": self.adapter,
                "protocol_versions": list(self.protocol_versions),
                "record_types": list(self.record_types),
                "formats": list(self.formats),
            },
            "features": dict(self.features),
        }

    def to_toml(self) -> str:
        """The statement as a TOML file, the form a team can start its own statement from."""

        def value(v: Any) -> str:
            if isinstance(v, bool):
                return "true" if v else "false"
            if isinstance(v, int):
                return str(v)
            if isinstance(v, str):
                return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
            return "[" + ", ".join(value(x) for x in v) + "]"

        d = self.as_dict()
        lines = ["[statement]"]
        lines += [f"{k} = {value(v)}" for k, v in d["statement"].items()]
        lines += ["", "[features]"]
        lines += [f"{k} = {value(v)}" for k, v in d["features"].items()]
        return "\n".join(lines) + "\n"

    def has(self, need: str) -> bool:
        """Whether the statement meets one need (``record_type:X``, ``format:X``, ``feature:X``, ``direction:send``)."""
        kind, _, name = need.partition(":")
        if kind == "record_type":
            return name in self.record_types
        if kind == "format":
            return name in self.formats
        if kind == "feature":
            return bool(self.features.get(name, False))
        if kind == "direction":
            return bool(self.features.get(f"{name}_direction", False))
        return False

    def unmet(self, needs: Iterable[str]) -> list[str]:
        """The needs the statement does not meet, in the order given."""
        return [n for n in needs if not self.has(n)]


def _fail(where: str, message: str) -> CapabilityError:
    return CapabilityError(f"{where}: {message}")


def _str_list(where: str, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _fail(where, f"[statement] {key} must be a list of non-empty strings")
    return tuple(value)


def parse_capabilities(
    data: Mapping[str, Any], where: str, *, sha256: str = "", defaults: Mapping[str, bool] | None = None
) -> Capabilities:
    """Check and load a statement already parsed from TOML.

    Args:
        data: The parsed TOML document.
        where: The file name, for error messages.
        sha256: Digest of the file's bytes.
        defaults: Feature values to assume where the statement is silent, over
            :data:`FEATURES`' defaults (the adapter under test says whether it is XML).

    Raises:
        CapabilityError: a missing table or key, an unknown one, or a value of the wrong kind.
    """
    unknown_tables = sorted(set(data) - {"statement", "features"})
    if unknown_tables:
        raise _fail(where, f"unknown table or key {unknown_tables[0]!r} (known: [statement], [features])")
    statement = data.get("statement")
    if not isinstance(statement, dict):
        raise _fail(where, "no [statement] table")
    unknown = sorted(set(statement) - set(_STATEMENT_KEYS))
    if unknown:
        raise _fail(where, f"unknown key [statement] {unknown[0]} (known: {', '.join(_STATEMENT_KEYS)})")
    for key in _REQUIRED:
        if key not in statement:
            raise _fail(where, f"[statement] {key} is missing")
    for key in ("node_id", "country", "adapter"):
        if not isinstance(statement.get(key, ""), str):
            raise _fail(where, f"[statement] {key} must be a string")
    country = statement.get("country", "")
    if country and not _COUNTRY.match(country):
        raise _fail(where, f"[statement] country {country!r} is not an ISO 3166-1 alpha-2 code like 'KZ'")
    versions = statement["protocol_versions"]
    if (
        not isinstance(versions, list)
        or not versions
        or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in versions)
    ):
        raise _fail(where, "[statement] protocol_versions must be a non-empty list of positive whole numbers")
    types = _str_list(where, "record_types", statement["record_types"])
    if not types:
        raise _fail(where, "[statement] record_types is empty; name at least one record type")
    for t in types:
        if t not in RECORD_TYPES:
            raise _fail(
                where, f"[statement] record_types: {t!r} is not a record type (known: {', '.join(RECORD_TYPES)})"
            )
    formats = _str_list(where, "formats", statement.get("formats", []))
    features_in = data.get("features", {})
    if not isinstance(features_in, dict):
        raise _fail(where, "[features] must be a table")
    unknown = sorted(set(features_in) - set(FEATURES))
    if unknown:
        raise _fail(where, f"unknown key [features] {unknown[0]} (known: {', '.join(FEATURES)})")
    features = {name: default for name, (default, _) in FEATURES.items()}
    features.update(defaults or {})
    for name, value in features_in.items():
        if not isinstance(value, bool):
            raise _fail(where, f"[features] {name} must be true or false")
        features[name] = value
    return Capabilities(
        node_id=statement.get("node_id", ""),
        country=country,
        adapter=statement.get("adapter", ""),
        protocol_versions=tuple(versions),
        record_types=types,
        formats=formats,
        features=features,
        derived=False,
        source=where,
        sha256=sha256,
    )


def load_capabilities(path: Path | str, *, defaults: Mapping[str, bool] | None = None) -> Capabilities:
    """Read a capability statement file.

    Raises:
        CapabilityError: the file is missing, unreadable, not TOML, or not a valid statement.
    """
    where = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise _fail(where, f"cannot read the capability statement: {exc.strerror or exc}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise _fail(where, f"not UTF-8 (byte {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise _fail(where, f"not valid TOML: {exc}") from exc
    return parse_capabilities(data, where, sha256=hashlib.sha256(raw).hexdigest(), defaults=defaults)


def adapter_features(adapter: Any) -> dict[str, bool]:
    """What the adapter itself tells about the features (an XML format writes ``.xml`` files)."""
    return {"xml": str(getattr(adapter, "file_suffix", "")).lower() == ".xml"}


def derive_for_adapter(
    adapter: Any,
    samples: Sequence[Path] = (),
    *,
    adapter_for: Callable[[Path], Any] | None = None,
) -> Capabilities:
    """A default statement for an adapter, marked as derived.

    Record types are those the adapter declares (``record_types``) and those
    its samples decode into; a sample that does not decode is left to the
    cases to report. Formats is the adapter's name; the protocol versions are
    those this Tamga speaks.
    """
    from tamga.protocol import SUPPORTED_PROTOCOL_VERSIONS

    types = [t for t in getattr(adapter, "record_types", ()) or () if t in RECORD_TYPES]
    for path in samples:
        try:
            records = (adapter_for(path) if adapter_for else adapter).decode(path.read_bytes(), source=path.name)
        except Exception:
            continue
        types += [r.WhichOneof("body") for r in records if r.WhichOneof("body")]
    if not types:
        types = list(RECORD_TYPES)
    name = str(getattr(adapter, "name", "") or "")
    features = {n: d for n, (d, _) in FEATURES.items()}
    features.update(adapter_features(adapter))
    caps = Capabilities(
        node_id="",
        country="",
        adapter=name,
        protocol_versions=tuple(sorted(SUPPORTED_PROTOCOL_VERSIONS)),
        record_types=tuple(t for t in RECORD_TYPES if t in types),
        formats=(name,) if name else (),
        features=features,
        derived=True,
        source=f"derived from adapter {name or type(adapter).__name__}",
    )
    digest = hashlib.sha256(caps.to_toml().encode("utf-8")).hexdigest()
    return replace(caps, sha256=digest)
