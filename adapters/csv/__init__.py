"""The CSV adapter: records from spreadsheets and database exports, and back.

For customs services whose national system exports only tables. It carries every record type of records.proto.
A file is either in the default form, whose header row names record field paths
(``declaration_snapshot.items.commodity.hs6``), or a national spreadsheet described by a TOML mapping file
(``MAPPING.md``): Russian or Chinese column headers, national codes, local date formats, no code to write.
"""

from __future__ import annotations

from tamga.adapters.csv._adapter import CsvAdapter

__all__ = ["CsvAdapter"]
