"""Node mutants of the manifest cases, run like those of mutant_nodes.py (``run MUTANT --home HOME``).

Kept apart from mutant_nodes.py so the launcher there stays as it is; this one
adds its mutants to the same table and hands over to the same ``main``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mutant_nodes import MUTANTS, main


def _ignores_revocations() -> None:
    """Key revocations are fetched with the manifest but never kept: a revoked key stays valid."""
    from tamga.federation import FederationState

    def ignore(self: FederationState, signed: object) -> list[object]:
        return []

    FederationState.add_revocations = ignore  # type: ignore[method-assign, assignment]


def _ignores_agreements() -> None:
    """Every record type is taken from every member: the manifest's agreements are not checked on receipt."""
    from tamga.protocol import Policy

    Policy.allows = lambda self, sender, receiver, record_type: True  # type: ignore[method-assign]


def _adopts_unconsented() -> None:
    """A version is adopted on the threshold alone: a member's consent to a change of its own keys is not checked."""
    from tamga.federation import _manifest

    _manifest._consent_problems = lambda previous, manifest, valid: []  # type: ignore[assignment]


MANIFEST_MUTANTS = {
    "ignores-revocations": _ignores_revocations,
    "ignores-agreements": _ignores_agreements,
    "adopts-unconsented": _adopts_unconsented,
}
MUTANTS.update(MANIFEST_MUTANTS)

if __name__ == "__main__":
    sys.exit(main())
