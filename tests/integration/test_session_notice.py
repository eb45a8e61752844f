"""The owner is told (issue 21, item 2): when a master session that read
or changed something ends, the dms-session service saves a notice into
the owner's INBOX with doveadm (no MTA) from the template, and a copy
goes to a reviewer address through sendmail (here a stand-in that
records what it got). Opt-in: for every master (-n) or per master
(dms_notify_owner=yes); dms_notify_owner=no wins over -n."""

import imaplib
import os
import shutil
import time

import pytest

from dovecot_env import TIMEOUT, TOP, Dovecot, doveadm_pw
from test_policy import PW, policy_extra, store_text

OWNER = ("user@example.com", "secret")
SUBJECT = "Your mailbox was opened by master account"
SENDMAIL = """#!/bin/sh
# records its arguments and the message, one file per call
n=$(ls @TMP@/sent | wc -l)
echo "$*" > @TMP@/sent/$n.args
cat > @TMP@/sent/$n.msg
"""


def make_server(session_args, masters):
    # the read-only snippet: a read-only master tries to remove a notice
    s = Dovecot("master", args="audit_file=@AUDIT_FILE@",
                session_args=session_args, extra=policy_extra())
    shutil.copy(os.path.join(TOP, "conf.d", "dms-session-notice.txt"),
                os.path.join(s.tmp, "notice.txt"))
    os.mkdir(os.path.join(s.tmp, "sent"))
    path = os.path.join(s.tmp, "sendmail")
    with open(path, "w") as f:
        f.write(SENDMAIL.replace("@TMP@", s.tmp))
    os.chmod(path, 0o755)
    s.hashed = doveadm_pw(PW)
    s.write_store(store_text(masters, s.hashed))
    s.start()
    return s


@pytest.fixture
def server():
    s = make_server("-n -t @TMP@/notice.txt -r reviewer@example.net "
                    "-s @TMP@/sendmail -f postmaster@example.com",
                    {"admin": "", "ro": "dms_read_only=yes",
                     "quiet": "dms_notify_owner=no"})
    yield s
    s.cleanup()


def inbox(server):
    """(subject, body) of every message in the owner's INBOX, read by the
    owner."""
    imap = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=TIMEOUT)
    imap.login(*OWNER)
    typ, data = imap.select("INBOX", readonly=True)
    out = []
    if int(data[0]) > 0:
        typ, data = imap.fetch("1:*", "(BODY.PEEK[])")
        for d in data:
            if isinstance(d, tuple):
                text = d[1].decode()
                head, body = text.split("\r\n\r\n", 1)
                subject = [line for line in head.split("\r\n")
                           if line.startswith("Subject: ")]
                out.append((subject[0][9:] if subject else "", body))
    imap.logout()
    return out


def notices(server):
    return [m for m in inbox(server) if m[0].startswith(SUBJECT)]


def wait_notices(server, n):
    deadline = time.monotonic() + TIMEOUT
    while True:
        got = notices(server)
        if len(got) >= n or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def master_reads(server, master):
    imap = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=TIMEOUT)
    imap.login("user@example.com*" + master, PW)
    imap.select("INBOX")
    imap.fetch("1", "(BODY.PEEK[])")
    imap.logout()


def sessions_finished(server, n):
    server.wait_session_records(lambda rs: len(
        [r for r in rs if r["event"] == "dms_master_session_finished"])
        >= n)


def test_notice_once_per_session_and_reviewer_copy(server):
    master_reads(server, "admin")
    got = wait_notices(server, 1)
    assert len(got) == 1
    subject, body = got[0]
    assert subject == SUBJECT + " admin"
    assert "Messages read:     1" in body
    assert "Messages changed:  0" in body
    assert "Mailboxes opened:  INBOX" in body
    assert "127.0.0.1 (imap)" in body
    session = server.session_records()[0]["session"]
    assert session in body
    # the reviewer's copy, through sendmail
    sent = sorted(os.listdir(os.path.join(server.tmp, "sent")))
    assert sent == ["0.args", "0.msg"]
    with open(os.path.join(server.tmp, "sent", "0.args")) as f:
        assert f.read() == "-i -- reviewer@example.net\n"
    with open(os.path.join(server.tmp, "sent", "0.msg")) as f:
        msg = f.read()
    assert "To: user@example.com\n" in msg
    assert "From: postmaster@example.com\n" in msg
    assert "Subject: %s admin\n" % SUBJECT in msg
    # once: the owner's own sessions, and time, add none
    time.sleep(1)
    assert len(notices(server)) == 1
    assert server.wait_log(0, "owner notice of session %s sent to "
                              "user@example.com and the reviewer "
                              "reviewer@example.net" % session)


def test_no_notice_without_reads_or_changes(server):
    imap = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=TIMEOUT)
    imap.login("user@example.com*admin", PW)
    imap.select("INBOX")
    imap.fetch("1:*", "(FLAGS)")
    imap.logout()
    sessions_finished(server, 1)
    master_reads(server, "admin")
    # the second session's notice is the only one
    got = wait_notices(server, 1)
    time.sleep(1)
    assert len(notices(server)) == 1
    assert "Messages read:     1" in got[0][1]


def test_master_with_notify_no(server):
    master_reads(server, "quiet")
    sessions_finished(server, 1)
    master_reads(server, "admin")
    wait_notices(server, 1)
    time.sleep(1)
    got = notices(server)
    assert [s for s, _ in got] == [SUBJECT + " admin"]


def test_read_only_master_cannot_remove_the_notice(server):
    master_reads(server, "admin")
    wait_notices(server, 1)
    imap = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=TIMEOUT)
    imap.login("user@example.com*ro", PW)
    # the session's SELECT answers [READ-ONLY]
    imap.select("INBOX", readonly=True)
    typ, data = imap.search(None, "SUBJECT", '"opened by master"')
    assert data[0]
    imap.fetch(data[0].split()[0], "(BODY.PEEK[])")
    # what a client would try: each is refused or changes nothing
    for command in (lambda: imap.store(data[0].replace(b" ", b","),
                                       "+FLAGS", "\\Deleted"),
                    imap.expunge,
                    lambda: imap.copy(data[0].replace(b" ", b","),
                                      "Trash")):
        try:
            command()
        except imaplib.IMAP4.error:
            pass
    imap.logout()
    sessions_finished(server, 2)
    # still there, and the read-only session's own notice beside it
    got = wait_notices(server, 2)
    assert sorted(s for s, _ in got) == [SUBJECT + " admin",
                                         SUBJECT + " ro"]


def test_per_master_opt_in():
    """Without -n, only masters with dms_notify_owner=yes."""
    s = make_server("-t @TMP@/notice.txt",
                    {"admin": "", "told": "dms_notify_owner=yes"})
    try:
        master_reads(s, "admin")
        sessions_finished(s, 1)
        master_reads(s, "told")
        wait_notices(s, 1)
        time.sleep(1)
        assert [x for x, _ in notices(s)] == [SUBJECT + " told"]
    finally:
        s.cleanup()


def test_bad_template_stops_the_service():
    """A template with an unknown variable is refused at start-up: the
    service does not start, so master sessions are refused (fail
    closed), with one line naming the problem."""
    s = Dovecot("master", args="audit_file=@AUDIT_FILE@",
                session_args="-n -t @TMP@/bad.txt")
    try:
        with open(os.path.join(s.tmp, "bad.txt"), "w") as f:
            f.write("Subject: %{nosuch}\n\nbody\n")
        s.start()
        imap = imaplib.IMAP4("127.0.0.1", s.imap_port, timeout=TIMEOUT)
        with pytest.raises(imaplib.IMAP4.error):
            imap.login("user@example.com*admin", "top-secret")
            imap.select("INBOX")
        imap.shutdown()
        assert s.wait_log(0, "bad.txt: unknown variable %{nosuch}")
    finally:
        s.cleanup()
