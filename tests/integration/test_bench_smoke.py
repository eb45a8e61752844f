"""The benchmark's harness works (a few seconds; the figures are not
checked here: see bench/run.sh and docs/benchmarks.md)."""

import os
import subprocess


def run_smoke(script, banner, names):
    """SCRIPT --smoke: it says BANNER and has a row for every scenario
    in NAMES."""
    top = os.environ["DMS_TOP"]
    p = subprocess.run(["/usr/bin/python3", os.path.join(top, script),
                        "--smoke"], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert banner in p.stdout
    for name in names:
        assert "| " + name in p.stdout, p.stdout


def test_bench_smoke():
    run_smoke("bench/bench.py", "bench smoke: harness OK",
              ("a:", "b:", "c:", "a+blocking:", "b+blocking:", "d0:", "d1:",
               "d0p:", "d1p:", "e:"))


def test_sessions_bench_smoke():
    """bench/sessions.py: the session record's cost, side by side."""
    run_smoke("bench/sessions.py", "sessions bench smoke: harness OK",
              ("none:", "summary:", "messages:", "owner:"))


def test_access_bench_smoke():
    """bench/access.py: what grants and TOTP add to a master login."""
    run_smoke("bench/access.py", "access bench smoke: harness OK",
              ("plain:", "grant:", "totp:"))
