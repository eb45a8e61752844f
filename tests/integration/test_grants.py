"""Just-in-time grants and two-person approval (issue 22, items 1 and 2),
against a real Dovecot with real IMAP and POP3 clients, in both ways of
use: a master with dms_require_grant is refused before its grant, opens
exactly the granted target during it, is refused after it, and its IDLE
session ends when the grant is revoked or runs out; a grant's reason is
in the audit records and the session's; a master with dms_grant_approval
needs a second master's approval, never its own."""

import imaplib
import os
import subprocess
import time

import pytest

from dovecot_env import TIMEOUT, Dovecot, doveadm_pw
from test_logins import TARGET, assert_auth_failure
from test_policy import (NOT_ALLOWED_USER, POLICY_USERS, PW, SETUP, refused,
                         store_text)
from test_session_end import BOUND, idle, wait_closed

OTHER = "other@example.org"
MASTERS = {
    "admin": "",
    "jit": "dms_require_grant=yes",
    "scoped": "dms_allow=*@example.com",
    "pair": "dms_require_grant=yes dms_grant_approval=yes",
    "guarded": "dms_require_grant=yes dms_deny=boss@example.org",
}


@pytest.fixture(params=["master", "selfsplit"])
def server(request):
    s = Dovecot(request.param, args="audit_file=@AUDIT_FILE@",
                imap_port=15143, pop3_port=15110)
    s.hashed = doveadm_pw(PW)
    s.write_users(POLICY_USERS)
    s.write_store(store_text(MASTERS, s.hashed))
    try:
        s.start()
        yield s
    finally:
        s.cleanup()


def cli(server, *args, rc=0, stdin=None):
    env = dict(os.environ, DMS_MASTERS_FILE=server.store,
               DMS_AUDIT_FILE=server.audit)
    p = subprocess.run([SETUP, "dovecot-master", *args], env=env,
                       input=stdin, capture_output=True, text=True,
                       timeout=TIMEOUT)
    assert p.returncode == rc, (p.returncode, p.stdout, p.stderr)
    return p.stdout, p.stderr


def grant(server, master, target, *args):
    out, err = cli(server, "grant", master, target, *args)
    grant_id = out.strip()
    assert len(grant_id) == 16, (out, err)
    return grant_id


def test_require_grant_before_during_after(server):
    mark = server.log_mark()
    refused(server.imap_login(TARGET + "*jit", PW), NOT_ALLOWED_USER)
    refused(server.pop3_login(TARGET + "*jit", PW), NOT_ALLOWED_USER)
    assert server.wait_log(mark, "Master jit refused by rule grant")
    gid = grant(server, "jit", TARGET, "--for", "1h", "--reason",
                "ticket 42: restore a folder")
    # exactly the granted target
    assert server.imap_login(TARGET + "*jit", PW)[0] == "OK"
    assert server.pop3_login(TARGET + "*jit", PW)[0] == "OK"
    refused(server.imap_login(OTHER + "*jit", PW), NOT_ALLOWED_USER)
    # the grant and its reason in every audit record of the login
    records = [r for r in server.audit_records() if r["master"] == "jit" and
               r["result"] in ("authenticated", "ok")]
    assert records and all(r["grant"] == gid and r["rule"] == "grant" and
                           r["reason"] == "ticket 42: restore a folder"
                           for r in records), records
    assert {r["stage"] for r in records} == {"auth", "check", "session"}
    # and in the session's record
    started = server.wait_session_records(lambda rs: any(
        r["event"] == "dms_master_session_started" and
        r["master"] == "jit" for r in rs))
    started = [r for r in started if r["master"] == "jit" and
               r["event"] == "dms_master_session_started"]
    assert started[0]["grant"] == gid
    assert started[0]["grant_reason"] == "ticket 42: restore a folder"
    # the grant given is audited too
    given = [r for r in server.audit_records() if r["stage"] == "grant"]
    assert [(r["master"], r["target"], r["result"], r["grant"])
            for r in given] == [("jit", TARGET, "granted", gid)]
    # after it: refused again
    cli(server, "revoke", gid)
    refused(server.imap_login(TARGET + "*jit", PW), NOT_ALLOWED_USER)
    out, _ = cli(server, "grants", "jit")
    assert out.startswith(gid + " jit " + TARGET + " until ") and \
        " revoked: ticket 42" in out, out


def test_revoked_grant_ends_the_idle_session(server):
    gid = grant(server, "jit", TARGET, "--for", "1h", "--reason", "r1")
    owner = idle(server, (TARGET, "secret"))
    jit = idle(server, (TARGET + "*jit", PW))
    admin = idle(server, (TARGET + "*admin", PW))
    revoked = time.monotonic()
    cli(server, "revoke", gid)
    data = wait_closed(jit, BOUND)
    elapsed = time.monotonic() - revoked
    assert b"BYE" in data and elapsed < BOUND, (data, elapsed)
    print("the session ended %.2f s after the revocation" % elapsed)
    end = [r for r in server.wait_session_records(lambda rs: any(
        r["event"] == "dms_master_session_finished" and
        r["master"] == "jit" for r in rs))
        if r["event"] == "dms_master_session_finished"][-1]
    assert end["how"] == "revoked" and end["reason"] == "grant", end
    # the owner's session and a master with standing access go on
    for imap in (owner, admin):
        imap.send(b"DONE\r\n")
        assert b"OK" in imap.readline()
        assert imap.noop()[0] == "OK"
        imap.logout()


def test_grant_running_out_ends_the_session(server):
    grant(server, "jit", TARGET, "--for", "4s", "--reason", "short")
    jit = idle(server, (TARGET + "*jit", PW))
    data = wait_closed(jit, 4 + BOUND)
    assert b"BYE" in data
    refused(server.imap_login(TARGET + "*jit", PW), NOT_ALLOWED_USER)
    out, _ = cli(server, "grants")
    assert " expired: short" in out, out
    out, _ = cli(server, "grants", "--prune")
    assert out == "1 ended grant pruned\n", out
    assert cli(server, "grants")[0] == ""


def test_grant_beyond_allow_and_deny_over_grant(server):
    # scoped: dms_allow=*@example.com; a grant opens one more mailbox
    refused(server.imap_login(OTHER + "*scoped", PW), NOT_ALLOWED_USER)
    tomorrow = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                             time.gmtime(time.time() + 86400))
    grant(server, "scoped", OTHER, "--until", tomorrow, "--reason", "r")
    assert server.imap_login(OTHER + "*scoped", PW)[0] == "OK"
    assert server.imap_login(TARGET + "*scoped", PW)[0] == "OK"
    # guarded: dms_deny=boss@example.org wins over a grant for it
    grant(server, "guarded", "*@example.org", "--for", "1h", "--reason", "r")
    assert server.imap_login(OTHER + "*guarded", PW)[0] == "OK"
    mark = server.log_mark()
    refused(server.imap_login("boss@example.org*guarded", PW),
            NOT_ALLOWED_USER)
    assert server.wait_log(mark, "Master guarded refused by rule deny")


def test_two_person_approval(server):
    gid = grant(server, "pair", TARGET, "--for", "1h", "--reason", "audit")
    refused(server.imap_login(TARGET + "*pair", PW), NOT_ALLOWED_USER)
    assert " pending: audit" in cli(server, "grants")[0]
    # not by itself, not with a wrong password, not by an unknown master
    _, err = cli(server, "approve", gid, "--by", "pair",
                   "--password-stdin", stdin=PW + "\n", rc=1)
    assert "cannot approve its own grant" in err, err
    _, err = cli(server, "approve", gid, "--by", "admin",
                   "--password-stdin", stdin="wrong\n", rc=1)
    assert "not approved" in err, err
    _, err = cli(server, "approve", gid, "--by", "nobody",
                   "--password-stdin", stdin=PW + "\n", rc=1)
    assert "not approved" in err, err
    refused(server.imap_login(TARGET + "*pair", PW), NOT_ALLOWED_USER)
    cli(server, "approve", gid, "--by", "admin", "--password-stdin",
          stdin=PW + "\n")
    assert server.imap_login(TARGET + "*pair", PW)[0] == "OK"
    assert " active approved by admin: audit" in cli(server, "grants")[0]
    _, err = cli(server, "approve", gid, "--by", "admin",
                   "--password-stdin", stdin=PW + "\n", rc=1)
    assert "not waiting for an approval" in err, err
    # both steps audited
    steps = [(r["result"], r["user"]) for r in server.audit_records()
             if r["stage"] == "grant"]
    assert steps == [("requested", None), ("approved", "admin")], steps


def test_untrusted_grants_file_fails_closed(server):
    grant(server, "jit", TARGET, "--for", "1h", "--reason", "r")
    assert server.imap_login(TARGET + "*jit", PW)[0] == "OK"
    os.chmod(server.store + ".grants", 0o666)
    mark = server.log_mark()
    status, text = server.imap_login(TARGET + "*jit", PW)
    assert status == "NO" and "UNAVAILABLE" in text, text
    assert server.wait_log(mark, "master logins that need a grant fail "
                           "until it can be read")
    # masters that need no grant are not affected
    assert server.imap_login(TARGET + "*admin", PW)[0] == "OK"
    os.chmod(server.store + ".grants", 0o640)
    assert server.imap_login(TARGET + "*jit", PW)[0] == "OK"


def test_cli_refusals(server):
    for args, text in [
            (("jit", TARGET, "--for", "1h"), "Usage"),
            (("jit", TARGET, "--reason", "r"), "Usage"),
            (("jit", TARGET, "--for", "1h", "--until", "2099-01-01",
              "--reason", "r"), "Usage"),
            (("jit", TARGET, "--for", "soon", "--reason", "r"),
             "not a duration"),
            (("jit", TARGET, "--for", "91d", "--reason", "r"),
             "at most 90 days"),
            (("jit", TARGET, "--until", "2020-01-01", "--reason", "r"),
             "would end before it begins"),
            (("nobody", TARGET, "--for", "1h", "--reason", "r"),
             "does not exist"),
            (("jit", TARGET, "--for", "1h", "--reason", "a\nb"),
             "control character")]:
        p = subprocess.run([SETUP, "dovecot-master", "grant", *args],
                           env=dict(os.environ, DMS_MASTERS_FILE=server.store),
                           capture_output=True, text=True, timeout=TIMEOUT)
        assert p.returncode != 0 and text in p.stderr, (args, p.stderr)
    _, err = cli(server, "revoke", "0123456789abcdef", rc=1)
    assert "no such grant" in err, err
    # nothing was written
    assert cli(server, "grants")[0] == ""
    assert_auth_failure(server.imap_login(TARGET + "*jit", "wrong"))


def test_require_grant_set_and_listed(server):
    cli(server, "update", "admin", "--require-grant", "--grant-approval")
    out, _ = cli(server, "list")
    assert "* admin dms_require_grant=yes dms_grant_approval=yes\n" in out
    refused(server.imap_login(TARGET + "*admin", PW), NOT_ALLOWED_USER)
    cli(server, "update", "admin", "--no-require-grant",
          "--no-grant-approval")
    assert "* admin\n" in cli(server, "list")[0]
    assert server.imap_login(TARGET + "*admin", PW)[0] == "OK"
    imap = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=TIMEOUT)
    imap.login(TARGET + "*admin", PW)
    imap.logout()
