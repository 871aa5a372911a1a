"""India's ICES 1.5 flat files (ICEGATE): Bill of Entry and Shipping Bill.

See ``README.md`` beside this file for the format, the column layouts and
how each field maps to a record; :mod:`.layout` holds the layouts.
"""

from __future__ import annotations

from tamga.adapters.icegate.adapter import IcegateAdapter

__all__ = ["IcegateAdapter"]
