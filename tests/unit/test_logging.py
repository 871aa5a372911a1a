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
