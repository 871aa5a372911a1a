"""The gRPC shell: the ExchangeService servicer, the server, client channels, TLS.

Servicers only decode, call the node's services and encode; protocol
decisions live in :mod:`tamga.protocol`, storage in :mod:`tamga.store`.
"""

from tamga.transport._grpc import CHANNEL_OPTIONS, ExchangeServicer, build_server, open_channel
from tamga.transport._tls import (
    TLS_NAME_SUFFIX,
    TLS_VALIDITY_DAYS,
    ServerTls,
    TlsIdentity,
    certificate_fingerprint,
    check_peer_certificate,
    client_credentials,
    create_tls_files,
    encrypt_tls_key_file,
    generate_tls_identity,
    is_encrypted_tls_key,
    load_tls_files,
    presented_fingerprint,
    tls_name,
)

__all__ = [
    "CHANNEL_OPTIONS",
    "TLS_NAME_SUFFIX",
    "TLS_VALIDITY_DAYS",
    "ExchangeServicer",
    "ServerTls",
    "TlsIdentity",
    "build_server",
    "certificate_fingerprint",
    "check_peer_certificate",
    "client_credentials",
    "create_tls_files",
    "encrypt_tls_key_file",
    "generate_tls_identity",
    "is_encrypted_tls_key",
    "load_tls_files",
    "open_channel",
    "presented_fingerprint",
    "tls_name",
]
