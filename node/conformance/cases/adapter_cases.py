"""Adapter-mode cases: the suite plays the node around one adapter and its sample files.

Every case runs a check of :mod:`tamga.adapters.sdk.testing` on each sample,
the same checks the built-in adapters' own tests and the tests ``tamga
adapter new`` writes call, so an adapter is certified on exactly what its
authors could run before. A case checks every sample before it gives its
verdict, and names each sample that failed.

All cases apply to protocol version 1 (records of ``tamga.v1``) and run
after SCH-001: when the samples do not decode into valid records, round
trips, refusals and boundaries have nothing sound to start from, and they
are BLOCKED rather than failed for the same cause.

Transcripts hold sample names, sizes, digests, counts, field paths and
codes, never the contents of a sample or a record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tamga.adapters.sdk import testing
from tamga.conformance._capability import Capabilities
from tamga.conformance._catalogue import case
from tamga.conformance.plugin import AdapterUnderTest, Transcript
from tamga.errors import AdapterError

SAMPLES_VALID = "SCH-001"

#: The cases check records of schema tamga.v1, so protocol version 1 only; a
#: later version's records get their cases reviewed before they apply to it.
V1 = (1, 1)

Check = Callable[[Any, Path], object]


def _each_sample(
    samples: Sequence[Path], aut: AdapterUnderTest, transcript: Transcript, check: Check, what: str
) -> list[object]:
    """Run ``check`` on every sample; record each; fail naming every sample that failed.

    An :class:`AdapterError` or any other exception from the adapter while it
    handles a valid sample is a failure of that sample, said with its type.
    """
    failures: list[str] = []
    results: list[object] = []
    for path in samples:
        data = path.read_bytes()
        facts: dict[str, object] = {"sample": path.name, "bytes": len(data), "sha256": hashlib.sha256(data).digest()}
        try:
            got = check(aut.for_sample(path), path)
        except AssertionError as exc:
            text = str(exc).strip() or f"{path.name}: {what} failed"
            failures.append(text)
            transcript.step(f"{what}: {path.name} failed", **facts, reason=text.splitlines()[0])
            continue
        except AdapterError as exc:
            failures.append(f"{path.name}: {what}: the adapter refused its own sample: {exc}")
            transcript.step(f"{what}: {path.name} refused by the adapter", **facts, location=_where(exc))
            continue
        except Exception as exc:
            failures.append(f"{path.name}: {what}: the adapter raised {type(exc).__name__}: {exc}")
            transcript.step(f"{what}: {path.name} raised {type(exc).__name__}", **facts)
            continue
        if isinstance(got, testing.Checked):
            facts.update(variants=got.variants, **got.details)
        transcript.step(f"{what}: {path.name} passed", **facts)
        results.append(got)
    if failures:
        heads = "; ".join(f.splitlines()[0] for f in failures)
        raise AssertionError(f"{len(failures)} of {len(samples)} samples failed: {heads}\n\n" + "\n\n".join(failures))
    return results


def _where(exc: AdapterError) -> str:
    return ", ".join(f"{k} {v}" for k, v in exc.location.items() if k != "file") or "nowhere"


# -- records and schema ------------------------------------------------------------------


@case(
    "SCH-001",
    "Every sample decodes into valid records, and the samples hold every record type the statement declares",
    requirements=("FDX-SCH-1",),
    mode="adapter",
    protocol=V1,
)
def test_sch_001(
    samples: Sequence[Path], adapter_under_test: AdapterUnderTest, capabilities: Capabilities, transcript: Transcript
) -> None:
    found: dict[str, int] = {}

    def decode(adapter: Any, path: Path) -> testing.Checked:
        records = testing.check_sample(adapter, path)
        kinds = [r.WhichOneof("body") or "" for r in records]
        for kind in kinds:
            found[kind] = found.get(kind, 0) + 1
        return testing.Checked(len(records), {"records": str(len(records)), "types": ", ".join(sorted(set(kinds)))})

    _each_sample(samples, adapter_under_test, transcript, decode, "decode and validate")
    declared = set(capabilities.record_types)
    missing = sorted(declared - found.keys())
    extra = sorted(found.keys() - declared)
    transcript.step("record types", declared=", ".join(sorted(declared)), in_samples=", ".join(sorted(found)))
    assert not missing, (
        f"the statement declares {', '.join(missing)}, but no sample holds one (add a sample of each type sent)"
    )
    assert not extra, (
        f"the samples decode into {', '.join(extra)}, which the statement does not declare (the node would send it)"
    )


@case(
    "SCH-002",
    "A record missing a mandatory field is refused, with an error giving the field path",
    requirements=("FDX-SCH-2",),
    mode="adapter",
    protocol=V1,
    negative=True,
    after=(SAMPLES_VALID,),
)
def test_sch_002(samples: Sequence[Path], adapter_under_test: AdapterUnderTest, transcript: Transcript) -> None:
    done = _each_sample(
        samples, adapter_under_test, transcript, testing.check_missing_field_refused, "mandatory fields"
    )
    assert any(isinstance(d, testing.Checked) and d.variants for d in done), (
        "no sample has a mandatory field to leave out, so refusal could not be checked"
    )


@case(
    "SCH-004",
    "A file in the wrong encoding or in another format is refused with a located error",
    requirements=("FDX-SCH-4",),
    mode="adapter",
    protocol=V1,
    negative=True,
    after=(SAMPLES_VALID,),
)
def test_sch_004(
    samples: Sequence[Path], adapter_under_test: AdapterUnderTest, adapter: Any, transcript: Transcript
) -> None:
    _each_sample(samples, adapter_under_test, transcript, testing.check_wrong_encoding_refused, "wrong encoding")
    done = testing.check_wrong_format_refused(adapter)
    transcript.step("files of other formats refused", variants=done.variants, **done.details)


@case(
    "SCH-005",
    "An XML file with a DTD, an external entity or an entity bomb is refused; nothing is fetched or expanded",
    requirements=("FDX-ADP-7",),
    mode="adapter",
    protocol=V1,
    negative=True,
    needs=("feature:xml",),
    after=(SAMPLES_VALID,),
)
def test_sch_005(samples: Sequence[Path], adapter_under_test: AdapterUnderTest, transcript: Transcript) -> None:
    _each_sample(samples, adapter_under_test, transcript, testing.check_hostile_xml_refused, "hostile XML")


@case(
    "SCH-006",
    "A unit, currency or country code no list holds is refused, with an error naming the code",
    requirements=("FDX-SCH-6",),
    mode="adapter",
    protocol=V1,
    negative=True,
    after=(SAMPLES_VALID,),
)
def test_sch_006(samples: Sequence[Path], adapter_under_test: AdapterUnderTest, transcript: Transcript) -> None:
    done = _each_sample(samples, adapter_under_test, transcript, testing.check_unknown_codes_refused, "unknown codes")
    assert any(isinstance(d, testing.Checked) and d.variants for d in done), (
        "no unit, currency or country code of the samples could be found in the national files, so refusal of"
        " unknown codes could not be checked"
    )


# -- adapters ----------------------------------------------------------------------------


@case(
    "ADP-001",
    "Every sample decodes to records that encode back and decode again to the same records",
    requirements=("FDX-ADP-1",),
    mode="adapter",
    protocol=V1,
    after=(SAMPLES_VALID,),
)
def test_adp_001(samples: Sequence[Path], adapter_under_test: AdapterUnderTest, transcript: Transcript) -> None:
    def round_trip(adapter: Any, path: Path) -> testing.Checked:
        records = testing.check_records_round_trip(adapter, path)
        return testing.Checked(1, {"records": str(len(records))})

    _each_sample(samples, adapter_under_test, transcript, round_trip, "round trip")


@case(
    "ADP-002",
    "Every field of a sample the adapter maps is written back; the others are declared not mapped",
    requirements=("FDX-ADP-2",),
    mode="adapter",
    protocol=V1,
    severity="SHOULD",
    after=(SAMPLES_VALID,),
)
def test_adp_002(samples: Sequence[Path], adapter_under_test: AdapterUnderTest, transcript: Transcript) -> None:
    def coverage(adapter: Any, path: Path) -> testing.Checked:
        compared = testing.check_fields_kept(adapter, path)
        declared = len(getattr(adapter, "unmapped_fields", ()) or ())
        return testing.Checked(1, {"fields_compared": str(compared), "declared_unmapped_patterns": str(declared)})

    _each_sample(samples, adapter_under_test, transcript, coverage, "mapping coverage")


@case(
    "ADP-003",
    "Malformed input raises a located AdapterError and returns no records; arbitrary bytes raise nothing else",
    requirements=("FDX-ADP-3", "FDX-SCH-4"),
    mode="adapter",
    protocol=V1,
    negative=True,
    after=(SAMPLES_VALID,),
)
def test_adp_003(
    samples: Sequence[Path],
    adapter_under_test: AdapterUnderTest,
    adapter: Any,
    fuzz_examples: int,
    transcript: Transcript,
) -> None:
    _each_sample(samples, adapter_under_test, transcript, testing.check_malformed_refused, "truncated")
    testing.check_random_bytes(adapter, samples, examples=fuzz_examples)
    transcript.step("arbitrary and damaged bytes raised only AdapterError", examples=fuzz_examples)


@case(
    "ADP-004",
    "National scripts and diacritics survive the round trip unchanged",
    requirements=("FDX-ADP-4",),
    mode="adapter",
    protocol=V1,
    after=(SAMPLES_VALID,),
)
def test_adp_004(samples: Sequence[Path], adapter_under_test: AdapterUnderTest, transcript: Transcript) -> None:
    scripts = {**testing.SCRIPTS, **testing.DIACRITICS}

    def survive(adapter: Any, path: Path) -> testing.Checked:
        testing.check_scripts_survive(adapter, path, scripts, text_only=True)
        return testing.Checked(len(scripts), {"scripts": ", ".join(scripts)})

    _each_sample(samples, adapter_under_test, transcript, survive, "scripts")


@case(
    "ADP-005",
    "Boundary values survive the round trip: lengths, decimals without rounding, zero quantities, times in UTC",
    requirements=("FDX-ADP-5",),
    mode="adapter",
    protocol=V1,
    after=(SAMPLES_VALID,),
)
def test_adp_005(samples: Sequence[Path], adapter_under_test: AdapterUnderTest, transcript: Transcript) -> None:
    _each_sample(samples, adapter_under_test, transcript, testing.check_boundary_values, "boundary values")


@case(
    "ADP-008",
    "A record the format cannot carry is refused by name; encode never writes a partial file",
    requirements=("FDX-ADP-8",),
    mode="adapter",
    protocol=V1,
    negative=True,
    after=(SAMPLES_VALID,),
)
def test_adp_008(samples: Sequence[Path], adapter_under_test: AdapterUnderTest, transcript: Transcript) -> None:
    _each_sample(samples, adapter_under_test, transcript, testing.check_encode_whole_or_nothing, "whole or nothing")


@case(
    "ADP-009",
    "Decoding the same file twice gives the same records with the same record ids",
    requirements=("FDX-ADP-9",),
    mode="adapter",
    protocol=V1,
    after=(SAMPLES_VALID,),
)
def test_adp_009(samples: Sequence[Path], adapter_under_test: AdapterUnderTest, transcript: Transcript) -> None:
    _each_sample(samples, adapter_under_test, transcript, testing.check_decoding_is_stable, "stable decoding")
