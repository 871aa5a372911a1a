"""Logging for the node, configured once.

Our own events go through a lean structlog pipeline (no stdlib logging on the
hot path: an event costs a few microseconds, which matters at thousands of
records a second). Records from libraries that use stdlib logging (gRPC,
asyncio) are rendered by the same renderer, so the output is one stream of
one format.

JSON lines when the output is not a terminal (a service manager, a file),
human-readable console output on a terminal. Events are snake_case, past
tense (``record_queued``), one per state change, carrying ``message_id``,
``peer`` and ``record_type`` where they apply. Never keys, never record
contents: callers pass ids and counts only.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog

__all__ = ["configure_logging", "get_logger", "reset_logging"]

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


_generation = 0


class _Logger:
    """A logger bound to ``logger=name`` that follows the configuration in force.

    Modules create their loggers at import, before :func:`configure_logging`
    runs; the bound logger is made on first use and again after each new
    configuration.
    """

    __slots__ = ("_bound", "_generation", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._bound: Any = None
        self._generation = -1

    def __getattr__(self, method: str) -> Any:
        if self._generation != _generation:
            self._bound = structlog.get_logger().bind(logger=self._name)
            self._generation = _generation
        return getattr(self._bound, method)


def get_logger(name: str) -> Any:
    """A logger whose events carry ``logger=name``."""
    return _Logger(name)


def configure_logging(level: str = "info", fmt: str = "auto", stream: TextIO | None = None) -> None:
    """Set up structlog and stdlib logging for the whole process.

    Args:
        level: debug, info, warning or error.
        fmt: "json", "console", or "auto" (console on a terminal, else JSON).
        stream: Where to write; standard error by default.
    """
    global _generation
    _generation += 1
    stream = stream or sys.stderr
    if fmt == "auto":
        fmt = "console" if stream.isatty() else "json"
    numeric = _LEVELS.get(level, logging.INFO)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any
    if fmt == "json":
        shared.append(structlog.processors.format_exc_info)
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=stream.isatty())
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.WriteLoggerFactory(file=stream),
        cache_logger_on_first_use=True,
    )
    # Libraries' stdlib records: same processors and renderer, same stream.
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)


def reset_logging() -> None:
    """Back to structlog's defaults and no stdlib handler (for tests)."""
    global _generation
    _generation += 1
    structlog.reset_defaults()
    logging.getLogger().handlers[:] = []
