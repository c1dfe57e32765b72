"""Test configuration: Hypothesis profiles and the device every device-agnostic test runs on.

Profiles: ``ci`` (derandomized, bounded, used by .ci/run), ``dev`` (default locally) and
``thorough`` (many more examples: ``pytest --hypothesis-profile=thorough``).
Devices: a test that takes a ``device`` argument runs once per device. By default those are
``cpu`` and ``fake`` (the CuPy stand-in in ``tinygrad_rnn.testing.fakecupy``: arrays that refuse
implicit conversion to NumPy, so code that would break on a GPU breaks here too).
``pytest --device cuda`` runs them on a GPU; ``--device cpu,fake,cuda`` picks several.
"""
import os

import pytest
from hypothesis import HealthCheck, settings

from tinygrad_rnn.testing import fakecupy

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=25,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, max_examples=25,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", deadline=None, max_examples=1000,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

DEFAULT_DEVICES = ["cpu", "fake"]

# Registered at import, before any test module is collected, so "fake" is a device everywhere.
fakecupy.install()


def pytest_addoption(parser):
    parser.addoption("--device", default=None,
                     help="comma-separated devices for device-parametrised tests "
                          f"(default: {','.join(DEFAULT_DEVICES)}; e.g. --device cuda)")


def _devices(config):
    opt = config.getoption("--device")
    return [d.strip() for d in opt.split(",") if d.strip()] if opt else DEFAULT_DEVICES


def pytest_generate_tests(metafunc):
    if "device" in metafunc.fixturenames:
        metafunc.parametrize("device", _devices(metafunc.config))
