"""The node's configuration: ``tamga.toml`` in the node directory.

One frozen class per section, defaults in code, durations as strings
("500ms", "30s", "5m", "1h"). Every error names the file, the key path and
what was expected. Paths are relative to the node directory. The config is
loaded once, at start, and passed down; nothing deeper reads the environment.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import stat
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from tamga.errors import ConfigError
from tamga.protocol import check_node_id

__all__ = [
    "CONFIG_NAME",
    "AdapterConfig",
    "Config",
    "DeliveryConfig",
    "FoldersConfig",
    "KeysConfig",
    "LimitsConfig",
    "LoggingConfig",
    "NodeConfig",
    "RetentionConfig",
    "ServerConfig",
    "StoreConfig",
    "check_permissions",
    "format_duration",
    "load_config",
    "parse_duration",
    "render_config",
    "writable_by_others",
]

CONFIG_NAME = "tamga.toml"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: object, where: str) -> float:
    """Seconds in a duration string such as "500ms", "30s", "5m", "1h", "14d".

    Raises:
        ConfigError: not a duration; the message names ``where``.
    """
    m = _DURATION.match(text) if isinstance(text, str) else None
    if not m:
        raise ConfigError(f'{where}: {text!r} is not a duration (write e.g. "500ms", "30s", "5m", "1h", "14d")')
    return float(m.group(1)) * _UNITS[m.group(2)]


def format_duration(seconds: float) -> str:
    """A duration as people write it in tamga.toml: "90d", "14d 5m", "1h", "0s"."""
    ms = round(seconds * 1000)
    parts = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        n, ms = divmod(ms, size)
        if n:
            parts.append(f"{n}{unit}")
    return " ".join(parts) or "0s"


@dataclass(frozen=True, slots=True)
class NodeConfig:
    id: str = ""
    country: str = ""
    authority: str = ""


@dataclass(frozen=True, slots=True)
class ServerConfig:
    listen: str = "127.0.0.1:7400"
    advertise: tuple[str, ...] = ()
    grace: float = 5.0
    # Development only: gRPC without TLS, in both directions. Never in a federation.
    plaintext: bool = False


@dataclass(frozen=True, slots=True)
class AdapterConfig:
    name: str = "json"
    # 0: the adapter's own choice (its ``records_per_file`` attribute, else 1).
    records_per_file: int = 0
    # Keyword arguments for the adapter's constructor ([adapter.options]); an
    # option whose name ends in "_file" is a path, relative to the node folder.
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FoldersConfig:
    outgoing: Path = Path("outgoing")
    processed: Path = Path("processed")
    failed: Path = Path("failed")
    incoming: Path = Path("incoming")
    peers: Path = Path("peers")
    run: Path = Path("run")


@dataclass(frozen=True, slots=True)
class StoreConfig:
    path: Path = Path("state/tamga.db")


@dataclass(frozen=True, slots=True)
class KeysConfig:
    signing: Path = Path("keys/signing.key")
    encryption: Path = Path("keys/encryption.key")
    # The node's TLS private key and self-signed certificate (pinned by peers).
    tls_key: Path = Path("keys/tls.key")
    tls_certificate: Path = Path("keys/tls.crt")
    # A file holding the passphrase of encrypted private key files; when unset,
    # the environment variable TAMGA_KEY_PASSPHRASE is used, if set.
    passphrase_file: Path = Path("")


@dataclass(frozen=True, slots=True)
class DeliveryConfig:
    batch_size: int = 256
    max_batch_bytes: int = 8 * 1024 * 1024
    max_in_flight: int = 4
    backoff_initial: float = 1.0
    backoff_max: float = 300.0
    receipt_timeout: float = 30.0
    connect_timeout: float = 10.0
    poll_interval: float = 0.5
    idle_close: float = 5.0


@dataclass(frozen=True, slots=True)
class LimitsConfig:
    max_envelope_bytes: int = 4 * 1024 * 1024
    max_file_bytes: int = 64 * 1024 * 1024
    # Freshness window: an envelope sealed longer ago than this is refused as
    # STALE (a replay, or a record queued too long); one sealed further than
    # max_clock_skew in the future too.
    max_envelope_age: float = 14 * 24 * 3600.0
    max_clock_skew: float = 300.0
    # Backpressure: most records queued (not yet answered by a receipt) for one
    # peer. A file that would take a peer's queue past it is refused whole
    # (moved to the failed folder with its report) until the peer catches up.
    max_queued: int = 1_000_000
    # A received sequence number further than this beyond the highest one
    # already received from its sender is refused SEQUENCE_OUT_OF_RANGE, not
    # recorded as a gap: a peer cannot make 'tamga status' show a gap of 10^18.
    max_sequence_jump: int = 1_000_000


@dataclass(frozen=True, slots=True)
class RetentionConfig:
    """How long delivered payloads and the dedup record are kept (see tamga.retention).

    Checked when the config loads: ``dedup_horizon`` must exceed the retry
    horizon ([limits] max_envelope_age + max_clock_skew) and be at least
    ``delivered_payloads``.
    """

    # A settled outbox envelope and a handed-off inbox envelope keep their
    # encrypted payload this long; 0: purged by the next purge run.
    delivered_payloads: float = 90 * 86400.0
    # A received envelope's (sender, message id, digest) is kept this long to
    # answer a retry DUPLICATE; after it the inbox row is deleted.
    dedup_horizon: float = 400 * 86400.0
    purge_interval: float = 3600.0
    # Rows of the refused log (envelopes refused from peers: digest, reason,
    # cut detail) are deleted this long after the refusal; the audit log keeps its entry.
    refused_log: float = 90 * 86400.0


@dataclass(frozen=True, slots=True)
class LoggingConfig:
    level: str = "info"
    format: str = "auto"


@dataclass(frozen=True, slots=True)
class Config:
    """A node's whole configuration, with paths made absolute."""

    home: Path
    node: NodeConfig
    server: ServerConfig = field(default_factory=ServerConfig)
    adapter: AdapterConfig = field(default_factory=AdapterConfig)
    folders: FoldersConfig = field(default_factory=FoldersConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    keys: KeysConfig = field(default_factory=KeysConfig)
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)

    @property
    def config_path(self) -> Path:
        return self.home / CONFIG_NAME

    def path(self, rel: Path) -> Path:
        return rel if rel.is_absolute() else self.home / rel


_SECTIONS: dict[str, type] = {
    "node": NodeConfig,
    "server": ServerConfig,
    "adapter": AdapterConfig,
    "folders": FoldersConfig,
    "store": StoreConfig,
    "keys": KeysConfig,
    "delivery": DeliveryConfig,
    "limits": LimitsConfig,
    "retention": RetentionConfig,
    "logging": LoggingConfig,
}
_DURATIONS = {
    "backoff_initial",
    "backoff_max",
    "receipt_timeout",
    "connect_timeout",
    "poll_interval",
    "idle_close",
    "grace",
    "max_envelope_age",
    "max_clock_skew",
    "delivered_payloads",
    "dedup_horizon",
    "purge_interval",
    "refused_log",
}


def _convert(section: str, key: str, value: Any, default: Any, where: str) -> Any:
    if section == "adapter" and key == "options":
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table ([adapter.options]), found {value!r}")
        for k, v in value.items():
            if not isinstance(v, str | int | float | bool):
                raise ConfigError(f"{where}.{k}: expected a string, number or true/false, found {v!r}")
        return dict(value)
    if key in _DURATIONS:
        return parse_duration(value, where)
    if isinstance(default, Path):
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where}: expected a path (a string), found {value!r}")
        return Path(value)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, found {value!r}")
        return value
    if isinstance(default, int):
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ConfigError(f"{where}: expected a positive whole number, found {value!r}")
        return value
    if isinstance(default, tuple):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: expected a list of strings, found {value!r}")
        return tuple(value)
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string, found {value!r}")
    return value


def load_config(home: Path) -> Config:
    """Read and check ``HOME/tamga.toml``.

    Raises:
        ConfigError: missing, unreadable, not TOML, unknown section or key,
            wrong type, or an invalid value; the message says where.
    """
    path = home / CONFIG_NAME
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(
            f"{path}: no node configuration here; create a node with "
            f"'tamga init {home} --id ID --country CC' or point --home at an existing node directory"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the configuration: {exc}") from exc
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    sections: dict[str, Any] = {}
    for name, table in doc.items():
        cls = _SECTIONS.get(name)
        if cls is None:
            raise ConfigError(f"{path}: unknown section [{name}]; known: {', '.join(_SECTIONS)}")
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [{name}] must be a table")
        defaults = cls()
        known = {f.name for f in fields(cls)}
        values = {}
        for key, value in table.items():
            where = f"{path}: [{name}] {key}"
            if key not in known:
                raise ConfigError(f"{path}: [{name}] has no key {key!r}; known: {', '.join(sorted(known))}")
            values[key] = _convert(name, key, value, getattr(defaults, key), where)
        sections[name] = cls(**values)
    node = sections.get("node")
    if node is None or not node.id:
        raise ConfigError(f"{path}: [node] id is required")
    try:
        check_node_id(node.id)
    except ValueError as exc:
        raise ConfigError(f"{path}: [node] id: {exc}") from exc
    if not re.fullmatch(r"[A-Z]{2}", node.country):
        raise ConfigError(
            f'{path}: [node] country must be an ISO 3166-1 alpha-2 code such as "KZ", found {node.country!r}'
        )
    server = sections.get("server", ServerConfig())
    _check_endpoint(server.listen, f"{path}: [server] listen")
    for ep in server.advertise:
        _check_endpoint(ep, f"{path}: [server] advertise")
    log = sections.get("logging", LoggingConfig())
    if log.level not in ("debug", "info", "warning", "error"):
        raise ConfigError(f"{path}: [logging] level must be debug, info, warning or error, found {log.level!r}")
    if log.format not in ("auto", "json", "console"):
        raise ConfigError(f"{path}: [logging] format must be auto, json or console, found {log.format!r}")
    delivery = sections.get("delivery", DeliveryConfig())
    if delivery.backoff_initial > delivery.backoff_max:
        raise ConfigError(f"{path}: [delivery] backoff_initial is longer than backoff_max")
    _check_retention(path, sections.get("retention", RetentionConfig()), sections.get("limits", LimitsConfig()))
    return Config(home=home.resolve(), **sections)


def _check_retention(path: Path, retention: RetentionConfig, limits: LimitsConfig) -> None:
    """The retention settings must keep every guarantee the node gives its peers.

    Raises:
        ConfigError: naming the key, the file and why.
    """
    if retention.purge_interval <= 0:
        raise ConfigError(f"{path}: [retention] purge_interval must be longer than 0, found 0")
    retry = limits.max_envelope_age + limits.max_clock_skew
    dedup = format_duration(retention.dedup_horizon)
    if retention.dedup_horizon <= retry:
        raise ConfigError(
            f"{path}: [retention] dedup_horizon = {dedup} must be longer than the retry horizon "
            f"{format_duration(retry)} ([limits] max_envelope_age {format_duration(limits.max_envelope_age)} + "
            f"max_clock_skew {format_duration(limits.max_clock_skew)}): a peer may retry an envelope until it is "
            "that old (older ones are refused STALE), so a received envelope must be remembered longer, or a late "
            "retry would be taken for a new record and handed off twice"
        )
    if retention.delivered_payloads > retention.dedup_horizon:
        raise ConfigError(
            f"{path}: [retention] delivered_payloads = {format_duration(retention.delivered_payloads)} is longer "
            f"than dedup_horizon = {dedup}: a received envelope's row, payload included, is deleted at the dedup "
            "horizon, so its payload cannot be kept longer; set delivered_payloads to at most dedup_horizon"
        )


# -- who may change what the node trusts ----------------------------------------------


def _trust_paths(config: Config) -> list[Path]:
    """The node folder and what in it decides what the node trusts, in the order they are reported.

    The configuration, the folders of the key files, the peers folder with
    the pinned identity files, and the federation folder with its manifests
    and revocations. Whoever may write one of them may make the node trust
    another key, peer or federation.
    """
    paths = [config.home, config.config_path]
    for rel in (
        config.keys.signing,
        config.keys.encryption,
        config.keys.tls_key,
        config.keys.tls_certificate,
        *([config.keys.passphrase_file] if str(config.keys.passphrase_file) not in ("", ".") else []),
    ):
        paths.append(config.path(rel).parent)
    peers = config.path(config.folders.peers)
    paths.append(peers)
    with contextlib.suppress(OSError):
        paths.extend(sorted(peers.glob("*.identity.json")))
    federation = config.home / "federation"
    paths.append(federation)
    for sub in ("manifests", "revocations"):
        paths.append(federation / sub)
        with contextlib.suppress(OSError):
            paths.extend(sorted(p for p in (federation / sub).iterdir() if p.is_file()))
    seen: dict[Path, None] = {}
    for p in paths:
        seen.setdefault(p, None)
    return list(seen)


def writable_by_others(config: Config) -> list[tuple[Path, int]]:
    """(path, mode) of each path that decides what the node trusts and that group or others may write.

    Symbolic links are followed (what counts is what the node reads); a path
    that does not exist is not reported.
    """
    found = []
    for path in _trust_paths(config):
        try:
            mode = os.stat(path).st_mode
        except OSError:
            continue
        if mode & (stat.S_IWGRP | stat.S_IWOTH):
            found.append((path, stat.S_IMODE(mode)))
    return found


def check_permissions(config: Config) -> None:
    """Refuse a node folder whose configuration, keys folder, peers or federation others may change.

    Raises:
        ConfigError: one line naming each such path, its mode and the command that fixes it.
    """
    found = writable_by_others(config)
    if not found:
        return
    listed = ", ".join(f"{path} (mode {mode:04o})" for path, mode in found)
    verb = "is" if len(found) == 1 else "are"
    raise ConfigError(
        f"{listed} {verb} writable by group or others: they could change the configuration, keys or peers "
        f"this node trusts; refusing to start. Run: chmod go-w {' '.join(shlex.quote(str(p)) for p, _ in found)}"
    )


def _check_endpoint(value: str, where: str) -> None:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"{where}: {value!r} is not host:port")


def render_config(
    *, node_id: str, country: str, authority: str, listen: str, advertise: list[str], adapter: str
) -> str:
    """The tamga.toml that ``tamga init`` writes, with every setting explained."""
    adv = ", ".join(f'"{a}"' for a in advertise)
    return f'''# Tamga node configuration. Paths are relative to this folder.

[node]
# Node id, unique in the federation; peers address this node by it.
id = "{node_id}"
# ISO 3166-1 alpha-2 of the customs service that runs this node.
country = "{country}"
authority = "{_toml_escape(authority)}"

[server]
# Address the node listens on for peers (gRPC).
listen = "{listen}"
# Endpoints written into this node's identity file, where peers connect.
advertise = [{adv}]
# How long a stopping node lets running exchanges finish.
grace = "5s"

[adapter]
# The adapter that translates between the national system's files and
# Tamga records ('tamga adapters list' shows the installed ones).
name = "{adapter}"
# Records per file written to the incoming folder. 1: a file per record.
# More: consecutive records of one sender share a file, if your system reads
# files holding several records. Unset: the adapter's choice (json: 1,
# protobuf: 256, since its files are a stream of records).
# records_per_file = 1

[folders]
# The national system writes files here (under a temporary name, then renamed).
outgoing = "outgoing"
# Files that were accepted and queued are moved here.
processed = "processed"
# Files that could not be accepted are moved here, each with NAME.error.json.
failed = "failed"
# Records that arrive from peers are written here, one file each.
incoming = "incoming"
peers = "peers"
run = "run"

[store]
path = "state/tamga.db"

[keys]
# Private keys: mode 0600, never share them. Peers get 'tamga identity export'.
signing = "keys/signing.key"
encryption = "keys/encryption.key"

[delivery]
batch_size = 256
max_in_flight = 4
backoff_initial = "1s"
backoff_max = "5m"
receipt_timeout = "30s"
poll_interval = "500ms"

[limits]
max_envelope_bytes = 4194304
max_file_bytes = 67108864
# Most records queued for one peer that has not acknowledged them; past it,
# new files are refused (moved to failed/) until the peer catches up.
max_queued = 1000000
# Freshness: envelopes sealed longer ago (or further in the future) are
# refused STALE. Their sum is the retry horizon (see [retention]).
max_envelope_age = "14d"
max_clock_skew = "5m"
# A received sequence number further than this beyond the highest one seen
# from its sender is refused SEQUENCE_OUT_OF_RANGE (never shown as a gap).
max_sequence_jump = 1000000

[retention]
# How long a delivered (or rejected) outgoing envelope and a handed-off
# incoming envelope keep their encrypted payload; after it only the digest,
# message id, state, times and the signed receipt remain. "0s": purge at the
# next run after delivery or hand-off.
delivered_payloads = "90d"
# How long a received envelope's (sender, message id, digest) is kept to
# answer a retry DUPLICATE; then its row is deleted. Must be longer than the
# retry horizon (max_envelope_age + max_clock_skew) and at least
# delivered_payloads.
dedup_horizon = "400d"
# How often the node purges (also once at start).
purge_interval = "1h"
# How long a refusal of a peer's envelope stays in the refused log (digest,
# reason code, detail cut to a few hundred bytes; at most 60 rows a minute
# per peer, the rest counted in one summary row). The audit log keeps its entry.
refused_log = "90d"

[logging]
level = "info"
# auto: console on a terminal, JSON otherwise.
format = "auto"
'''


def _toml_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
