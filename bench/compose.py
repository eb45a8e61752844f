"""docs/benchmarks.md: both Dovecot versions' runs, docs/benchmarks-2.3.md
(bench/run.sh on the host) and docs/benchmarks-2.4.md (bench/run-2.4.sh
in the Debian 13 root), with their ratios side by side. Each run measures
its own baseline, Dovecot's passwd-file master passdb, in the same run;
ratios from different runs are not compared with each other.

    python3 bench/compose.py"""

import os
import re

DOCS = os.path.join(os.path.dirname(__file__), "..", "docs")
RATIOS = [
    ("a / c: dms_master as master passdb / passwd-file",
     r"^- a / c = ([0-9.]+);"),
    ("b / c: self-splitting / passwd-file", r"; b / c = ([0-9.]+) \(one"),
    ("a+blocking / c: on every core (auth-workers)",
     r"^- With blocking=yes: a / c = ([0-9.]+),"),
    ("d1 / d0: ordinary logins, dms_master first / absent",
     r"first in the chain run at ([0-9.]+) of"),
    ("audit: the module's part, us a login",
     r"the module's part of that is ([0-9.]+) us"),
    ("l / a+blocking: masters in LDAP (cache 5 s) / the file store",
     r"^- l / a\+blocking = ([0-9.]+);"),
    ("l0 / a+blocking: masters in LDAP (no cache) / the file store",
     r"; l0 / a\+blocking = ([0-9.]+) "),
    ("l / p+blocking: masters in LDAP (cache 5 s) / Dovecot's ldap "
     "master passdb, both in auth-workers", r"^- l / p\+blocking = ([0-9.]+);"),
    ("l0 / p+blocking: masters in LDAP (no cache) / the same",
     r"; l0 / p\+blocking = ([0-9.]+) "),
    ("l / p: masters in LDAP (cache 5 s) / Dovecot's ldap master passdb "
     "in the auth process (its default)", r"^- l / p = ([0-9.]+);"),
]


def read(version):
    with open(os.path.join(DOCS, "benchmarks-%s.md" % version)) as f:
        text = f.read()
    measured = re.search(r"^Measured side by side in one run by .*? on "
                         r"(\S+), .*?Dovecot (\S+?)\.? Each", text, re.M)
    return text, measured.group(2), measured.group(1)


def main():
    runs = {v: read(v) for v in ("2.3", "2.4")}
    out = ["# Benchmarks", "",
           "`sh bench/run.sh` measures on the host's Dovecot 2.3 and in the "
           "Debian 13 root's Dovecot 2.4 (`bench/run-2.4.sh`), each side by "
           "side with Dovecot's own passwd-file master passdb in the same "
           "run, and writes this file. A ratio compares two figures of one "
           "run; the absolute rates of the two runs are not comparable.", "",
           "| ratio | Dovecot %s (%s) | Dovecot %s (%s) |"
           % (runs["2.3"][1], runs["2.3"][2], runs["2.4"][1], runs["2.4"][2]),
           "| --- | ---: | ---: |"]
    for label, pattern in RATIOS:
        cells = []
        for v in ("2.3", "2.4"):
            m = re.search(pattern, runs[v][0], re.M)
            cells.append(m.group(1) if m else "?")
        out.append("| %s | %s | %s |" % (label, cells[0], cells[1]))
    out.append("")
    for v in ("2.3", "2.4"):
        body = runs[v][0].split("\n", 1)[1]
        # one level down, under the version's heading
        body = re.sub(r"^(#+) ", r"#\1 ", body, flags=re.M)
        out.append("## Dovecot %s (`docs/benchmarks-%s.md`)\n%s"
                   % (runs[v][1], v, body.rstrip()))
        out.append("")
    # the session record's cost (bench/sessions.py) and what grants and
    # TOTP add (bench/access.py), where measured
    for part in ("sessions", "access"):
        for v in ("2.3", "2.4"):
            name = "benchmarks-%s-%s.md" % (part, v)
            if not os.path.exists(os.path.join(DOCS, name)):
                continue
            with open(os.path.join(DOCS, name)) as f:
                text = f.read()
            body = re.sub(r"^(#+) ", r"#\1 ", text, flags=re.M)
            out.append("%s\n(`docs/%s`)\n" % (body.rstrip(), name))
    with open(os.path.join(DOCS, "benchmarks.md"), "w") as f:
        f.write("\n".join(out))
    print("written to docs/benchmarks.md")


if __name__ == "__main__":
    main()
