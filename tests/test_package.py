"""The library stands alone: importing every part of ssvae never imports Ray (only tune/ does)."""
import subprocess
import sys


def test_ssvae_never_imports_ray():
    code = ("import sys, ssvae, ssvae.training.loop, ssvae.train, ssvae.data, ssvae.models, "
            "ssvae.analysis, ssvae.results; "
            "bad = sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')); "
            "assert not bad, bad; print(ssvae.fit.__module__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ssvae.training.loop"
