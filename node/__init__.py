"""Tamga: a federated node for exchanging sealed, signed customs records.

The package is laid out as the design asks:

* :mod:`tamga.protocol` — the protocol core, with no I/O;
* :mod:`tamga.crypto` — all cryptography (the only user of PyNaCl);
* :mod:`tamga.store` — the SQLite store (outbox, inbox, receipts, dedup);
* :mod:`tamga.outbound` — one delivery loop per peer;
* :mod:`tamga.transport` — the gRPC server and client shells;
* :mod:`tamga.app` — the Node that wires them together;
* :mod:`tamga.cli` — the ``tamga`` command;
* :mod:`tamga.v1` — generated protobuf code for ``proto/tamga/v1``;
* :mod:`tamga.adapters` — the adapter SDK and built-in adapters.
"""

__version__ = "0.1.0"
