"""Adapters: translation between a national system's files and Tamga records.

An adapter is pure translation. It turns the bytes of one national file into
a list of :class:`tamga.v1.records_pb2.Record` and a list of records back into
bytes. It does no networking, no storage and no file handling of its own: the
node reads and writes the files, seals, queues and delivers.

Adapters are plugins, found through the entry-point group ``tamga.adapters``
(as pytest finds its plugins). Tamga's built-in adapters register the same way
as a national team's own package does, in its ``pyproject.toml``::

    [project.entry-points."tamga.adapters"]
    myformat = "my_package.adapter:MyFormatAdapter"

The entry point names a class (or a factory) called with no arguments; the
object it returns has the attributes and methods of :class:`Adapter`. A
decoding problem raises :class:`AdapterError` naming where in the input it is
(line and column, XPath, EDIFACT segment, JSON path), never a bare exception.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

from tamga.errors import AdapterError
from tamga.v1 import records_pb2

__all__ = ["ENTRY_POINT_GROUP", "Adapter", "AdapterError", "available_adapters", "load_adapter"]

ENTRY_POINT_GROUP = "tamga.adapters"


@runtime_checkable
class Adapter(Protocol):
    """What every adapter provides."""

    #: Short name, the entry-point name (``json``, ``eaeu``...).
    name: str
    #: Suffix of the files it writes, with the dot (``.json``, ``.xml``).
    file_suffix: str
    # Optional: ``records_per_file`` (int), how many records the node may put in
    # one incoming file by default (1 when absent; ``[adapter] records_per_file``
    # overrides it).

    def decode(self, data: bytes, *, source: str = "") -> list[records_pb2.Record]:
        """Translate one national file into records.

        Args:
            data: The whole file.
            source: The file's name, for error messages only.

        Raises:
            AdapterError: the input is not valid; ``location`` says where.
        """
        ...

    def encode(self, records: Sequence[records_pb2.Record]) -> bytes:
        """Translate records into one national file.

        Raises:
            AdapterError: a record cannot be expressed in the national format.
        """
        ...


def available_adapters() -> dict[str, str]:
    """Installed adapters: name -> ``module:attribute``."""
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def load_adapter(name: str, options: Mapping[str, Any] | None = None) -> Adapter:
    """Load the adapter registered under ``name``.

    Args:
        name: The entry-point name.
        options: Keyword arguments for the adapter's constructor (the node's
            ``[adapter.options]``).

    Raises:
        AdapterError: no adapter of that name is installed, it does not take
            one of the options, or it failed to load.
    """
    found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
    if not found:
        known = ", ".join(sorted(available_adapters())) or "none"
        raise AdapterError(f"no adapter named {name!r} is installed (installed: {known})")
    ep = found[0]
    try:
        factory = ep.load()
    except Exception as exc:
        raise AdapterError(f"adapter {name!r} ({ep.value}) failed to load: {exc}") from exc
    if options:
        try:
            accepted = inspect.signature(factory).parameters
        except (TypeError, ValueError):
            accepted = {}
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
        unknown = sorted(k for k in options if k not in accepted and not takes_any)
        if unknown:
            known = ", ".join(p for p in accepted if p != "self") or "none"
            raise AdapterError(f"adapter {name!r} has no option {', '.join(map(repr, unknown))} (its options: {known})")
    try:
        adapter = factory(**dict(options or {}))
    except AdapterError:
        raise
    except Exception as exc:
        raise AdapterError(f"adapter {name!r} ({ep.value}) failed to load: {exc}") from exc
    missing = [a for a in ("name", "file_suffix", "decode", "encode") if not hasattr(adapter, a)]
    if missing:
        raise AdapterError(f"adapter {name!r} ({ep.value}) lacks {', '.join(missing)}")
    return adapter  # type: ignore[no-any-return]
