"""Errors of the Tamga node, in one leaf module (it imports nothing of ours).

Every error the node raises on purpose derives from :class:`TamgaError` and
says what went wrong, where, and why, in one line fit for an operator's
terminal. The command line prints ``str(error)`` and exits non-zero; it never
shows a traceback for a TamgaError.
"""

from __future__ import annotations

__all__ = [
    "AdapterError",
    "ConfigError",
    "CryptoError",
    "DeliveryError",
    "KeyFileError",
    "ManifestError",
    "QueueFullError",
    "RoutingError",
    "StoreError",
    "StoreFullError",
    "TamgaError",
    "ValidationError",
]


class TamgaError(Exception):
    """Root of every error the node raises on purpose."""


class ConfigError(TamgaError):
    """The node directory or its configuration is missing or wrong."""


class KeyFileError(TamgaError):
    """A key file is missing, unreadable, malformed, or has unsafe permissions."""


class CryptoError(TamgaError):
    """A signature, a decryption or a key did not check out.

    Every failure of verification, whatever the library said, becomes this one
    type; the message says which check failed, never any key material.
    """


class StoreError(TamgaError):
    """The node's database could not be opened, migrated or written."""


class StoreFullError(StoreError):
    """The store could not commit for lack of space (a full disk, a file size
    limit); nothing was committed, and the same work succeeds once there is room."""


class ManifestError(TamgaError):
    """A federation manifest, a proposal or a key revocation is not valid: the
    message says which version, which member or signature, and why."""


class QueueFullError(TamgaError):
    """Too many records are queued for a peer ([limits] max_queued); nothing of the submission was queued."""

    def __init__(
        self,
        message: str,
        *,
        peer: str,
        queued: int,
        adding: int,
        limit: int,
        last_delivery_at: float | None,
    ) -> None:
        super().__init__(message)
        self.peer = peer
        self.queued = queued
        self.adding = adding
        self.limit = limit
        self.last_delivery_at = last_delivery_at


class RoutingError(TamgaError):
    """A record has no recipient the node can deliver it to."""


class ValidationError(TamgaError):
    """A record is not acceptable for sending; ``problems`` lists each one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


class DeliveryError(TamgaError):
    """Delivery to a peer failed.

    Args:
        message: What failed.
        can_retry: False when trying again unchanged cannot succeed.
    """

    def __init__(self, message: str, *, can_retry: bool = True) -> None:
        super().__init__(message)
        self.can_retry = can_retry


class AdapterError(TamgaError):
    """An adapter could not translate its input.

    Args:
        message: What is wrong, in words for the national IT team.
        adapter: Name of the adapter.
        location: Where in the input: ``{"line": 3, "column": 7}``, an XPath,
            an EDIFACT segment, a JSON path. Keys are free-form strings.
    """

    def __init__(self, message: str, *, adapter: str = "", location: dict[str, object] | None = None) -> None:
        self.message = message
        self.adapter = adapter
        self.location = dict(location or {})
        where = ", ".join(f"{k} {v}" for k, v in self.location.items())
        prefix = f"{adapter} adapter: " if adapter else ""
        super().__init__(f"{prefix}{message}" + (f" (at {where})" if where else ""))

    def to_dict(self) -> dict[str, object]:
        """Machine-readable form, for error reports next to failed files."""
        return {"adapter": self.adapter, "message": self.message, "location": self.location}
