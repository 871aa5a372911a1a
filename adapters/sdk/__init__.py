"""The adapter SDK: what a national team builds its adapter from.

An adapter translates one national file into Tamga records and records back
into a national file. Derive from :class:`BaseAdapter`, implement
``decode_file``, ``encode_records`` and ``fields``, and register the class
under the entry-point group ``tamga.adapters``. ``adapters/README.md`` walks
through it; ``tamga adapter new NAME`` writes a working skeleton.

What the SDK gives:

- :class:`BaseAdapter`: size limits, record-type checks, errors that carry
  the adapter's name and a location;
- :mod:`~tamga.adapters.sdk.xml`: XML parsing that refuses DTDs and
  entities, matching by local name, located errors (line, XPath);
- :mod:`~tamga.adapters.sdk.text`: decoding with the exact place of a bad
  byte and a hint for mislabelled Windows-1251 or GB 18030 files;
- :mod:`~tamga.adapters.sdk.codes`: national code lists (EAEU, ICES,
  ASYCUDA, GACC units; countries; currencies) to the standard ones;
- :mod:`~tamga.adapters.sdk.records`: record ids derived from the national
  document, meta filled in the same way everywhere, canonical JSON;
- :mod:`~tamga.adapters.sdk.ods`: ODS shipments derived from declarations.
"""

from __future__ import annotations

from tamga.adapters.sdk._base import MAX_INPUT_BYTES, BaseAdapter
from tamga.adapters.sdk.ods import with_ods_shipments, without_derived
from tamga.adapters.sdk.records import canonical_json, from_canonical_json, new_record, parse_instant, record_id_for
from tamga.errors import AdapterError

__all__ = [
    "MAX_INPUT_BYTES",
    "AdapterError",
    "BaseAdapter",
    "canonical_json",
    "from_canonical_json",
    "new_record",
    "parse_instant",
    "record_id_for",
    "with_ods_shipments",
    "without_derived",
]
