"""Building records the same way in every adapter."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from tamga.v1 import common_pb2, records_pb2

__all__ = [
    "RECORD_ID_NAMESPACE",
    "canonical_json",
    "from_canonical_json",
    "new_record",
    "parse_instant",
    "record_id_for",
]

#: Namespace of the name-based UUIDs adapters give records (RFC 4122 version 5).
RECORD_ID_NAMESPACE = uuid.UUID("5f0c2c1e-7d55-4b0e-9a57-1a6d2b7e0c31")


def record_id_for(source_format: str, source_record_ref: str, record_type: str, index: int | str = 0) -> str:
    """A record id derived from what the national file says about itself.

    The same national document always yields the same id, so a file dropped
    twice is one record, and ``decode(encode(record))`` gives back the id.
    ``index`` tells apart several records of one type from one document.
    """
    name = "\x1f".join((source_format, source_record_ref, record_type, str(index)))
    return str(uuid.uuid5(RECORD_ID_NAMESPACE, name))


def parse_instant(value: str) -> datetime:
    """An ISO 8601 date or date-time; a value without offset is taken as UTC.

    Raises:
        ValueError: not ISO 8601.
    """
    dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def new_record(
    *,
    source_format: str,
    source_record_ref: str,
    record_type: str,
    sender_country: str,
    receiver_countries: Sequence[str],
    sender_authority: str,
    created_at: datetime,
    index: int = 0,
    message_function: int = common_pb2.MESSAGE_FUNCTION_ORIGINAL,
    handling: int = common_pb2.HANDLING_RESTRICTED,
) -> records_pb2.Record:
    """A record with its meta filled in and an empty body of ``record_type``.

    A correction or cancellation gets an id of its own (the message function
    is part of the name the id is derived from), so it is not taken for a
    copy of the original.
    """
    rec = records_pb2.Record()
    m = rec.meta
    original = message_function == common_pb2.MESSAGE_FUNCTION_ORIGINAL
    key: int | str = index if original else f"{index}/{message_function}"
    m.record_id = record_id_for(source_format, source_record_ref, record_type, key)
    m.sender_country = sender_country
    m.receiver_countries.extend(c for c in dict.fromkeys(receiver_countries) if c and c != sender_country)
    m.sender_authority = sender_authority
    m.created_at.FromDatetime(created_at.astimezone(UTC).replace(tzinfo=None))
    m.source_format = source_format
    m.source_record_ref = source_record_ref
    m.message_function = message_function  # type: ignore[assignment]
    m.handling = handling  # type: ignore[assignment]
    getattr(rec, record_type).SetInParent()
    return rec


def canonical_json(records: Sequence[records_pb2.Record]) -> bytes:
    """Records as canonical JSON: the ``json`` adapter's form, field names in
    lowerCamelCase, enums by name, defaults omitted."""
    from tamga.adapters.json_records import JsonAdapter

    return JsonAdapter().encode(records)


def from_canonical_json(data: bytes, *, source: str = "") -> list[records_pb2.Record]:
    """Records from canonical JSON (what :func:`canonical_json` writes)."""
    from tamga.adapters.json_records import JsonAdapter

    return JsonAdapter().decode(data, source=source)
