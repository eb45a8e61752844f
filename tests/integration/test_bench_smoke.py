"""The benchmark's harness works (a few seconds; the figures are not
checked here: see bench/run.sh and docs/benchmarks.md)."""

import os
import subprocess


def test_bench_smoke():
    top = os.environ["DMS_TOP"]
    p = subprocess.run(["/usr/bin/python3", os.path.join(top, "bench/bench.py"),
                        "--smoke"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "bench smoke: harness OK" in p.stdout
    # every scenario answered
    for name in ("a:", "b:", "c:", "a+blocking:", "b+blocking:", "d0:", "d1:", "d0p:", "d1p:",
                 "e:"):
        assert "| " + name in p.stdout, p.stdout


def test_sessions_bench_smoke():
    """bench/sessions.py: the session record's cost, side by side."""
    top = os.environ["DMS_TOP"]
    p = subprocess.run(["/usr/bin/python3",
                        os.path.join(top, "bench/sessions.py"), "--smoke"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "sessions bench smoke: harness OK" in p.stdout
    for name in ("none:", "summary:", "messages:", "owner:"):
        assert "| " + name in p.stdout, p.stdout


def test_access_bench_smoke():
    """bench/access.py: what grants and TOTP add to a master login."""
    top = os.environ["DMS_TOP"]
    p = subprocess.run(["/usr/bin/python3",
                        os.path.join(top, "bench/access.py"), "--smoke"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "access bench smoke: harness OK" in p.stdout
    for name in ("plain:", "grant:", "totp:"):
        assert "| " + name in p.stdout, p.stdout
