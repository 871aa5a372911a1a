"""Checks every adapter must pass, for its own tests and for Tamga's.

The built-in adapters' tests, the tests ``tamga adapter new`` generates and
the conformance suite call the same functions, so an adapter a national team
writes is held to exactly what the built-in ones are::

    from tamga.adapters.sdk import testing

    def test_sample(adapter, sample):
        testing.check_round_trip(adapter, sample)

Each check raises ``AssertionError`` with a message that says what differs.
The first line of that message names files, field paths and codes but never
a record's values, so it can go into a conformance report as it is; the
lines after it show the values, for the person fixing the adapter.
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from dataclasses import field as _field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from tamga.adapters import Adapter, load_adapter
from tamga.adapters.sdk.ods import without_derived
from tamga.adapters.sdk.records import canonical_json
from tamga.errors import AdapterError
from tamga.v1 import records_pb2

__all__ = [
    "DIACRITICS",
    "HOSTILE_XML_PROLOGS",
    "LOCATION_KEYS",
    "SCRIPTS",
    "Checked",
    "adapter_for_sample",
    "check_boundary_values",
    "check_decoding_is_stable",
    "check_encode_whole_or_nothing",
    "check_fields_kept",
    "check_hostile_xml_refused",
    "check_malformed_refused",
    "check_missing_field_refused",
    "check_random_bytes",
    "check_records_round_trip",
    "check_round_trip",
    "check_sample",
    "check_scripts_survive",
    "check_unknown_codes_refused",
    "check_wrong_encoding_refused",
    "check_wrong_format_refused",
    "sample_files",
]

#: Text in the scripts of the member states: Kazakh and Russian Cyrillic,
#: Chinese, Hindi (Devanagari), Persian (Arabic script, right to left).
SCRIPTS = {
    "cyrillic": "Қазақстан ТОО «Пример» хлордифторметан",
    "chinese": "一氯二氟甲烷 乌鲁木齐贸易有限公司",
    "devanagari": "भारतीय सीमा शुल्क कपास",
    "persian": "گمرک جمهوری اسلامی ایران",
}

#: Letters of the member states' Latin and Cyrillic alphabets beyond Russian,
#: and Latin diacritics: what an adapter that folds text to ASCII, or drops
#: combining marks, loses. The conformance suite checks them with :data:`SCRIPTS`.
DIACRITICS = {
    "kazakh": "Әділет Ғылым Іңкәр Өнім Ұлттық Үкімет Һ",
    "uzbek": "Oʻzbekiston gʻalla Ўзбекистон Қўқон Ҳудуд",
    "latin": "Çağrı Şimşek Škoda Łódź Ñandú Ærø Đồng",
}

#: Keys of :attr:`AdapterError.location` that say where in a file a problem is.
LOCATION_KEYS = frozenset(
    {"line", "column", "xpath", "segment", "byte", "byte_offset", "row", "path", "json_path", "offset"}
)

#: String fields that carry free text in records; check_scripts_survive puts
#: each script into those a format actually carries.
TEXT_FIELDS = frozenset(
    {"name", "description", "designation", "subject", "reason", "facts_summary", "concealment", "mark_text", "address"}
)


def sample_files(folder: Path | None) -> list[Path]:
    """The sample files of an adapter (mapping files and READMEs left out)."""
    if folder is None or not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.endswith(".mapping.toml") and p.suffix not in (".md", ".py") and p.name[0] != "."
    )


def adapter_for_sample(name: str, sample: Path) -> Adapter:
    """The adapter ``name``, set up for ``sample``: a sample ``X.csv`` with a
    ``X.mapping.toml`` beside it is read with that mapping."""
    mapping = sample.with_name(sample.stem + ".mapping.toml")
    return load_adapter(name, {"mapping_file": str(mapping)} if mapping.exists() else None)


def _validate(records: Sequence[records_pb2.Record], what: str) -> None:
    from tamga.validation import validate_records

    problems = validate_records(records)
    assert not problems, f"{what}: records are not valid ({_paths(problems)}):\n  " + "\n  ".join(problems)


def _paths(problems: Sequence[str], limit: int = 5) -> str:
    """The field paths of validation problems (``PATH: what``), without the values."""
    paths = list(dict.fromkeys(p.split(": ", 1)[0] for p in problems))
    more = f" and {len(paths) - limit} more" if len(paths) > limit else ""
    return ", ".join(paths[:limit]) + more


def _leaves(msg: object, prefix: str = "") -> Iterator[tuple[str, object]]:
    """Every set leaf of a message as (field path, value)."""
    from google.protobuf.descriptor import FieldDescriptor

    for fd, value in msg.ListFields():  # type: ignore[attr-defined]
        items = list(value) if fd.is_repeated else [value]
        for i, item in enumerate(items):
            path = f"{prefix}{fd.name}" + (f"[{i}]" if fd.is_repeated else "")
            if fd.type == FieldDescriptor.TYPE_MESSAGE:
                if fd.message_type.full_name == "google.protobuf.Timestamp":
                    yield path, (item.seconds, item.nanos)
                else:
                    yield from _leaves(item, path + ".")
            else:
                yield path, item


def differences(want: Sequence[records_pb2.Record], got: Sequence[records_pb2.Record]) -> list[str]:
    """Field paths (``records[i].x.y``) where two lists of records differ."""
    if len(want) != len(got):
        return [f"records: {len(want)} expected, {len(got)} got"]
    out: list[str] = []
    for i, (w, g) in enumerate(zip(want, got, strict=True)):
        a, b = dict(_leaves(w, f"records[{i}].")), dict(_leaves(g, f"records[{i}]."))
        out += [p for p in dict.fromkeys([*a, *b]) if a.get(p) != b.get(p)]
    return out


def _same(got: Sequence[records_pb2.Record], want: Sequence[records_pb2.Record], what: str) -> None:
    def wire(records: Sequence[records_pb2.Record]) -> list[bytes]:
        return [r.SerializeToString(deterministic=True) for r in records]

    if wire(got) != wire(want):
        expected, actual = canonical_json(want).decode(), canonical_json(got).decode()
        where = _paths(differences(want, got)) or "field order or encoding"
        raise AssertionError(f"{what}: records differ at {where}\n--- expected\n{expected}\n--- got\n{actual}")


def check_sample(adapter: Adapter, path: Path) -> list[records_pb2.Record]:
    """The sample decodes into at least one record, and every record is valid."""
    records = adapter.decode(path.read_bytes(), source=path.name)
    assert records, f"{path.name}: decoded into no record"
    _validate(records, path.name)
    return records


def _unmapped(adapter: Adapter, path: str) -> bool:
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in getattr(adapter, "unmapped_fields", ()))


def check_records_round_trip(adapter: Adapter, path: Path) -> list[records_pb2.Record]:
    """``decode(encode(records)) == records`` for what the sample decodes into; returns the records."""
    records = adapter.decode(path.read_bytes(), source=path.name)
    encoded = adapter.encode(records)
    again = adapter.decode(encoded, source=f"{path.name} (encoded again)")
    _same(again, records, f"{path.name}: decode(encode(decode(sample)))")
    return records


def _json_fields(data: bytes) -> list[tuple[str, str]]:
    """Leaf fields of a JSON document, as :meth:`BaseAdapter.fields` gives them (list indices left out)."""

    def walk(node: object, path: str) -> Iterator[tuple[str, str]]:
        if isinstance(node, dict):
            for k, v in node.items():
                yield from walk(v, f"{path}/{k}" if path else str(k))
        elif isinstance(node, list):
            for v in node:
                yield from walk(v, path)
        elif node is not None and node != "":
            yield path, json.dumps(node, ensure_ascii=False) if not isinstance(node, str) else node

    return list(walk(json.loads(data.decode("utf-8-sig")), ""))


def national_fields(adapter: Adapter, data: bytes) -> list[tuple[str, str]]:
    """The (path, value) leaf fields of a national file: the adapter's ``fields()``, or for an
    adapter without it whose files are JSON, the JSON document's leaves.

    Raises:
        AssertionError: the adapter does not list its fields and its files are not JSON.
    """
    fields = getattr(adapter, "fields", None)
    if fields is not None:
        try:
            return list(fields(data))
        except NotImplementedError:
            pass
    try:
        return _json_fields(data)
    except ValueError:
        raise AssertionError(
            "the adapter does not list the fields of its national files (BaseAdapter.fields), so which"
            " fields it maps cannot be shown"
        ) from None


def check_fields_kept(adapter: Adapter, path: Path) -> int:
    """``encode(decode(sample))`` keeps every field of the sample the adapter maps (those not in
    ``unmapped_fields``); returns how many fields were compared."""
    data = path.read_bytes()
    encoded = adapter.encode(adapter.decode(data, source=path.name))
    wanted = Counter((p, v) for p, v in national_fields(adapter, data) if not _unmapped(adapter, p))
    got = Counter(national_fields(adapter, encoded))
    missing = wanted - got
    lost = list(dict.fromkeys(p for p, _ in sorted(missing)))
    assert not missing, (
        f"{path.name}: encode(decode(sample)) lost fields the adapter maps: {', '.join(lost[:5])}"
        f"{f' and {len(lost) - 5} more' if len(lost) > 5 else ''} (list them in unmapped_fields if the adapter does"
        f" not map them):\n  " + "\n  ".join(f"{p} = {v!r}" for p, v in sorted(missing))
    )
    return sum(wanted.values())


def check_round_trip(adapter: Adapter, path: Path) -> None:
    """``decode(encode(records)) == records`` for what the sample decodes into,
    and ``encode(decode(sample))`` keeps every field the adapter maps."""
    check_records_round_trip(adapter, path)
    if getattr(adapter, "fields", None) is not None:
        check_fields_kept(adapter, path)


def _put_text(msg: object, text: str) -> int:
    """Put ``text`` into every non-empty free-text field of a message; count them."""
    from google.protobuf.descriptor import FieldDescriptor

    count = 0
    for field, value in msg.ListFields():  # type: ignore[attr-defined]
        repeated = field.is_repeated
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            items = value if repeated else [value]
            for item in items:
                count += _put_text(item, text)
        elif field.type == FieldDescriptor.TYPE_STRING and field.name in TEXT_FIELDS and not repeated:
            setattr(msg, field.name, text)
            count += 1
    return count


def check_scripts_survive(
    adapter: Adapter, path: Path, scripts: dict[str, str] | None = None, *, text_only: bool = False
) -> None:
    """Cyrillic, Chinese, Devanagari and Persian text (or ``scripts``) in every
    free-text field the sample uses comes back unchanged from ``decode(encode(...))``.

    With ``text_only`` only those text fields are compared, so a loss elsewhere
    in the records (which the round trip check reports) is not blamed on the scripts.
    """
    records = without_derived(adapter.decode(path.read_bytes(), source=path.name))
    for script, text in (SCRIPTS if scripts is None else scripts).items():
        changed = []
        put = 0
        for rec in records:
            copy = records_pb2.Record()
            copy.CopyFrom(rec)
            put += _put_text(getattr(copy, copy.WhichOneof("body") or "meta"), text)
            changed.append(copy)
        assert put, f"{path.name}: the sample has no free-text field to carry {script} text"
        again = without_derived(adapter.decode(adapter.encode(changed), source=f"{path.name} ({script})"))
        if not text_only:
            _same(again, changed, f"{path.name}: {script} text")
            continue
        got = dict(_leaves_all(again))
        lost = [p for i, r in enumerate(changed) for _, _, p in _text_fields(r, f"records[{i}].") if got.get(p) != text]
        assert not lost, f"{path.name}: {script} text changed at {_paths([f'{p}: ' for p in lost])}"


def check_random_bytes(adapter: Adapter, samples: Iterable[Path], *, examples: int = 150) -> None:
    """Arbitrary bytes, and samples truncated or with bytes changed, make the
    adapter return records or raise :class:`AdapterError` with a message, and
    nothing else."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    blobs = [p.read_bytes() for p in samples]

    def check(data: bytes) -> None:
        try:
            adapter.decode(data, source="fuzz")
        except AdapterError as exc:
            assert exc.message, "an AdapterError without a message"

    @st.composite
    def mutated(draw: st.DrawFn) -> bytes:
        base = draw(st.sampled_from(blobs)) if blobs else b""
        kind = draw(st.sampled_from(["truncate", "flip", "insert", "random"]))
        if kind == "random" or not base:
            return draw(st.binary(max_size=2048))
        at = draw(st.integers(min_value=0, max_value=len(base)))
        if kind == "truncate":
            return base[:at]
        if kind == "flip":
            at = min(at, len(base) - 1)
            return base[:at] + bytes([draw(st.integers(0, 255))]) + base[at + 1 :]
        return base[:at] + draw(st.binary(min_size=1, max_size=16)) + base[at:]

    run = settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))(
        given(mutated())(check)
    )
    run()


# -- refusals, boundaries and codes: the checks the conformance suite adds -------------------


@dataclass
class Checked:
    """What a check tried, for a conformance transcript: counts, paths and codes, never values."""

    variants: int = 0
    details: dict[str, str] = _field(default_factory=dict)

    def note(self, key: str, value: object) -> None:
        self.details[key] = str(value)


def _located(exc: AdapterError, what: str) -> None:
    assert exc.location.keys() & LOCATION_KEYS, (
        f"{what}: refused, but the error does not say where (location keys: {', '.join(exc.location) or 'none'})"
        f"\n  {exc}"
    )


def _refused(adapter: Adapter, data: bytes, source: str, what: str) -> AdapterError:
    """Decode ``data``, which must be refused with a located :class:`AdapterError`; return the error."""
    try:
        records = adapter.decode(data, source=source)
    except AdapterError as exc:
        _located(exc, what)
        return exc
    except Exception as exc:
        raise AssertionError(f"{what}: raised {type(exc).__name__} instead of AdapterError\n  {exc}") from exc
    raise AssertionError(f"{what}: decoded into {len(records)} record(s) instead of being refused")


def _mid_line_cuts(data: bytes) -> list[int]:
    """Places a third and two thirds into a file, moved to the middle of their line, so a cut
    leaves a line (an XML element, a CSV row, an EDIFACT segment) visibly incomplete."""
    cuts: list[int] = []
    for frac in (1 / 3, 2 / 3):
        pos = int(len(data) * frac)
        start = data.rfind(b"\n", 0, pos) + 1
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end
        cut = (start + end) // 2 if end - start >= 2 else pos
        if 0 < cut < len(data) and cut not in cuts:
            cuts.append(cut)
    return cuts


def check_malformed_refused(adapter: Adapter, path: Path) -> Checked:
    """The sample cut in the middle of a line, a third and two thirds in, is refused
    with a located :class:`AdapterError`, and not one record of it is returned."""
    data = path.read_bytes()
    done = Checked()
    for cut in _mid_line_cuts(data):
        _refused(adapter, data[:cut], path.name, f"{path.name} cut to {cut} of {len(data)} bytes")
        done.variants += 1
    done.note("cuts", ", ".join(str(c) for c in _mid_line_cuts(data)))
    return done


def check_wrong_encoding_refused(adapter: Adapter, path: Path) -> Checked:
    """The sample saved in Windows-1251 (or GB 18030) while it still declares UTF-8 is refused
    with a located error, or read as exactly the same records; never as other text.

    A sample that is plain ASCII, or not UTF-8 to begin with, gives nothing to
    mislabel (``variants`` is 0).
    """
    data = path.read_bytes()
    done = Checked()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        done.note("skipped", "sample is not UTF-8")
        return done
    if data.isascii():
        done.note("skipped", "sample is plain ASCII")
        return done
    for legacy in ("cp1251", "gb18030"):
        try:
            bad = text.encode(legacy)
        except UnicodeEncodeError:
            continue
        if bad == data:
            continue
        what = f"{path.name} saved in {legacy} but declaring UTF-8"
        try:
            got = adapter.decode(bad, source=path.name)
        except AdapterError as exc:
            _located(exc, what)
        except Exception as exc:
            raise AssertionError(f"{what}: raised {type(exc).__name__} instead of AdapterError\n  {exc}") from exc
        else:
            _same(got, adapter.decode(data, source=path.name), f"{what}: read as other text instead of refused;")
        done.variants += 1
        done.note("encoding", legacy)
        break
    return done


#: A small file of each common format, for the adapters of the other formats.
FOREIGN_FILES = {
    ".json": b'{"records": [{"meta": {"recordId": "2f1c"}}]}\n',
    ".xml": b'<?xml version="1.0" encoding="UTF-8"?>\n<Invoice>\n  <Id>1</Id>\n</Invoice>\n',
    ".csv": b"invoice_no,amount,currency\n1,2.00,USD\n",
    ".edi": b"UNA:+.? 'UNB+UNOC:3+SENDER+RECEIVER+260101:1200+1'UNH+1+INVOIC:D:96A:UN'UNT+2+1'UNZ+1+1'\n",
    ".pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
}


def check_wrong_format_refused(adapter: Adapter) -> Checked:
    """A file of another format (JSON, XML, CSV, EDIFACT, PDF; not the adapter's own) is refused
    with a located :class:`AdapterError`."""
    done = Checked()
    own = str(getattr(adapter, "file_suffix", "")).lower()
    for suffix, data in FOREIGN_FILES.items():
        if suffix == own:
            continue
        _refused(adapter, data, f"foreign{suffix}", f"a {suffix[1:].upper()} file")
        done.variants += 1
    done.note("formats", ", ".join(s[1:] for s in FOREIGN_FILES if s != own))
    return done


#: What the XML checks put before the root element: a DTD, an external entity, an entity bomb.
HOSTILE_XML_PROLOGS = {
    "dtd": b"<!DOCTYPE r [<!ELEMENT r ANY>]>\n",
    "external-entity": b'<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>\n',
    "entity-bomb": b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>\n',
}


def check_hostile_xml_refused(adapter: Adapter, path: Path) -> Checked:
    """The XML sample with a DTD, with an external entity it uses, or with an entity bomb it uses
    is refused with an :class:`AdapterError` naming the line of the declaration; nothing is read."""
    data = path.read_bytes()
    start = data.index(b"<", data.index(b"?>") + 2) if data.startswith(b"<?xml") else 0
    line = data[:start].count(b"\n") + 1
    done = Checked()
    for kind, prolog in HOSTILE_XML_PROLOGS.items():
        hostile = data[:start] + prolog + data[start:]
        if kind != "dtd":
            # Use the entity, so that a parser resolving it would put it into a record.
            hostile = hostile.replace(b"</", (b"&xxe;" if kind == "external-entity" else b"&d;") + b"</", 1)
        exc = _refused(adapter, hostile, path.name, f"{path.name} with {kind.replace('-', ' ')}")
        got = exc.location.get("line")
        assert got == line, f"{path.name} with {kind.replace('-', ' ')}: refused at line {got}, not {line}"
        done.variants += 1
    done.note("line", line)
    return done


def check_decoding_is_stable(adapter: Adapter, path: Path) -> Checked:
    """Decoding the same sample twice gives the same records with the same record ids."""
    data = path.read_bytes()
    first = adapter.decode(data, source=path.name)
    second = adapter.decode(data, source=path.name)
    ids = [r.meta.record_id for r in first]
    assert ids == [r.meta.record_id for r in second], f"{path.name}: record ids change from one decoding to the next"
    _same(second, first, f"{path.name}: decoded twice,")
    return Checked(variants=2, details={"records": str(len(first))})


def check_encode_whole_or_nothing(adapter: Adapter, path: Path) -> Checked:
    """Given records with one it cannot carry, the adapter raises :class:`AdapterError` naming
    that record, never a file of the others; every record it can carry comes back."""
    records = adapter.decode(path.read_bytes(), source=path.name)
    done = Checked(variants=1)
    carried = tuple(getattr(adapter, "record_types", ()) or ())
    bodies = [f.name for f in records_pb2.Record.DESCRIPTOR.oneofs_by_name["body"].fields]
    foreign = next((b for b in bodies if carried and b not in carried and b != "ods_shipment"), None)
    if foreign is not None:
        extra = records_pb2.Record()
        extra.meta.CopyFrom(records[0].meta)
        getattr(extra, foreign).SetInParent()
        mixed = [*without_derived(records), extra]
        try:
            out = adapter.encode(mixed)
        except AdapterError as exc:
            named = "record" in exc.location or f"records[{len(mixed) - 1}]" in str(exc)
            assert named, f"{path.name}: a {foreign} it cannot carry was refused without naming the record\n  {exc}"
        else:
            raise AssertionError(
                f"{path.name}: given a {foreign} it cannot carry, encode wrote a file of {len(out)} bytes"
                " instead of refusing"
            )
        done.variants += 1
        done.note("refused_type", foreign)
    again = adapter.decode(adapter.encode(records), source=f"{path.name} (encoded again)")
    want = len(without_derived(records))
    assert len(without_derived(again)) == want, (
        f"{path.name}: encoded {want} record(s), {len(without_derived(again))} came back"
    )
    return done


def _body(rec: records_pb2.Record) -> tuple[str, object]:
    kind = rec.WhichOneof("body") or ""
    return kind, getattr(rec, kind) if kind else rec.meta


def _forms(rec: records_pb2.Record) -> Iterator[str]:
    """Every leaf value of a record as text; a timestamp also as its UTC date."""
    from datetime import UTC, datetime

    for _, value in _leaves(rec):
        if isinstance(value, tuple):
            stamp = datetime.fromtimestamp(value[0], UTC)
            yield stamp.date().isoformat()
            yield stamp.isoformat()
        else:
            yield str(value)


def check_missing_field_refused(adapter: Adapter, path: Path, *, fields: int = 3) -> Checked:
    """A record of the sample without one of its mandatory fields (up to ``fields`` of them,
    found with Tamga's validation) is refused: by ``encode``, by ``decode`` with a located
    error, or by validation with a problem at that field's path. The adapter never fills in
    the missing value."""
    from tamga.validation import validate_records

    records = without_derived(adapter.decode(path.read_bytes(), source=path.name))
    rec = records[0]
    kind, body = _body(rec)
    mandatory: list[str] = []
    elsewhere = Counter(_forms(rec))
    for fd, value in body.ListFields():  # type: ignore[attr-defined]
        if fd.type != fd.TYPE_MESSAGE and not fd.is_repeated and elsewhere[str(value)] > 1:
            # The value is in another field too (the document number in meta, the date of
            # created_at), so a format carrying it once loses nothing when this field is empty.
            continue
        copy = records_pb2.Record()
        copy.CopyFrom(rec)
        getattr(copy, kind).ClearField(fd.name)
        where = f"records[0].{kind}.{fd.name}"
        if any(p.startswith(where) for p in validate_records([copy])):
            mandatory.append(fd.name)
        if len(mandatory) == fields:
            break
    done = Checked()
    for name in mandatory:
        copy = records_pb2.Record()
        copy.CopyFrom(rec)
        getattr(copy, kind).ClearField(name)
        where = f"{kind}.{name}"
        what = f"{path.name}: a {kind} without {name}"
        done.variants += 1
        try:
            encoded = adapter.encode([copy])
        except AdapterError:
            continue  # refused before a file was written
        try:
            again = adapter.decode(encoded, source=f"{path.name} (without {name})")
        except AdapterError as exc:
            _located(exc, what)
            continue
        problems = validate_records(again)
        assert problems, f"{what} was written and read back as a valid record: the adapter filled in {where}"
        assert any(where in p.split(": ", 1)[0] for p in problems), (
            f"{what} was refused by validation, but no problem names {where} ({_paths(problems)})"
        )
    done.note("fields", ", ".join(mandatory) or "none found")
    return done


# A probe for a code: (message type, field) of the code, standard values the
# national format can carry, and what no code list holds.
_CODE_FIELDS = (
    ("unit", "tamga.v1.Quantity", "unit", ("KGM", "TNE", "GRM", "H87", "LTR", "MTQ")),
    ("currency", "tamga.v1.Money", "currency", ("USD", "EUR", "CNY", "RUB", "KZT", "INR")),
    ("country", "tamga.v1.Party", "country", ("KZ", "CN", "UZ", "RU", "IN", "PK")),
)
_TOKEN = re.compile(rb"[A-Za-z0-9]+|.", re.DOTALL)
#: How many fields of each code kind are tried before a kind is given up for a sample.
_PROBES = 4


def _code_fields(msg: object, message_type: str, name: str, prefix: str = "") -> Iterator[tuple[object, str]]:
    """(message, path) of every set ``name`` field of messages of ``message_type`` inside ``msg``."""
    from google.protobuf.descriptor import FieldDescriptor

    if msg.DESCRIPTOR.full_name == message_type and getattr(msg, name):  # type: ignore[attr-defined]
        yield msg, f"{prefix}{name}"
    for fd, value in msg.ListFields():  # type: ignore[attr-defined]
        if fd.type != FieldDescriptor.TYPE_MESSAGE:
            continue
        for i, item in enumerate(value if fd.is_repeated else [value]):
            sub = f"{prefix}{fd.name}" + (f"[{i}]" if fd.is_repeated else "") + "."
            yield from _code_fields(item, message_type, name, sub)


def _replaced_tokens(a: Sequence[bytes], b: Sequence[bytes]) -> Iterator[tuple[int, int]]:
    """Indexes (in ``a``, in ``b``) of single tokens that one list has in place of the other."""
    if len(a) == len(b):
        yield from ((i, i) for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y)
        return
    head = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    tail = next((i for i, (x, y) in enumerate(zip(reversed(a), reversed(b), strict=False)) if x != y), 0)
    tail = min(tail, len(a) - head, len(b) - head)
    middle = difflib.SequenceMatcher(None, a[head : len(a) - tail], b[head : len(b) - tail], autojunk=False)
    for op, i1, i2, j1, j2 in middle.get_opcodes():
        if op == "replace" and i2 - i1 == 1 and j2 - j1 == 1:
            yield head + i1, head + j1


def _national_tokens(
    adapter: Adapter,
    rec: records_pb2.Record,
    set_code: Callable[[records_pb2.Record, str], None],
    read_code: Callable[[records_pb2.Record], str],
    codes: Sequence[str],
) -> tuple[bytes, list[tuple[int, int]]] | None:
    """A file with the record, and the (offset, length) of each token that holds the code there.

    Candidates are the tokens that differ between the record written with two
    different codes; a candidate counts only if putting the second file's token
    into the first file makes it read back with the second code (a quantity
    converted to another unit changes numbers too, which are not the code).
    """
    written: list[tuple[str, bytes, list[bytes]]] = []
    for code in codes:
        copy = records_pb2.Record()
        copy.CopyFrom(rec)
        set_code(copy, code)
        try:
            data = adapter.encode([copy])
        except AdapterError:
            continue
        written.append((code, data, _TOKEN.findall(data)))
        if len(written) == 2:
            break
    if len(written) < 2:
        return None
    (_, data, a), (code_b, _, b) = written
    offsets = [0]
    for token in a:
        offsets.append(offsets[-1] + len(token))
    pairs = [(i, j) for i, j in _replaced_tokens(a, b) if a[i].isalnum() and b[j].isalnum()]

    def reads_as_b(chosen: Sequence[tuple[int, int]]) -> bool:
        swapped = bytearray(data)
        for i, j in sorted(chosen, reverse=True):
            swapped[offsets[i] : offsets[i + 1]] = b[j]
        try:
            back = without_derived(adapter.decode(bytes(swapped), source="swap"))
        except AdapterError:
            return False
        return bool(back) and read_code(back[0]) == code_b

    # The code may be written more than once (a CSV row per goods item), so all places at once
    # first; then one by one, since other tokens may change with it (a mass converted to tonnes).
    if pairs and reads_as_b(pairs):
        chosen = pairs
    else:
        chosen = [p for p in pairs if reads_as_b([p])]
    spots = [(offsets[i], len(a[i])) for i, _ in chosen]
    return (data, spots) if spots else None


def check_unknown_codes_refused(adapter: Adapter, path: Path) -> Checked:
    """A national file whose unit, currency or party country is a code no list holds is refused,
    by the adapter or by validation, with an error naming the code.

    The code's place in the national file is found by writing a record of the
    sample with two different valid codes and comparing the two files, so the
    check needs no knowledge of the format; the code found there is replaced
    by one of the same length that no list holds.
    """
    from tamga.validation import validate_records

    records = without_derived(adapter.decode(path.read_bytes(), source=path.name))
    done = Checked()
    probed: list[str] = []
    for label, message_type, name, codes in _CODE_FIELDS:
        candidates = [(r, p) for r in records for _, p in _code_fields(r, message_type, name)][:_PROBES]
        found = None
        for rec, first in candidates:

            def set_code(
                copy: records_pb2.Record,
                code: str,
                first: str = first,
                message_type: str = message_type,
                name: str = name,
            ) -> None:
                for msg, p in _code_fields(copy, message_type, name):
                    if p == first:
                        setattr(msg, name, code)

            def read_code(
                copy: records_pb2.Record, first: str = first, message_type: str = message_type, name: str = name
            ) -> str:
                return next(
                    (str(getattr(m, name)) for m, p in _code_fields(copy, message_type, name) if p == first), ""
                )

            found = _national_tokens(adapter, rec, set_code, read_code, codes)
            if found is not None:
                break
        if not candidates:
            continue
        if found is None:
            done.note(f"{label}_skipped", f"no {label} of the sample was found in the national file")
            continue
        data, spots = found
        junk = "Q" * spots[0][1]
        bad = bytearray(data)
        for at, length in spots:
            bad[at : at + length] = b"Q" * length
        what = f"{path.name}: {label} code {junk} at {first}"
        done.variants += 1
        probed.append(f"{label} ({first})")
        try:
            again = adapter.decode(bytes(bad), source=f"{path.name} (unknown {label})")
        except AdapterError as exc:
            _located(exc, what)
            assert junk in str(exc), f"{what}: refused, but the error does not name the code\n  {exc}"
            continue
        problems = [p for p in validate_records(again) if junk in p]
        assert problems, f"{what}: accepted (read into a valid record), not refused"
    done.note("probed", ", ".join(probed) or "no code found in the sample")
    return done


def _decimal_fields(msg: object, prefix: str = "") -> Iterator[tuple[object, str, str]]:
    """(message, field name, path) of every set decimal string (amounts, quantities, rates)."""
    from google.protobuf.descriptor import FieldDescriptor

    decimal_names = {("tamga.v1.Money", "amount"), ("tamga.v1.Quantity", "value")}
    for fd, value in msg.ListFields():  # type: ignore[attr-defined]
        path = f"{prefix}{fd.name}"
        if fd.type == FieldDescriptor.TYPE_MESSAGE:
            for i, item in enumerate(value if fd.is_repeated else [value]):
                yield from _decimal_fields(item, path + (f"[{i}]" if fd.is_repeated else "") + ".")
        elif (msg.DESCRIPTOR.full_name, fd.name) in decimal_names or fd.name == "exchange_rate":  # type: ignore[attr-defined]
            yield msg, fd.name, path


def _scale(value: str) -> int:
    return len(value.partition(".")[2])


def _timestamps(msg: object, prefix: str = "") -> Iterator[tuple[object, str]]:
    from google.protobuf.descriptor import FieldDescriptor

    for fd, value in msg.ListFields():  # type: ignore[attr-defined]
        if fd.type != FieldDescriptor.TYPE_MESSAGE:
            continue
        for i, item in enumerate(value if fd.is_repeated else [value]):
            path = f"{prefix}{fd.name}" + (f"[{i}]" if fd.is_repeated else "")
            if fd.message_type.full_name == "google.protobuf.Timestamp":
                yield item, path
            else:
                yield from _timestamps(item, path + ".")


def _text_fields(msg: object, prefix: str = "") -> Iterator[tuple[object, str, str]]:
    from google.protobuf.descriptor import FieldDescriptor

    for fd, value in msg.ListFields():  # type: ignore[attr-defined]
        path = f"{prefix}{fd.name}"
        if fd.type == FieldDescriptor.TYPE_MESSAGE:
            for i, item in enumerate(value if fd.is_repeated else [value]):
                yield from _text_fields(item, path + (f"[{i}]" if fd.is_repeated else "") + ".")
        elif fd.type == FieldDescriptor.TYPE_STRING and fd.name in TEXT_FIELDS and not fd.is_repeated:
            yield msg, fd.name, path


def _same_number(a: str, b: str) -> bool:
    try:
        return Decimal(a) == Decimal(b)
    except InvalidOperation:
        return a == b


def check_boundary_values(adapter: Adapter, path: Path) -> Checked:
    """Boundary values survive ``decode(encode(...))`` or are refused with an error naming the record:

    - zero quantities (``0`` at the sample's scale) come back as zero, never refused or dropped;
    - every amount and quantity with 9 integer digits, and with two more
      decimals than the sample uses, comes back equal: no rounding, no cut;
    - every timestamp with a time of day, moved to 19:45 UTC (the next day in
      Central and South Asia), comes back as the same instant;
    - every free-text field 512 characters long comes back whole.

    Only a record the national format cannot express may be refused, with an
    :class:`AdapterError` naming the record; silently changing the value fails.
    """
    records = without_derived(adapter.decode(path.read_bytes(), source=path.name))
    done = Checked()

    def variant(change: Callable[[records_pb2.Record], list[str]]) -> tuple[list[records_pb2.Record], list[str]]:
        out, paths = [], []
        for i, rec in enumerate(records):
            copy = records_pb2.Record()
            copy.CopyFrom(rec)
            paths += [f"records[{i}].{p}" for p in change(copy)]
            out.append(copy)
        return out, paths

    def zero(rec: records_pb2.Record) -> list[str]:
        changed = []
        for msg, name, p in _decimal_fields(rec):
            if msg.DESCRIPTOR.full_name == "tamga.v1.Quantity":  # type: ignore[attr-defined]
                scale = _scale(getattr(msg, name))
                setattr(msg, name, "0" + ("." + "0" * scale if scale else ""))
                changed.append(p)
        return changed

    def precise(rec: records_pb2.Record) -> list[str]:
        changed = []
        for msg, name, p in _decimal_fields(rec):
            scale = _scale(getattr(msg, name)) + 2
            setattr(msg, name, "987654321." + "123456789"[:scale])
            changed.append(p)
        return changed

    def instants(rec: records_pb2.Record) -> list[str]:
        changed = []
        for ts, p in _timestamps(rec):
            day, second = divmod(ts.seconds, 86400)  # type: ignore[attr-defined]
            if second == 0 and ts.nanos == 0:  # type: ignore[attr-defined]
                continue  # midnight: a date the format may carry without a time (or derive from a date)
            # 19:45 UTC is the next day from UTC+04:15 on; seconds only where the sample has them.
            ts.seconds = day * 86400 + 19 * 3600 + 45 * 60 + (30 if second % 60 else 0)  # type: ignore[attr-defined]
            ts.nanos = 0  # type: ignore[attr-defined]
            changed.append(p)
        return changed

    long_text = ("Boundary " * 57)[:511] + "."

    def lengths(rec: records_pb2.Record) -> list[str]:
        changed = []
        for msg, name, p in _text_fields(rec):
            setattr(msg, name, long_text)
            changed.append(p)
        return changed

    failures: list[str] = []
    for label, change, may_refuse in (
        ("zero quantities", zero, False),
        ("precise decimals", precise, True),
        ("instants", instants, False),
        ("long text", lengths, True),
    ):
        changed, paths = variant(change)
        if not paths:
            continue
        done.variants += 1
        try:
            encoded = adapter.encode(changed)
        except AdapterError as exc:
            if may_refuse and ("record" in exc.location or "records[" in str(exc)):
                done.note(label, "refused, naming the record")
                continue
            failures.append(f"{label}: refused" + ("" if may_refuse else " (the value is valid)") + f": {exc}")
            continue
        again = without_derived(adapter.decode(encoded, source=f"{path.name} ({label})"))
        want, got = dict(_leaves_all(changed)), dict(_leaves_all(again))
        lost = [p for p in paths if not _same_leaf(want.get(p), got.get(p))]
        if lost:
            failures.append(f"{label}: changed at {', '.join(lost[:4])}{' and more' if len(lost) > 4 else ''}")
        else:
            done.note(label, f"{len(paths)} field(s) came back unchanged")
    assert not failures, f"{path.name}: boundary values do not survive: " + "; ".join(failures)
    return done


def _leaves_all(records: Sequence[records_pb2.Record]) -> Iterator[tuple[str, object]]:
    for i, rec in enumerate(records):
        yield from _leaves(rec, f"records[{i}].")


def _same_leaf(a: object, b: object) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a == b or _same_number(a, b) if a.replace(".", "").isdigit() else a == b
    return a == b
