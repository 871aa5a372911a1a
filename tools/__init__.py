"""Operator tools: the demo federation, the benchmark, code generation."""
