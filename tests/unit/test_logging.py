"""Logging: JSON lines for machines, loggers made at import follow the configuration."""

from __future__ import annotations

import io
import json

from tamga.logging import configure_logging, get_logger

made_at_import = get_logger("tamga.test_import")


def test_a_logger_made_before_configuration_writes_json_lines_to_the_configured_stream() -> None:
    out = io.StringIO()
    configure_logging("info", "json", stream=out)
    made_at_import.info("record_delivered", message_id="m-1", peer="UZ", record_type="declaration_snapshot")
    made_at_import.debug("not_shown")
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    event = json.loads(lines[0])
    assert event["event"] == "record_delivered"
    assert event["logger"] == "tamga.test_import"
    assert (event["message_id"], event["peer"], event["record_type"]) == ("m-1", "UZ", "declaration_snapshot")
    assert event["level"] == "info"
    assert event["timestamp"].endswith("Z")


def test_a_new_configuration_takes_effect_for_existing_loggers() -> None:
    first, second = io.StringIO(), io.StringIO()
    log = get_logger("tamga.test_reconfigure")
    configure_logging("info", "json", stream=first)
    log.info("one")
    configure_logging("warning", "json", stream=second)
    log.info("two")
    log.warning("three")
    assert [json.loads(x)["event"] for x in first.getvalue().splitlines()] == ["one"]
    assert [json.loads(x)["event"] for x in second.getvalue().splitlines()] == ["three"]


def test_console_format_on_request() -> None:
    out = io.StringIO()
    configure_logging("info", "console", stream=out)
    get_logger("tamga.test_console").info("node_started", node="KZ")
    text = out.getvalue()
    assert "node_started" in text and "node" in text
    assert not text.lstrip().startswith("{")


def test_console_output_escapes_text_a_peer_controls() -> None:
    import logging

    out = io.StringIO()
    configure_logging("info", "console", stream=out)
    get_logger("tamga.test_console").warning("envelope_refused", sender="UZ\x1b[2J\x1b[H", detail="ok\u202e\x9b31m")
    logging.getLogger("grpc").warning("peer said %s", "\x1b]0;title\x07")
    try:
        raise ValueError("bad \x1b[2J")
    except ValueError:
        get_logger("tamga.test_console").exception("handler_failed")
    text = out.getvalue()
    for raw in ("\x1b", "\x9b", "\u202e", "\x07"):
        assert raw not in text, repr(text)
    assert "UZ\\x1b[2J\\x1b[H" in text and "ok\\u202e\\x9b31m" in text and "\\x1b]0;title\\x07" in text
    assert "Traceback" in text and "bad \\x1b[2J" in text  # the traceback keeps its lines, escaped


def test_json_output_escapes_control_characters_and_keeps_the_text() -> None:
    out = io.StringIO()
    configure_logging("info", "json", stream=out)
    get_logger("tamga.test_json").warning("envelope_refused", sender="UZ\x1b[2J\u202e\x9b")
    line = out.getvalue()
    for raw in ("\x1b", "\x9b", "\u202e"):
        assert raw not in line
    assert json.loads(line)["sender"] == "UZ\x1b[2J\u202e\x9b"
