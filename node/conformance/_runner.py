"""A conformance run from code or from ``tamga conformance ...``: pytest with the plugin, in this process.

Why in this process (``pytest.main``) and not a pytest subprocess:

- the exit status is exactly the plugin's verdict, and the :class:`Run` the
  plugin built comes back to the caller as an object, not re-read from disk;
- no second interpreter has to be found: the suite checks the adapter that
  this Python imports, the same one the node would load;
- the run is still isolated from wherever it is started: no configuration
  file or ``conftest.py`` of the current folder is read (``-c /dev/null``,
  ``--noconftest``), ``PYTEST_ADDOPTS`` is ignored, third-party pytest
  plugins are not loaded (``PYTEST_DISABLE_PLUGIN_AUTOLOAD``: a plugin that
  reorders or reruns tests would change a certification run), and no
  ``.pytest_cache`` is written.

Input that cannot work (an unknown adapter, a missing samples folder, a bad
capability statement, signing a development run) is refused before pytest
starts, as a :class:`ConformanceUsageError` naming what is wrong; the CLI
prints it in one line and exits 2.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tamga.conformance._model import Run
from tamga.errors import TamgaError

__all__ = ["EXIT_FAIL", "EXIT_PASS", "EXIT_USAGE", "ConformanceUsageError", "Outcome", "run"]

EXIT_PASS, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class ConformanceUsageError(TamgaError):
    """A conformance run that cannot start: bad options or input, named in one line."""


@dataclass(frozen=True)
class Outcome:
    """What a run gives back.

    Attributes:
        exit_code: 0 verdict PASS, 1 anything else (failures, nothing ran,
            results differing from the plan, an interrupted run), 2 usage errors.
        run: The results, or None when the run did not get as far as a plan.
    """

    exit_code: int
    run: Run | None


class _Keep:
    """A plugin object that keeps the session's config so its Run can be returned."""

    def __init__(self) -> None:
        self.config: Any = None

    def pytest_configure(self, config: Any) -> None:
        self.config = config


@contextmanager
def _isolated_environment() -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in ("PYTEST_ADDOPTS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD", "PYTEST_PLUGINS")}
    os.environ.pop("PYTEST_ADDOPTS", None)
    os.environ.pop("PYTEST_PLUGINS", None)
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _check(
    mode: str,
    adapter: str | None,
    samples: Path | None,
    capabilities: Path | None,
    cases: Sequence[str],
    sign_with: Path | None,
) -> None:
    from tamga.conformance import plugin
    from tamga.conformance._capability import load_capabilities

    if mode not in plugin.CASE_MODULES:
        raise ConformanceUsageError(f"unknown conformance mode {mode!r} (modes: {', '.join(plugin.CASE_MODULES)})")
    if sign_with is not None and any(c.strip() for c in cases):
        raise ConformanceUsageError(
            "--sign-with: a development run (--case) is not valid for certification and is never signed"
        )
    if sign_with is not None and not Path(sign_with).is_dir():
        raise ConformanceUsageError(f"--sign-with {sign_with}: no such node directory")
    patterns = [c for c in cases if c.strip()]
    if patterns:
        from tamga.conformance._catalogue import cases_for, select

        try:
            plugin.module_file(mode)
            select(cases_for(mode), patterns)
        except TamgaError as exc:
            raise ConformanceUsageError(" ".join(str(exc).split())) from None
    defaults: dict[str, bool] = {}
    if mode == "adapter":
        try:
            setup, _aut, _samples = plugin.prepare_adapter(adapter or "", str(samples) if samples else None)
        except TamgaError as exc:
            raise ConformanceUsageError(" ".join(str(exc).split())) from None
        defaults = setup.feature_defaults
    if capabilities is not None:
        try:
            load_capabilities(capabilities, defaults=defaults)
        except TamgaError as exc:
            raise ConformanceUsageError(" ".join(str(exc).split())) from None


def run(
    mode: str,
    *,
    adapter: str | None = None,
    samples: Path | None = None,
    capabilities: Path | None = None,
    report_dir: Path | None = Path("conformance-report"),
    strict: bool = False,
    cases: Sequence[str] = (),
    sign_with: Path | None = None,
    examples: int | None = None,
    extra_args: Sequence[str] = (),
    verbose: bool = False,
) -> Outcome:
    """Run the suite in one mode and return the exit code and the results.

    Args:
        mode: ``adapter`` or ``node``.
        adapter: Adapter mode: an installed adapter's name, or ``module:Class``.
        samples: Adapter mode: folder of sample files (default: the adapter's own).
        capabilities: Capability statement (TOML); derived when None.
        report_dir: Where the reports go; None writes none.
        strict: A failed SHOULD case fails the run.
        cases: Development run: ids or globs to run (with their prerequisites).
        sign_with: A node directory whose identity key signs the report.
        examples: Examples for the fuzzing cases (default: the plugin's).
        extra_args: Further pytest arguments, such as the node mode's own options.
        verbose: One line per case and long tracebacks.

    Raises:
        ConformanceUsageError: the options or input cannot make a run.
    """
    import pytest
    from tamga.conformance import plugin

    _check(mode, adapter, samples, capabilities, cases, sign_with)
    module = plugin.module_file(mode)
    args = [
        "-c", os.devnull, "--rootdir", str(module.parents[2]), "--noconftest", "-p", "no:cacheprovider",
        "--tb", "long" if verbose else "short", "-v" if verbose else "-q", "--no-header",
        "--tamga-mode", mode,
    ]  # fmt: skip
    if report_dir is not None:
        args += ["--tamga-report-dir", str(report_dir)]
    else:
        args += ["--tamga-report-dir", ""]
    if adapter:
        args += ["--tamga-adapter", adapter]
    if samples is not None:
        args += ["--tamga-samples", str(samples)]
    if capabilities is not None:
        args += ["--tamga-capabilities", str(capabilities)]
    if strict:
        args.append("--tamga-strict")
    for pattern in cases:
        args += ["--tamga-case", pattern]
    if sign_with is not None:
        args += ["--tamga-sign-with", str(sign_with)]
    if examples is not None:
        args += ["--tamga-examples", str(examples)]
    args += [*extra_args, str(module)]
    keep = _Keep()
    with _isolated_environment():
        code = pytest.main(args, plugins=[plugin, keep])
    result = plugin.run_of(keep.config) if keep.config is not None else None
    if code == pytest.ExitCode.OK:
        return Outcome(EXIT_PASS, result)
    if code == pytest.ExitCode.USAGE_ERROR:
        return Outcome(EXIT_USAGE, result)
    return Outcome(EXIT_FAIL, result)
