"""The gRPC shell: the ExchangeService servicer, the server, client channels.

Servicers only decode, call the node's services and encode; protocol
decisions live in :mod:`tamga.protocol`, storage in :mod:`tamga.store`.
"""

from tamga.transport._grpc import CHANNEL_OPTIONS, ExchangeServicer, build_server, open_channel

__all__ = ["CHANNEL_OPTIONS", "ExchangeServicer", "build_server", "open_channel"]
