"""What the session record costs (issue 21, item 5), side by side in one
run on this machine: a pull of a 10,000-message mailbox the way mbsync
does it (the UIDs, flags, sizes and Message-IDs of all, then each body by
its own pipelined UID FETCH), by

  none      a master logged in through Dovecot's own passwd-file master
            passdb: no session record (the dms_session plugin is not
            loaded), the baseline
  summary   a dms_master master, records at the summary level
  messages  a dms_master master with dms_record=messages
  owner     the mailbox's owner itself (the plugin is not loaded)

in interleaved rounds against one Dovecot, after a warm-up pull each; the
order turns by one each round, so each takes each place in a round
equally often. Figures: the median wall time of
a pull, and the median CPU time of the imap process that served it
(/proc/PID/schedstat, read before LOGOUT), and, in a second Dovecot
whose imap processes run under valgrind's cachegrind, the instructions
each pull's imap process ran (one pull each after a warm-up: the count is
the same from run to run, whatever else the machine does, where the wall
and CPU times of a shared machine vary by several percent). Ratios are
of the medians.
Run by bench/run.sh (inside scripts/in-namespace.sh) and
bench/run-2.4.sh; writes docs/benchmarks-sessions-2.3.md or -2.4.md
(printed only with --smoke)."""

import argparse
import os
import platform
import shutil
import socket
import statistics
import sys
import time

TOP = os.environ["DMS_TOP"]
sys.path.insert(0, os.path.join(TOP, "tests/integration"))
from dovecot_env import (MAIL_GID, MAIL_UID, Dovecot, doveadm_pw,  # noqa
                         pick, AUTH_PASSWD_FILE, DOVECOT_VERSION)

OUTPUT = os.path.join(TOP, pick("docs/benchmarks-sessions-2.3.md",
                                "docs/benchmarks-sessions-2.4.md"))
PW = "top-secret"
LOGINS = {
    "none": "user@example.com*plain",
    "summary": "user@example.com*admin",
    "messages": "user@example.com*admin2",
    "owner": "user@example.com",
}
BODY = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do "
        "eiusmod tempor incididunt ut labore et dolore magna aliqua.\r\n"
        * 24)


def make_mailbox(server, count):
    cur = os.path.join(server.tmp, "mail", "example.com", "user", "cur")
    new = os.path.join(server.tmp, "mail", "example.com", "user", "new")
    for name in os.listdir(new):
        os.unlink(os.path.join(new, name))
    for i in range(1, count + 1):
        path = os.path.join(cur, "%d.M%dP1.bench:2," % (1700000000 + i, i))
        with open(path, "w") as f:
            f.write("Message-ID: <m%d@example.com>\r\n"
                    "Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n"
                    "From: a@example.com\r\nTo: user@example.com\r\n"
                    "Subject: message %d\r\n\r\n%s" % (i, i, BODY))
        os.chown(path, MAIL_UID, MAIL_GID)


class Client:
    """A minimal pipelining IMAP client: enough for a pull."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=60)
        self.buf = b""
        self.tag = 0
        self.readline()

    def readline(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise RuntimeError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_bytes(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise RuntimeError("connection closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def send(self, command):
        self.tag += 1
        tag = b"a%d" % self.tag
        self.sock.sendall(tag + b" " + command + b"\r\n")
        return tag

    def wait(self, tag):
        """Read responses up to TAG's completion; untagged literal data is
        read and dropped."""
        while True:
            line = self.readline()
            while line.endswith(b"}") and b"{" in line:
                n = int(line[line.rindex(b"{") + 1:-1])
                self.read_bytes(n)
                line = self.readline()
            if line.startswith(tag + b" "):
                if not line.startswith(tag + b" OK"):
                    raise RuntimeError(line.decode())
                return

    def command(self, command):
        self.wait(self.send(command))


def imap_pid(server, mark):
    deadline = time.monotonic() + 10
    while "mpid=" not in server.log_since(mark):
        if time.monotonic() > deadline:
            raise RuntimeError("no login line")
        time.sleep(0.01)
    return int(server.log_since(mark).rsplit("mpid=", 1)[1].split(",")[0])


def cpu_ns(pid):
    with open("/proc/%d/schedstat" % pid) as f:
        return int(f.read().split()[0])


def pull(server, login, count, window=64):
    """One mbsync-like pull; (wall seconds, imap process CPU seconds)."""
    mark = server.log_mark()
    started = time.monotonic()
    c = Client(server.imap_port)
    c.command(b'LOGIN "%s" "%s"' % (login.encode(),
                                    (PW if "*" in login else
                                     "secret").encode()))
    pid = imap_pid(server, mark)
    c.command(b"SELECT INBOX")
    c.command(b"UID FETCH 1:* (UID FLAGS RFC822.SIZE "
              b"BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    pending = []
    for uid in range(1, count + 1):
        pending.append(c.send(b"UID FETCH %d (BODY.PEEK[])" % uid))
        if len(pending) >= window:
            c.wait(pending.pop(0))
    for tag in pending:
        c.wait(tag)
    cpu = cpu_ns(pid) / 1e9
    c.command(b"LOGOUT")
    wall = time.monotonic() - started
    c.sock.close()
    return wall, cpu


# the imap processes of the instruction count's Dovecot
CACHEGRIND = """
service imap {{
  executable = /usr/bin/valgrind --tool=cachegrind --cache-sim=no \
--cachegrind-out-file={out}/cg.%p /usr/lib/dovecot/imap
}}
"""


def make_server(count, extra=""):
    plain_store = "@TMP@/plain-masters"
    # the baseline's master: Dovecot's own passwd-file master passdb,
    # after dms_master (which answers "no such master" for it)
    server = Dovecot("master", args="audit_file=@AUDIT_FILE@",
                     extra=AUTH_PASSWD_FILE.format(store=plain_store) +
                     extra)
    hashed = doveadm_pw(PW)
    server.write_store("admin|%s\nadmin2|%s|dms_record=messages\n" %
                       (hashed, hashed))
    path = os.path.join(server.tmp, "plain-masters")
    with open(path, "w") as f:
        f.write("plain:%s::::::\n" % hashed)
    shutil.chown(path, "root", "dovecot")
    os.chmod(path, 0o640)
    make_mailbox(server, count)
    server.start()
    return server


def cachegrind_ir(path):
    """The instruction count of a cachegrind output file."""
    deadline = time.monotonic() + 60
    while True:
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith("summary:"):
                        return int(line.split()[1])
        except FileNotFoundError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("no cachegrind summary in %s" % path)
        time.sleep(0.2)


def instructions(count):
    """{name: instructions of its pull's imap process}."""
    out = "/tmp/dms-bench-cg"
    shutil.rmtree(out, ignore_errors=True)
    os.mkdir(out)
    os.chmod(out, 0o777)
    server = make_server(count, CACHEGRIND.format(out=out))
    try:
        result = {}
        for name in LOGINS:      # warm-up: indexes, caches
            pull(server, LOGINS[name], count)
        for name in LOGINS:
            mark = server.log_mark()
            pull(server, LOGINS[name], count)
            pid = int(server.log_since(mark).rsplit("mpid=", 1)[1]
                      .split(",")[0])
            result[name] = cachegrind_ir(os.path.join(out, "cg.%d" % pid))
        return result
    finally:
        server.cleanup()
        shutil.rmtree(out, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true",
                    help="a few seconds: check the harness, print only")
    ap.add_argument("--messages", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=12)
    args = ap.parse_args()
    count, rounds = ((200, 1) if args.smoke else
                     (args.messages, args.rounds))

    server = make_server(count)
    try:
        names = list(LOGINS)
        for name in names:           # warm-up: indexes, caches
            pull(server, LOGINS[name], count)
        walls = {n: [] for n in names}
        cpus = {n: [] for n in names}
        for r in range(rounds):
            # each pull in each position of a round equally often: the
            # first pull of a round is not always the same one
            for name in names[r % 4:] + names[:r % 4]:
                wall, cpu = pull(server, LOGINS[name], count)
                walls[name].append(wall)
                cpus[name].append(cpu)
        levels = {r.get("level") for r in server.session_records()
                  if r["event"] == "dms_master_session_started"}
        assert levels == {"summary", "messages"}, levels
        messages = len([r for r in server.session_records()
                        if r["event"] == "dms_master_session_message"])
    finally:
        server.cleanup()

    ir = instructions(count)
    # each round's own ratio to its "none" pull, then the median: drift
    # over the run (another process starting, the CPU's clock) cancels
    paired = {n: statistics.median(w / b for w, b in
                                   zip(walls[n], walls["none"]))
              for n in walls}
    wall = {n: statistics.median(v) for n, v in walls.items()}
    cpu = {n: statistics.median(v) for n, v in cpus.items()}
    rows = [
        ("none", "a master through Dovecot's passwd-file master passdb: "
         "no session record (baseline)"),
        ("summary", "a dms_master master, summary records"),
        ("messages", "a dms_master master, dms_record=messages"),
        ("owner", "the owner itself (the plugin is not loaded)"),
    ]
    out = ["# The session record's cost (Dovecot %s)" % DOVECOT_VERSION, "",
           "Measured side by side in one run by `bench/sessions.py` on %s, "
           "%d cores, Dovecot %s: a pull of a %d-message mailbox as mbsync "
           "does it (UIDs, flags, sizes and Message-IDs of all, then each "
           "body by its own pipelined `UID FETCH`), %d interleaved rounds "
           "(the order turning each round) after a warm-up pull each; "
           "medians." % (
               platform.node() or "this machine", os.cpu_count(),
               DOVECOT_VERSION, count, rounds), "",
           "| pull | wall s | imap CPU s | imap instructions (M) | "
           "wall / none | CPU / none | instructions / none |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, what in rows:
        out.append("| %s: %s | %.3f | %.3f | %.1f | %.3f | %.3f | %.4f |" % (
            name, what, wall[name], cpu[name], ir[name] / 1e6,
            wall[name] / wall["none"], cpu[name] / cpu["none"],
            ir[name] / ir["none"]))
    out += ["",
            "- Instructions: summary / none = %.4f, messages / none = %.4f, "
            "owner / none = %.4f. Targets: summary at most 1.05, messages "
            "at most 1.15, owner unchanged." % (
                ir["summary"] / ir["none"], ir["messages"] / ir["none"],
                ir["owner"] / ir["none"]),
            "- Wall: summary / none = %.3f, messages / none = %.3f, owner "
            "/ none = %.3f; CPU: %.3f, %.3f, %.3f; the median of each "
            "round's own wall ratio: %.3f, %.3f, %.3f (a shared machine: "
            "several percent of noise, owner / none shows how much)." % (
                wall["summary"] / wall["none"],
                wall["messages"] / wall["none"],
                wall["owner"] / wall["none"], cpu["summary"] / cpu["none"],
                cpu["messages"] / cpu["none"], cpu["owner"] / cpu["none"],
                paired["summary"], paired["messages"], paired["owner"]),
            "- The messages level wrote %d message records in the run." %
            messages, ""]
    text = "\n".join(out)
    print(text)
    if args.smoke:
        print("sessions bench smoke: harness OK")
        return
    with open(OUTPUT, "w") as f:
        f.write(text)
    print("written to %s" % OUTPUT)


if __name__ == "__main__":
    main()
