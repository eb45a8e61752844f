"""Sessions end when access ends (issue 21, item 3): a master deleted,
disabled, expired, made read-only, or whose dms_allow, dms_deny,
dms_ports or dms_services no longer allow an open session has that session ended by the dms-session
service, which checks every open master session every 2 s; "setup
dovecot-master kick NAME" ends them at once. IDLE sessions included, on
both Dovecot versions; the target's own sessions and other masters'
sessions are untouched. Each end is in the session record with why."""

import datetime
import imaplib
import os
import subprocess
import time

import pytest

from dovecot_env import TIMEOUT, TOP, Dovecot, doveadm_pw
from test_policy import PW, store_text

SETUP = os.environ.get("DMS_SETUP") or os.path.join(TOP, "src", "setup")
OWNER = ("user@example.com", "secret")
# the bound the README states: the check's interval (2 s) and the time a
# mail process has to end before it is sent SIGTERM (3 s), with room for
# a busy machine
BOUND = 10


@pytest.fixture
def server():
    # the store in a directory of its own (one test makes it untrusted)
    s = Dovecot("master", args="audit_file=@AUDIT_FILE@",
                store_dir="masters")
    s.hashed = doveadm_pw(PW)
    s.masters = {"admin": "", "backup": ""}
    s.write_store(store_text(s.masters, s.hashed))
    s.start()
    yield s
    s.cleanup()


def idle(server, login):
    imap = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=TIMEOUT)
    imap.login(*login)
    imap.select("INBOX")
    tag = imap._new_tag().decode()
    imap.send(("%s IDLE\r\n" % tag).encode())
    assert imap.readline().startswith(b"+")
    return imap


def wait_closed(imap, timeout):
    """Read until the server closes the connection; what it sent."""
    imap.sock.settimeout(timeout)
    data = b""
    while True:
        chunk = imap.sock.recv(4096)
        if not chunk:
            return data
        data += chunk


def still_open(imap):
    imap.send(b"DONE\r\n")
    assert b"OK" in imap.readline()
    assert imap.noop()[0] == "OK"
    imap.logout()


def ended(server, master, how):
    records = server.wait_session_records(
        lambda rs: any(r["event"] == "dms_master_session_finished" and
                       r["master"] == master for r in rs), timeout=BOUND)
    end = [r for r in records if r["master"] == master and
           r["event"] == "dms_master_session_finished"][-1]
    assert end["how"] == how, end
    return end


def in_seconds(n):
    t = datetime.datetime.now(datetime.timezone.utc) + \
        datetime.timedelta(seconds=n)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


CHANGES = {
    # name: (admin's new options or None for deleted, the reason)
    "deleted": (None, "deleted"),
    "disabled": ("dms_disabled=yes", "disabled"),
    "expired": ("dms_expires=2020-01-01", "expires"),
    "allow": ("dms_allow=*@example.org", "allow"),
    "services": ("dms_services=pop3", "services"),
    "read_only": ("dms_read_only=yes", "read_only"),
    "deny": ("dms_deny=user@example.com", "deny"),
    # the session came in on the harness's IMAP listener
    "ports": ("dms_ports=1", "ports"),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_store_change_ends_the_masters_sessions(server, change):
    options, reason = CHANGES[change]
    owner = idle(server, OWNER)
    admin = idle(server, ("user@example.com*admin", PW))
    backup = idle(server, ("user@example.com*backup", PW))
    masters = dict(server.masters)
    if options is None:
        del masters["admin"]
    else:
        masters["admin"] = options
    changed = time.monotonic()
    server.write_store(store_text(masters, server.hashed))
    data = wait_closed(admin, BOUND)
    elapsed = time.monotonic() - changed
    assert b"BYE" in data
    assert elapsed < BOUND
    print("%s: session ended %.2f s after the change" % (change, elapsed))
    end = ended(server, "admin", "revoked")
    assert end["reason"] == reason
    assert server.wait_log(0, "ending the master session of admin: "
                              "revoked (%s)" % reason)
    # the owner's own session and the other master's go on
    still_open(owner)
    still_open(backup)
    assert not any(r["master"] == "backup" and
                   r["event"] == "dms_master_session_finished" and
                   r["how"] != "logout" for r in server.session_records())


def test_expiry_passing_ends_the_session(server):
    masters = dict(server.masters, admin="dms_expires=" + in_seconds(4))
    server.write_store(store_text(masters, server.hashed))
    admin = idle(server, ("user@example.com*admin", PW))
    data = wait_closed(admin, 4 + BOUND)
    assert b"BYE" in data
    assert ended(server, "admin", "revoked")["reason"] == "expires"


def test_store_that_cannot_be_read_ends_sessions(server):
    """Fail closed: a store the service may not trust (a directory on its
    way writable by others) cannot confirm access."""
    admin = idle(server, ("user@example.com*admin", PW))
    os.chmod(os.path.dirname(server.store), 0o777)
    try:
        assert b"BYE" in wait_closed(admin, BOUND)
    finally:
        os.chmod(os.path.dirname(server.store), 0o755)
    end = ended(server, "admin", "revoked")
    assert end["reason"].startswith("the store cannot confirm access: ")


def kick(server, name):
    return subprocess.run([SETUP, "--base-dir",
                           os.path.join(server.tmp, "run"),
                           "dovecot-master", "kick", name],
                          capture_output=True, text=True, timeout=TIMEOUT)


def test_kick_ends_idle_master_sessions_only(server):
    owner = idle(server, OWNER)
    admin = idle(server, ("user@example.com*admin", PW))
    backup = idle(server, ("user@example.com*backup", PW))
    started = time.monotonic()
    out = kick(server, "admin")
    assert out.returncode == 0, out.stderr
    assert out.stdout == "1 session of admin ended\n"
    assert b"BYE" in wait_closed(admin, BOUND)
    print("kick: session ended %.2f s after the command" %
          (time.monotonic() - started))
    end = ended(server, "admin", "kicked")
    assert end["reason"] == "setup dovecot-master kick"
    still_open(owner)
    still_open(backup)
    # no session left: nothing to end
    out = kick(server, "admin")
    assert (out.returncode, out.stdout) == (0, "0 sessions of admin ended\n")


def test_kick_without_dovecot_fails(tmp_path):
    out = subprocess.run([SETUP, "--base-dir", str(tmp_path),
                          "dovecot-master", "kick", "admin"],
                         capture_output=True, text=True, timeout=TIMEOUT)
    assert out.returncode == 1
    assert "cannot reach the dms-session service" in out.stderr


def test_kick_usage(tmp_path):
    out = subprocess.run([SETUP, "dovecot-master", "kick"],
                         capture_output=True, text=True, timeout=TIMEOUT)
    assert out.returncode == 2
    out = subprocess.run([SETUP, "email", "kick", "a@example.com"],
                         capture_output=True, text=True, timeout=TIMEOUT)
    assert out.returncode == 2
