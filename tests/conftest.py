"""Test configuration: Hypothesis profiles and the device every device-agnostic test runs on.

Profiles: ``ci`` (derandomized, bounded, used by .ci/run), ``dev`` (default locally) and
``thorough`` (many more examples: ``pytest --hypothesis-profile=thorough``).
Devices: ``pytest --device cuda`` runs the suite on a GPU; ``--device cpu,fake`` picks several.
"""
import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=25,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, max_examples=25,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", deadline=None, max_examples=1000,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_addoption(parser):
    parser.addoption("--device", default=None,
                     help="comma-separated devices for device-parametrised tests (default: cpu)")


def _devices(config):
    opt = config.getoption("--device")
    return [d.strip() for d in opt.split(",")] if opt else ["cpu"]


def pytest_generate_tests(metafunc):
    if "device" in metafunc.fixturenames:
        metafunc.parametrize("device", _devices(metafunc.config))
