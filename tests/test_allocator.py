"""backend.keep_freed_memory: glibc keeps freed memory for reuse (fewer page faults per step)."""
import platform
import subprocess
import sys

import pytest

from tinygrad_rnn import backend


def _glibc():
    return platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not _glibc(), reason="mallopt is glibc's")
def test_keep_freed_memory_takes_effect_on_glibc():
    assert backend.keep_freed_memory() is True


def test_import_can_leave_the_allocator_alone():
    # with the opt-out set, importing must not call mallopt: check by patching ctypes.CDLL first
    code = ("import ctypes, os; os.environ['TINYGRAD_RNN_MALLOC'] = 'default'\n"
            "calls = []\n"
            "real = ctypes.CDLL\n"
            "ctypes.CDLL = lambda *a, **k: calls.append(a) or real(*a, **k)\n"
            "import tinygrad_rnn\n"
            "print(len(calls))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"


def test_the_readme_and_the_api_reference_say_what_importing_changes_and_how_to_opt_out():
    import pathlib
    root = pathlib.Path(__file__).resolve().parent.parent
    for page in (root / "README.md", root / "docs" / "api.md"):
        text = page.read_text(encoding="utf-8")
        assert "mallopt" in text and "TINYGRAD_RNN_MALLOC=default" in text, page.name
    assert "TINYGRAD_RNN_MALLOC=default" in (root / "tinygrad_rnn" / "backend.py").read_text()
