"""[retention] in tamga.toml: defaults, durations in days, and the checks made when the config loads."""

from __future__ import annotations

from pathlib import Path

import pytest
from tamga.config import format_duration, load_config, parse_duration
from tamga.errors import ConfigError

DAY = 86400.0


def home_with(tmp_path: Path, extra: str) -> Path:
    (tmp_path / "tamga.toml").write_text(f'[node]\nid = "KZ"\ncountry = "KZ"\n{extra}', "utf-8")
    return tmp_path


def test_defaults_keep_payloads_90_days_and_the_dedup_record_400_days(tmp_path: Path) -> None:
    r = load_config(home_with(tmp_path, "")).retention
    assert (r.delivered_payloads, r.dedup_horizon, r.purge_interval) == (90 * DAY, 400 * DAY, 3600.0)


def test_the_config_tamga_init_writes_states_the_defaults(tmp_path: Path) -> None:
    from tamga.config import render_config

    text = render_config(node_id="KZ", country="KZ", authority="A", listen="127.0.0.1:0", advertise=[], adapter="json")
    (tmp_path / "tamga.toml").write_text(text, "utf-8")
    cfg = load_config(tmp_path)
    assert (cfg.retention.delivered_payloads, cfg.retention.dedup_horizon) == (90 * DAY, 400 * DAY)
    assert (cfg.limits.max_envelope_age, cfg.limits.max_clock_skew) == (14 * DAY, 300.0)


def test_durations_take_days() -> None:
    assert parse_duration("14d", "x") == 14 * DAY
    assert parse_duration("1.5d", "x") == 1.5 * DAY
    assert format_duration(14 * DAY + 300) == "14d 5m"
    assert format_duration(0) == "0s"
    with pytest.raises(ConfigError, match="x: '-1d' is not a duration"):
        parse_duration("-1d", "x")


def test_retention_settings_are_read(tmp_path: Path) -> None:
    home = home_with(
        tmp_path, '[retention]\ndelivered_payloads = "0s"\ndedup_horizon = "30d"\npurge_interval = "10m"\n'
    )
    r = load_config(home).retention
    assert (r.delivered_payloads, r.dedup_horizon, r.purge_interval) == (0.0, 30 * DAY, 600.0)


def test_a_dedup_horizon_within_the_retry_horizon_is_refused_with_the_reason(tmp_path: Path) -> None:
    home = home_with(tmp_path, '[retention]\ndedup_horizon = "14d"\ndelivered_payloads = "1d"\n')
    with pytest.raises(ConfigError) as err:
        load_config(home)
    msg = str(err.value)
    assert msg.startswith(f"{home / 'tamga.toml'}: [retention] dedup_horizon = 14d must be longer than")
    assert "retry horizon 14d 5m ([limits] max_envelope_age 14d + max_clock_skew 5m)" in msg
    assert "refused STALE" in msg and "handed off twice" in msg


def test_the_retry_horizon_follows_the_limits_section(tmp_path: Path) -> None:
    ok = '[limits]\nmax_envelope_age = "2d"\nmax_clock_skew = "1m"\n[retention]\ndedup_horizon = "3d"\n'
    ok += 'delivered_payloads = "1d"\n'
    assert load_config(home_with(tmp_path, ok)).retention.dedup_horizon == 3 * DAY
    bad = '[limits]\nmax_envelope_age = "3d"\nmax_clock_skew = "1m"\n[retention]\ndedup_horizon = "3d"\n'
    bad += 'delivered_payloads = "1d"\n'
    with pytest.raises(ConfigError, match=r"dedup_horizon = 3d must be longer than the retry horizon 3d 1m"):
        load_config(home_with(tmp_path, bad))
    # Raising max_envelope_age past the default dedup horizon is refused as well.
    with pytest.raises(ConfigError, match=r"dedup_horizon = 400d must be longer than the retry horizon 401d 5m"):
        load_config(home_with(tmp_path, '[limits]\nmax_envelope_age = "401d"\n'))


def test_payloads_kept_longer_than_the_dedup_record_are_refused(tmp_path: Path) -> None:
    home = home_with(tmp_path, '[retention]\ndelivered_payloads = "500d"\n')
    with pytest.raises(ConfigError) as err:
        load_config(home)
    msg = str(err.value)
    assert "[retention] delivered_payloads = 500d is longer than dedup_horizon = 400d" in msg
    assert "set delivered_payloads to at most dedup_horizon" in msg


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ('[retention]\npurge_interval = "0s"\n', "[retention] purge_interval must be longer than 0"),
        ('[retention]\ndelivered_payloads = "-1d"\n', "[retention] delivered_payloads: '-1d' is not a duration"),
        ("[retention]\ndedup_horizon = 400\n", "[retention] dedup_horizon: 400 is not a duration"),
        ('[retention]\nkeep = "1d"\n', "[retention] has no key 'keep'"),
    ],
)
def test_bad_retention_values_name_the_key_and_file(tmp_path: Path, extra: str, expected: str) -> None:
    home = home_with(tmp_path, extra)
    with pytest.raises(ConfigError) as err:
        load_config(home)
    assert str(err.value).startswith(str(home / "tamga.toml"))
    assert expected in str(err.value)
