"""Hypothesis profiles: ``ci`` (the default, used by ``make test`` and ``.ci/run``) is
derandomized, so a run's examples depend only on the code and a failure found once fails every
run until fixed; ``fuzz`` (``make fuzz``) draws fresh random examples, many more of them, to find
what the fixed ones miss. ``SILKROUTE_HYPOTHESIS_PROFILE`` picks one;
``SILKROUTE_FUZZ_SCALE`` multiplies every test's example count (default 1, 10 under ``fuzz``)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

PROFILE = os.environ.get("SILKROUTE_HYPOTHESIS_PROFILE", "ci")
_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow], "print_blob": True}

settings.register_profile("ci", derandomize=True, database=None, **_COMMON)
settings.register_profile("fuzz", derandomize=False, **_COMMON)
if PROFILE not in ("ci", "fuzz"):
    raise RuntimeError(f"SILKROUTE_HYPOTHESIS_PROFILE={PROFILE!r}: use ci or fuzz")
settings.load_profile(PROFILE)

_SCALE = float(os.environ.get("SILKROUTE_FUZZ_SCALE", "10" if PROFILE == "fuzz" else "1"))


def examples(count: int) -> int:
    """A test's example count under the current profile (``count`` in CI)."""
    return max(1, round(count * _SCALE))
