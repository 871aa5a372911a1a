"""Tamga's conformance suite: what a national customs IT team runs before it joins the federation.

Two modes share one catalogue of cases, each tied to requirements of
docs/requirements.md (FDX ids):

- ``tamga conformance adapter NAME``: the suite plays the node around an
  adapter and checks translation, mapping, scripts, boundaries and refusals;
- ``tamga conformance node --target HOST:PORT``: the suite plays a peer
  against a live node, both directions.

The suite is a pytest plugin (:mod:`tamga.conformance.plugin`), so it also
runs under plain pytest. Cases are declared with :func:`case`; a run's
results form one :class:`Run`, from which the console summary, JUnit XML,
JSON, HTML and the signed report are drawn.
"""

from __future__ import annotations

from tamga.conformance._capability import Capabilities, CapabilityError, derive_for_adapter, load_capabilities
from tamga.conformance._catalogue import SUITE_VERSION, CaseSpec, CatalogueError, case, cases_for, registry
from tamga.conformance._model import CaseResult, Run, Severity, Status
from tamga.conformance._runner import run

__all__ = [
    "SUITE_VERSION",
    "Capabilities",
    "CapabilityError",
    "CaseResult",
    "CaseSpec",
    "CatalogueError",
    "Run",
    "Severity",
    "Status",
    "case",
    "cases_for",
    "derive_for_adapter",
    "load_capabilities",
    "registry",
    "run",
]
