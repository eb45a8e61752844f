"""What grants and the second factor add to a master login (issue 22,
item 6), side by side in one run on this machine: N masters (1,000) log
in once each, through Dovecot's auth-client socket (dms-bench load, 8
connections), as

  plain  masters with standing access, the password alone: the baseline
  grant  masters with dms_require_grant=yes, each opening its target
         through one of N grants in the grants file
  totp   masters with dms_totp=yes: the password and a current code,
         each code used once (the replay state of N masters, updated
         under its lock, on every login)

in interleaved rounds (the order turns by one each round), one Dovecot
each, all masters with the same SHA512-CRYPT hash; figures are the median
of the rounds. Each round's codes are of a step after the last round's
(a step is accepted once) and not behind the current one, so they stay
within the window for the whole round, however long it takes to start.
The module's own part is measured directly too (dms-bench access N).
Run by bench/run.sh and bench/run-2.4.sh; writes
docs/benchmarks-access-2.3.md or -2.4.md (printed only with --smoke)."""

import argparse
import base64
import hashlib
import os
import statistics
import subprocess
import sys
import time

TOP = os.environ["DMS_TOP"]
sys.path.insert(0, os.path.join(TOP, "tests/integration"))
from dovecot_env import (DOVECOT_GID, DOVECOT_VERSION, Dovecot,  # noqa
                         doveadm_pw, pick)
from test_totp import totp  # noqa: the tests' RFC 6238, Python's hmac

BENCH = os.path.join(TOP, "bench/dms-bench")
OUTPUT = os.path.join(TOP, pick("docs/benchmarks-access-2.3.md",
                                "docs/benchmarks-access-2.4.md"))
PW = "top-secret"
TARGET = "user@example.com"


def secret_for(i):
    raw = hashlib.sha1(b"bench-%d" % i).digest()
    return base64.b32encode(raw).decode().rstrip("=")


def make(kind, n, hashed):
    d = Dovecot("master", args="totp_state=%s" % "@STATE@")
    state = os.path.join(d.tmp, "state")
    os.mkdir(state)
    os.chown(state, 0, DOVECOT_GID)
    os.chmod(state, 0o770)
    with open(d.conf) as f:
        conf = f.read()
    with open(d.conf, "w") as f:
        f.write(conf.replace("@STATE@", os.path.join(state, "totp-state")))
    option = {"plain": "", "grant": "::::::dms_require_grant=yes",
              "totp": "::::::dms_totp=yes"}[kind]
    d.write_store("".join("m%04d:%s%s\n" % (i, hashed, option)
                          for i in range(n)))
    if kind == "grant":
        until = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                              time.gmtime(time.time() + 86400))
        d._replace(d.store + ".grants", "".join(
            "%016x|m%04d|%s|2020-01-01|%s|active|-|bench\n"
            % (i, i, TARGET, until) for i in range(n)))
    if kind == "totp":
        d._replace(d.store + ".totp", "".join(
            "m%04d|%s\n" % (i, secret_for(i)) for i in range(n)))
    return d


def logins(d, kind, n, step):
    path = os.path.join(d.tmp, "logins")
    with open(path, "w") as f:
        for i in range(n):
            pw = PW + (totp(secret_for(i), step) if kind == "totp" else "")
            f.write("%s*m%04d\t%s\n" % (TARGET, i, pw))
    return path


def totp_step(last):
    """The step of a round's codes: after LAST (None: none yet), and not
    behind the current step, so that the codes are accepted for at least
    30 s; when LAST is already a step ahead, waits for the next step."""
    while True:
        now = int(time.time() // 30)
        step = now if last is None else max(last + 1, now)
        if step <= now + 1:
            return step
        time.sleep((now + 1) * 30 - time.time() + 0.2)


def load(d, path, n):
    sock = os.path.join(d.tmp, "run", "auth-client")
    out = subprocess.run([BENCH, "load", sock, "@" + path, "-", "8", "600",
                          str(n)], capture_output=True, text=True,
                         timeout=660)
    if out.returncode != 0:
        raise RuntimeError("dms-bench load: %s\n%s" % (out.stderr,
                                                       d.log()[-3000:]))
    r = dict(kv.split("=") for kv in out.stdout.split())
    if int(r["failed"]) != 0 or int(r["requests"]) != n:
        raise RuntimeError("%s of %s logins failed:\n%s" % (
            r["failed"], r["requests"], d.log()[-3000:]))
    return {k: float(v) for k, v in r.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--masters", type=int, default=1000)
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    n = 100 if args.smoke else args.masters
    hashed = doveadm_pw(PW)
    kinds = ["plain", "grant", "totp"]
    servers = {k: make(k, n, hashed) for k in kinds}
    results = {k: [] for k in kinds}
    step = None
    try:
        for rnd in range(3):
            order = kinds[rnd:] + kinds[:rnd]
            for kind in order:
                d = servers[kind]
                if kind == "totp":
                    # chosen when the round begins, not at the start
                    step = totp_step(step)
                path = logins(d, kind, n, step)
                d.start()
                try:
                    results[kind].append(load(d, path, n))
                finally:
                    d.stop()
        micro = subprocess.run([BENCH, "access", str(n)], check=True,
                               capture_output=True, text=True,
                               timeout=600).stdout
        micro = {k: float(v) for k, v in
                 (kv.split("=") for kv in micro.split())}
    finally:
        for d in servers.values():
            d.cleanup()
    rate = {k: statistics.median(r["rate"] for r in results[k])
            for k in kinds}
    p50 = {k: statistics.median(r["p50_ms"] for r in results[k])
           for k in kinds}
    lines = ["# What grants and the second factor add to a master login",
             "",
             "Measured side by side in one run by `sh %s` on %s, %d cores "
             "(`nproc`), Dovecot %s. %d masters log in once each (AUTH "
             "PLAIN over 8 auth-client connections), 3 interleaved rounds, "
             "medians; the same SHA512-CRYPT hash for every master."
             % (pick("bench/run.sh", "bench/run-2.4.sh"),
                time.strftime("%Y-%m-%d"), os.cpu_count(),
                DOVECOT_VERSION.split()[0], n),
             "",
             "| scenario | logins/s | p50 ms | ratio to plain | every round, "
             "logins/s |",
             "| --- | ---: | ---: | ---: | --- |"]
    desc = {"plain": "plain: standing access, the password alone",
            "grant": "grant: dms_require_grant, one of %d grants" % n,
            "totp": "totp: dms_totp, password and code, replay state of "
                    "%d masters" % n}
    for k in kinds:
        lines.append("| %s | %.1f | %.2f | %.3f | %s |" % (
            desc[k], rate[k], p50[k], rate[k] / rate["plain"],
            " ".join("%.0f" % r["rate"] for r in results[k])))
    lines.append("")
    lines.append("- grant / plain = %.3f; totp / plain = %.3f."
                 % (rate["grant"] / rate["plain"],
                    rate["totp"] / rate["plain"]))
    lines.append("- The module's own part, measured directly (`dms-bench "
                 "access %d`): finding the grant among %d, %.2f us; "
                 "checking a code (liboath), %.2f us; recording its step in "
                 "the replay state of %d masters (read, rewrite, "
                 "fdatasync, under the lock), %.1f us. A plain master "
                 "login takes %.0f us of the auth process here (1 / plain's "
                 "rate: one auth process verifies, without auth-workers)."
                 % (n, n, micro["grant_find_us"], micro["totp_check_us"], n,
                    micro["totp_state_us"], 1e6 / rate["plain"]))
    lines.append("")
    text = "\n".join(lines)
    print(text)
    if args.smoke:
        print("access bench smoke: harness OK")
    else:
        with open(OUTPUT, "w") as f:
            f.write(text)
        print("written to " + OUTPUT)


if __name__ == "__main__":
    main()
