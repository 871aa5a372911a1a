"""The conformance cases, one module per mode.

Importing a module registers its cases in the catalogue
(:func:`tamga.conformance.registry`): ``adapter_cases`` for adapter mode,
``node_cases`` for node mode. Each case is a pytest test function declared
with :func:`tamga.conformance.case`; its fixtures are defined in the same
module or provided by :mod:`tamga.conformance.plugin`.
"""
