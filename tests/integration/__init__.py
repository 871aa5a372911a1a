"""Integration tests: real in-process nodes, real SQLite stores, real gRPC on loopback."""
