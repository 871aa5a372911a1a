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

Logging never stops the node's work: the log often lives on the disk the
node fills, and a line that cannot be written (no space left, a file size
limit, an I/O error) is dropped and counted instead of raising into the
receive, hand-off or delivery that logged it. The first line written again
is preceded by one ``log_lines_lost`` line saying how many are missing.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
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


class _Output:
    """The log stream as the renderers see it: whole lines, and never an exception.

    Where the stream has a file descriptor each line goes straight to it with
    ``os.write``: a buffered stream that failed to flush would keep the bytes
    and write them later, so nobody could tell which lines are missing. A line
    cut short by the failure (the disk filled in its middle) is ended before the
    next one is written, so the lines after it stay whole.
    """

    def __init__(self, stream: TextIO, lost_line: Callable[[int], str]) -> None:
        self._stream = stream
        self._lost_line = lost_line
        self._lock = threading.Lock()
        self._lost = 0
        self._cut = False
        self._encoding = getattr(stream, "encoding", None) or "utf-8"
        try:
            stream.flush()
            self._fd: int | None = stream.fileno()
        except (OSError, ValueError, AttributeError):  # io.StringIO and the like: no descriptor
            self._fd = None

    def isatty(self) -> bool:
        return self._stream.isatty()

    def write(self, text: str) -> int:
        with self._lock:
            data = text
            if self._lost:
                data = self._lost_line(self._lost) + "\n" + data
            if self._cut:
                data = "\n" + data
            try:
                self._put(data)
            except OSError:
                self._lost += max(1, text.count("\n"))
                return len(text)
            self._lost = 0
            self._cut = False
            return len(text)

    def _put(self, data: str) -> None:
        if self._fd is None:
            self._stream.write(data)
            self._stream.flush()
            return
        encoded = data.encode(self._encoding, "backslashreplace")
        view = memoryview(encoded)
        while view:
            try:
                view = view[os.write(self._fd, view) :]
            except OSError:
                self._cut = self._cut or len(view) < len(encoded)
                raise

    def flush(self) -> None:
        """Each write is already flushed (or counted lost)."""


def _escape_for_terminal(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    """Every value of ``event`` as text that cannot move the cursor or reorder a line (console output only).

    A traceback keeps its line breaks; every other value is shown on its line.
    The ``_record`` and ``_from_structlog`` keys of stdlib records are left for
    structlog's formatter, which removes them.
    """
    from tamga.terminal import safe

    out: dict[str, Any] = {}
    for key, value in event.items():
        if isinstance(value, bool | int | float) or value is None or key.startswith("_"):
            out[key] = value
        else:
            out[key] = safe(value, newlines=key in ("exception", "stack"))
    return out


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
        # json.dumps' ensure_ascii (the default) escapes every control character, C1 and bidi override.
        renderer = structlog.processors.JSONRenderer()
    else:
        # The console is a terminal: text a peer controls (a sender id, a gRPC status message, a
        # receipt's detail) is escaped before it reaches it, tracebacks included.
        shared.extend([structlog.processors.format_exc_info, _escape_for_terminal])
        renderer = structlog.dev.ConsoleRenderer(colors=stream.isatty())

    def lost_line(count: int) -> str:
        event = {"logger": "tamga.logging", "lines": count, "event": "log_lines_lost"}
        for step in shared[1:]:
            event = step(None, "warning", event)
        return str(renderer(None, "warning", event))

    output = _Output(stream, lost_line)
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.WriteLoggerFactory(file=output),
        cache_logger_on_first_use=True,
    )
    # Libraries' stdlib records: same processors and renderer, same stream.
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(output)
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
