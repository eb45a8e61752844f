"""The session record of master sessions (issue 21, item 1):
what a master session read and changed, written by the dms-session
service (root) to the audit file from what the dms_session mail plugin
(loaded in master sessions only) sends it. Real IMAP and POP3 clients
against a real Dovecot, both versions; each scenario's records are
compared with what the client did."""

import imaplib
import os
import poplib
import signal
import subprocess
import time

import pytest

from dovecot_env import (MAIL_GID, MAIL_UID, TIMEOUT, TOP, Dovecot, pick)

SETUP = os.environ.get("DMS_SETUP") or os.path.join(TOP, "src", "setup")
MASTER = ("user@example.com*admin", "top-secret")
OWNER = ("user@example.com", "secret")
MSGID = "<first@example.com>"
# 2026-12-01T10:00:00Z
INTERNALDATE = 1796119200
# the plugin's settings: a flush interval of 1 s so the crash test waits
# little
SETTINGS = pick("""
plugin {
  dms_session_record = %s
  dms_session_flush_interval = 1s
}
""", """
dms_session_record = %s
dms_session_flush_interval = 1s
""")


def make_server(level="summary", extra=""):
    s = Dovecot("master", args="audit_file=@AUDIT_FILE@",
                extra=SETTINGS % level + extra)
    # one message with the headers a messages-level record names
    maildir = os.path.join(s.tmp, "mail", "example.com", "user", "cur")
    for name in os.listdir(os.path.join(s.tmp, "mail", "example.com",
                                        "user", "new")):
        os.unlink(os.path.join(s.tmp, "mail", "example.com", "user",
                               "new", name))
    path = os.path.join(maildir, "1.M1P1.test:2,")
    with open(path, "w") as f:
        f.write("Message-ID: %s\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000"
                "\r\nFrom: a@example.com\r\nSubject: secret subject\r\n"
                "\r\nsecret body\r\n" % MSGID)
    os.chown(path, MAIL_UID, MAIL_GID)
    # maildir's INTERNALDATE: the file's mtime
    os.utime(path, (INTERNALDATE, INTERNALDATE))
    return s


@pytest.fixture
def server():
    s = make_server()
    s.start()
    yield s
    s.cleanup()


@pytest.fixture
def messages_server():
    s = make_server("messages")
    s.start()
    yield s
    s.cleanup()


def finished(records, n=1):
    return len([r for r in records
                if r["event"] == "dms_master_session_finished"]) >= n


def by_mailbox(records):
    """The mailbox records summed per mailbox, without the fields every
    record has."""
    out = {}
    for r in records:
        if r["event"] != "dms_master_session_mailbox":
            continue
        box = out.setdefault(r["mailbox"], {})
        for k, v in r.items():
            if k in ("time", "event", "session", "master", "user",
                     "service", "remote_ip", "pid", "process_uid",
                     "mailbox"):
                continue
            box[k] = box.get(k, 0) + v if isinstance(v, int) else v
    return out


def imap_session(server):
    imap = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=TIMEOUT)
    imap.login(*MASTER)
    imap.select("INBOX")
    # flags and size alone: not a read
    assert imap.fetch("1", "(FLAGS RFC822.SIZE)")[0] == "OK"
    typ, data = imap.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert b"secret subject" in data[0][1]
    typ, data = imap.fetch("1", "(BODY.PEEK[])")
    assert b"secret body" in data[0][1]
    assert imap.search(None, "BODY", "secret")[1] == [b"1"]
    assert imap.store("1", "+FLAGS", "\\Flagged")[0] == "OK"
    assert imap.create("Saved")[0] == "OK"
    assert imap.copy("1", "Saved")[0] == "OK"
    assert imap.status("Saved", "(MESSAGES)")[0] == "OK"
    imap.logout()


def test_imap_summary(server):
    imap_session(server)
    records = server.wait_session_records(finished)
    assert {r["event"] for r in records} == {
        "dms_master_session_started", "dms_master_session_mailbox",
        "dms_master_session_finished"}
    started = records[0]
    assert started["event"] == "dms_master_session_started"
    assert (started["master"], started["user"], started["service"],
            started["level"], started["read_only"]) == (
        "admin", "user@example.com", "imap", "summary", False)
    assert started["process_uid"] == MAIL_UID
    # linked to the login's records by the session id
    login = [r for r in server.audit_records() if r["stage"] == "session"]
    assert login[-1]["session"] == started["session"]
    assert all(r["session"] == started["session"] for r in records)

    boxes = by_mailbox(records)
    assert boxes["INBOX"]["access"] == "select"
    assert boxes["INBOX"]["read"] == 1  # one message, read twice
    assert boxes["INBOX"]["searches"] == 1
    assert boxes["INBOX"]["flags_changed"] == 1
    assert boxes["INBOX"]["bytes"] > 0
    assert "copied" not in boxes["INBOX"]
    assert boxes["Saved"] == {"access": "status", "created": 1, "copied": 1}

    end = records[-1]
    assert end["event"] == "dms_master_session_finished"
    assert (end["how"], end["messages_read"], end["messages_changed"]) == (
        "logout", 1, 3)
    # what Dovecot's logout line says the session sent (imap's out=):
    # the message twice and the answers around it
    assert end["bytes_out"] > 2 * boxes["INBOX"]["bytes"]
    # never the content or the subject
    text = open(server.audit).read()
    assert "secret subject" not in text and "secret body" not in text


def test_events_counted_by_dovecot_stats():
    """The plugin's events, counted by the shipped metrics."""
    from test_policy import policy_extra, stats_counts
    s = make_server(extra=policy_extra())
    try:
        s.start()
        imap_session(s)
        s.wait_session_records(finished)
        deadline = time.monotonic() + TIMEOUT
        while True:
            counts = stats_counts(s)
            if counts.get("dms_master_sessions_logout") == 1 or \
                    time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert counts["dms_master_sessions"] == 1, counts
        assert counts["dms_master_sessions_logout"] == 1, counts
        assert counts["dms_master_session_mailboxes_select"] == 1, counts
        assert counts["dms_master_session_mailboxes_status"] == 1, counts
    finally:
        s.cleanup()


def test_disconnect_without_logout(server):
    """A client that goes away without LOGOUT: "disconnect", with
    Dovecot's reason."""
    imap = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=TIMEOUT)
    imap.login(*MASTER)
    imap.select("INBOX")
    imap.shutdown()
    records = server.wait_session_records(finished)
    assert records[-1]["how"] == "disconnect", records[-1]
    assert records[-1]["reason"].startswith("Connection closed")


def test_flags_only_is_not_a_read(server):
    imap = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=TIMEOUT)
    imap.login(*MASTER)
    imap.select("INBOX", readonly=True)
    assert imap.fetch("1:*", "(FLAGS RFC822.SIZE UID)")[0] == "OK"
    imap.logout()
    records = server.wait_session_records(finished)
    boxes = by_mailbox(records)
    assert boxes == {"INBOX": {"access": "examine"}}
    assert records[-1]["messages_read"] == 0


def test_imap_messages_level(messages_server):
    server = messages_server
    imap_session(server)
    records = server.wait_session_records(finished)
    messages = [(r["mailbox"], r.get("uid"), r["action"],
                 r.get("to_mailbox"), r.get("message_id"), r.get("date"))
                for r in records
                if r["event"] == "dms_master_session_message"]
    date = "2026-12-01T10:00:00Z"
    # the first record of a message names it, a later read of the same
    # message (its body after its header) by UID alone
    assert messages == [
        ("INBOX", 1, "read_header", None, MSGID, date),
        ("INBOX", 1, "read_body", None, None, None),
        ("INBOX", 1, "flags_changed", None, MSGID, date),
        ("INBOX", 1, "copied", "Saved", MSGID, date),
    ]
    assert records[0]["level"] == "messages"
    # the summary is there too
    assert by_mailbox(records)["INBOX"]["read"] == 1


def test_pop3(messages_server):
    server = messages_server
    pop = poplib.POP3("127.0.0.1", server.pop3_port, timeout=TIMEOUT)
    pop.user(MASTER[0])
    pop.pass_(MASTER[1])
    assert pop.stat()[0] == 1
    pop.top(1, 0)
    pop.retr(1)
    pop.quit()
    records = server.wait_session_records(finished)
    assert records[0]["service"] == "pop3"
    boxes = by_mailbox(records)
    assert boxes["INBOX"]["access"] == "select"
    assert boxes["INBOX"]["read"] == 1
    actions = [r["action"] for r in records
               if r["event"] == "dms_master_session_message"]
    assert "read_body" in actions
    assert records[-1]["how"] == "logout"
    # pop3's RETR and TOP bytes from its logout line: the message once
    # at least
    maildir = os.path.join(server.tmp, "mail", "example.com", "user", "cur")
    size = os.path.getsize(os.path.join(maildir, os.listdir(maildir)[0]))
    assert records[-1]["bytes_out"] >= size


def imap_pid(server, mark):
    """The pid of the imap process of the last login after MARK."""
    assert server.wait_log(mark, "mpid=")
    text = server.log_since(mark)
    return int(text.rsplit("mpid=", 1)[1].split(",")[0])


def test_owner_sessions_do_not_load_the_plugin(server):
    mark = server.log_mark()
    imap = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=TIMEOUT)
    imap.login(*OWNER)
    imap.select("INBOX")
    pid = imap_pid(server, mark)
    with open("/proc/%d/maps" % pid) as f:
        maps = f.read()
    assert "lib20_dms_session_plugin" not in maps
    imap.logout()
    mark = server.log_mark()
    imap = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=TIMEOUT)
    imap.login(*MASTER)
    pid = imap_pid(server, mark)
    with open("/proc/%d/maps" % pid) as f:
        assert "lib20_dms_session_plugin" in f.read()
    imap.logout()
    server.wait_session_records(finished)
    assert all(r["master"] == "admin" for r in server.session_records())


def test_killed_mail_process_loses_at_most_the_interval(server):
    mark = server.log_mark()
    imap = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=TIMEOUT)
    imap.login(*MASTER)
    imap.select("INBOX")
    imap.fetch("1", "(BODY.PEEK[])")
    pid = imap_pid(server, mark)
    # the flush interval (1 s) brings the read to the file
    server.wait_session_records(
        lambda rs: any(r.get("read") == 1 for r in rs))
    os.kill(pid, signal.SIGKILL)
    records = server.wait_session_records(finished)
    assert records[-1]["how"] == "lost"
    assert records[-1]["messages_read"] == 1
    imap.shutdown()


def as_mail_user():
    os.setgid(MAIL_GID)
    os.setgroups([])
    os.setuid(MAIL_UID)


def test_mail_user_cannot_rewrite_or_forge(server):
    imap_session(server)
    server.wait_session_records(finished)
    before = open(server.audit).read()
    # the mail processes' user cannot open the audit file
    out = subprocess.run(["sh", "-c", ": >> '%s'" % server.audit],
                         preexec_fn=as_mail_user, capture_output=True,
                         timeout=TIMEOUT)
    assert out.returncode != 0
    # a forged line (an unknown key, a time of its own) is refused and
    # nothing is written
    script = """
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"VERSION\\tdms-session-client\\t1\\t0\\n"
          b"START\\tforged\\tadmin\\tuser@example.com\\timap\\t\\tsummary\\tno"
          b"\\t\\tdms_services=imap\\t\\t\\t0\\t\\t\\n")
f = s.makefile("rb")
assert f.readline().startswith(b"VERSION")
assert f.readline() == b"OK\\n"
s.sendall(b"REC\\tdms_master_session_mailbox\\ttime\\t1999\\n")
assert f.readline() == b""
"""
    out = subprocess.run(["python3", "-c", script,
                          os.path.join(server.tmp, "run", "dms-session")],
                         preexec_fn=as_mail_user, capture_output=True,
                         text=True, timeout=TIMEOUT)
    assert out.returncode == 0, out.stderr
    after = server.wait_session_records(lambda rs: finished(rs, 2))
    forged = [r for r in after if r["session"] == "forged"]
    # the start and the end, each with the connecting process's uid
    assert [r["event"] for r in forged] == [
        "dms_master_session_started", "dms_master_session_finished"]
    assert all(r["process_uid"] == MAIL_UID for r in forged)
    # lost, or revoked: a session without a store is ended (fail closed)
    assert forged[-1]["how"] in ("lost", "revoked")
    assert open(server.audit).read().startswith(before)
    assert server.wait_log(0, "Invalid record dms_master_session_mailbox: "
                              "unknown key")


def test_no_service_no_master_session():
    """Fail closed: without the dms-session service a master session is
    refused (it could not be recorded); the owner's are not affected."""
    s = make_server()
    try:
        conf = open(s.conf).read()
        start = conf.index("service dms-session {")
        end = conf.index("\n}\n", start) + 3
        with open(s.conf, "w") as f:
            f.write(conf[:start] + conf[end:])
        s.start()
        imap = imaplib.IMAP4("127.0.0.1", s.imap_port, timeout=TIMEOUT)
        # Dovecot answers "OK Logged in, but initialization failed." and
        # closes the connection at the next command
        with pytest.raises(imaplib.IMAP4.error):
            imap.login(*MASTER)
            imap.select("INBOX")
        imap.shutdown()
        assert s.wait_log(0, "dms_session: master session of admin "
                             "refused: net_connect_unix(")
        assert s.imap_login(*OWNER)[0] == "OK"
    finally:
        s.cleanup()


MBSYNCRC = """IMAPAccount master
Host 127.0.0.1
Port {port}
User user@example.com*admin
Pass top-secret
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account master

MaildirStore local
Path {dest}/
Inbox {dest}/INBOX

Channel pull
Far :remote:
Near :local:
Patterns INBOX
Sync Pull
Create Near
# the sync state in the test's own maildir, not the user's home
SyncState *
"""


def test_mbsync_pull_is_summarised(server):
    """A real mbsync pulling the mailbox through a master: one mailbox
    record with the messages read, nothing per message at the summary
    level."""
    for i in range(2, 6):
        server.deliver("user@example.com", "message %d" % i)
    dest = os.path.join(server.tmp, "mbsync")
    os.mkdir(dest)
    rc = os.path.join(server.tmp, "mbsyncrc")
    with open(rc, "w") as f:
        f.write(MBSYNCRC.format(port=server.imap_port, dest=dest))
    os.chmod(rc, 0o600)
    out = subprocess.run(["mbsync", "-c", rc, "-a"], capture_output=True,
                         text=True, timeout=3 * TIMEOUT)
    assert out.returncode == 0, out.stdout + out.stderr
    pulled = os.listdir(os.path.join(dest, "INBOX", "cur")) + \
        os.listdir(os.path.join(dest, "INBOX", "new"))
    assert len(pulled) == 5
    records = server.wait_session_records(finished)
    # a mailbox record per flush interval (1 s here) at most, no
    # message records
    assert {r["event"] for r in records} == {
        "dms_master_session_started", "dms_master_session_mailbox",
        "dms_master_session_finished"}
    box = by_mailbox(records)
    assert list(box) == ["INBOX"]
    assert (box["INBOX"]["access"], box["INBOX"]["read"]) == ("select", 5)
    assert records[-1]["messages_read"] == 5
