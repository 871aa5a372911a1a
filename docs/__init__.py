"""Tamga's documents that the code reads at run time (``tamga.docs``).

``requirements.md`` is the source of the federation requirements (FDX ids)
that the conformance suite checks and reports coverage of. It lives at the
repository root, where people read it, and is shipped inside the package so
an installed suite reads exactly the text it was released with:
``importlib.resources.files("tamga.docs") / "requirements.md"``.
"""
