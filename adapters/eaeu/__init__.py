"""The EAEU adapter: EEC R.036 GoodsDeclaration and Russia's FTS ESADout_CU.

Registered as ``eaeu`` in the entry-point group ``tamga.adapters``.
"""

from __future__ import annotations

from tamga.adapters.eaeu._adapter import EaeuAdapter

__all__ = ["EaeuAdapter"]
