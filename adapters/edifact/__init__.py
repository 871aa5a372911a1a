"""UN/EDIFACT CUSDEC D96B adapter: customs declarations exchanged as EDIFACT
interchanges (Pakistan's WeBOC and other EDI gateways).

See :class:`EdifactAdapter` for the mapping.
"""

from __future__ import annotations

from tamga.adapters.edifact._adapter import EdifactAdapter

__all__ = ["EdifactAdapter"]
