"""Access review (issue 21, item 4): "setup dovecot-master report" reads
the audit file and its rotated copies and prints, per master, the last
login, logins accepted and refused by rule, the mailboxes opened and the
messages read and changed; then the masters unused for N days and those
that never expire. Its figures are compared with sessions run here
against a real Dovecot."""

import gzip
import imaplib
import json
import os
import shutil
import subprocess

import pytest

from dovecot_env import TIMEOUT, TOP, Dovecot, doveadm_pw
from test_policy import PW, store_text

SETUP = os.environ.get("DMS_SETUP") or os.path.join(TOP, "src", "setup")


@pytest.fixture
def server():
    s = Dovecot("master", args="audit_file=@AUDIT_FILE@")
    s.hashed = doveadm_pw(PW)
    s.write_store(store_text({"admin": "", "backup": "",
                              "temp": "dms_expires=2099-01-01"},
                             s.hashed))
    s.start()
    yield s
    s.cleanup()


def report(server, *args):
    out = subprocess.run([SETUP, "--masters-file", server.store,
                          "dovecot-master", "report", "--audit-file",
                          server.audit, *args],
                         capture_output=True, text=True, timeout=TIMEOUT)
    return out


def sessions(server):
    """Two admin sessions (reads and changes), a wrong password and a
    refused service."""
    imap = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=TIMEOUT)
    imap.login("user@example.com*admin", PW)
    imap.select("INBOX")
    imap.fetch("1", "(BODY.PEEK[])")
    imap.store("1", "+FLAGS", "\\Flagged")
    imap.create("Archive")
    imap.copy("1", "Archive")
    imap.logout()
    imap = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=TIMEOUT)
    imap.login("user@example.com*admin", PW)
    imap.select("Archive", readonly=True)
    imap.fetch("1", "(BODY.PEEK[HEADER])")
    imap.logout()
    imap = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=TIMEOUT)
    with pytest.raises(imaplib.IMAP4.error):
        imap.login("user@example.com*admin", "wrong")
    imap.shutdown()
    server.wait_session_records(lambda rs: len(
        [r for r in rs if r["event"] == "dms_master_session_finished"])
        == 2)


def test_report_json_matches_the_sessions(server):
    sessions(server)
    out = report(server, "--json")
    # backup never logged in, admin and backup never expire: to review
    assert out.returncode == 4, out.stderr
    data = json.loads(out.stdout)
    admin = [m for m in data["masters"] if m["name"] == "admin"]
    assert len(admin) == 1
    admin = admin[0]
    records = server.session_records("admin")
    reads = sum(r.get("read", 0) for r in records)
    assert (admin["logins_accepted"], admin["logins_refused"],
            admin["refused_by_rule"], admin["sessions"]) == (
        2, 1, {"password": 1}, 2)
    assert admin["sessions_ended"] == {"logout": 2}
    assert sorted(admin["mailboxes"]) == ["user@example.com Archive",
                                          "user@example.com INBOX"]
    # one message read in each mailbox; flagged, created, copied
    assert (admin["messages_read"], reads) == (2, 2)
    assert admin["messages_changed"] == 3
    login = [r for r in server.audit_records()
             if r["stage"] == "session" and r["master"] == "admin"]
    assert admin["last_login"] == login[-1]["time"]
    assert data["unused"] == ["backup", "temp"]
    assert data["no_expiry"] == ["admin", "backup"]
    assert data["expires"] == {"temp": "2099-01-01T00:00:00Z"}
    assert data["invalid_lines"] == 0
    assert data["files"] == 1


def test_report_text_since_and_rotated_files(server):
    sessions(server)
    # a rotated copy, compressed, with one more accepted login and a
    # line that is not a record
    rotated = server.audit + ".1.gz"
    lines = [r for r in open(server.audit)
             if '"stage":"session"' in r and '"master":"admin"' in r][:1]
    with gzip.open(rotated, "wt") as f:
        f.write("".join(lines) + "not json\n")
    out = report(server)
    assert out.returncode == 4, out.stderr
    text = out.stdout
    assert "Access review of %s (2 files)" % server.audit in text
    assert "\nadmin\n" in text
    assert "  logins: 3 accepted, 1 refused (password 1)\n" in text
    assert "  sessions: 2 (logout 2)\n" in text
    assert ("  mailboxes opened: user@example.com INBOX, "
            "user@example.com Archive\n") in text
    assert "  messages: 2 read, 3 changed\n" in text
    assert "Unused for 90 days: backup, temp\n" in text
    assert "Without an expiry: admin, backup\n" in text
    assert "Warning: 1 lines were not audit records\n" in text
    # nothing since tomorrow
    out = report(server, "--since", "2099-01-01", "--json")
    data = json.loads(out.stdout)
    assert data["masters"] == [] and data["since"] == "2099-01-01T00:00:00"


def test_report_nothing_to_review(server, tmp_path):
    store = tmp_path / "masters"
    store.write_text("admin|%s|dms_expires=2099-01-01\n" % server.hashed)
    sessions(server)
    out = subprocess.run([SETUP, "--masters-file", str(store),
                          "dovecot-master", "report", "--audit-file",
                          server.audit, "--unused-days", "1"],
                         capture_output=True, text=True, timeout=TIMEOUT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Unused for 1 days: none\n" in out.stdout
    assert "Without an expiry: none\n" in out.stdout


def test_report_errors(server, tmp_path):
    out = report(server, "--since", "yesterday")
    assert out.returncode == 2 and "--since yesterday" in out.stderr
    out = report(server, "--unused-days", "0")
    assert out.returncode == 2
    out = report(server, "--bogus")
    assert out.returncode == 2
    unreadable = tmp_path / "dir"
    unreadable.mkdir()
    out = subprocess.run([SETUP, "--masters-file", server.store,
                          "dovecot-master", "report", "--audit-file",
                          str(unreadable)],
                         capture_output=True, text=True, timeout=TIMEOUT)
    assert out.returncode == 1
