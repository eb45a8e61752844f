"""Per-master policy (allowed targets, services, read-only, expiry,
disabled) and the audit trail, against a real Dovecot with real IMAP and
POP3 clients and doveadm, in both ways of use. The read-only sessions use
the shipped conf.d/dms-master-read-only.conf.ext and .acl, the statistics
the shipped conf.d/dms-master-stats.conf.ext."""

import calendar
import imaplib
import os
import poplib
import re
import subprocess
import time

import pytest

from dovecot_env import DOVECOT24, TIMEOUT, USERS, Dovecot, doveadm_pw
from test_logins import TARGET, assert_auth_failure

TOP = os.environ.get("DMS_TOP", ".")
SETUP = os.environ.get("DMS_SETUP") or os.path.join(TOP, "src/setup")
PW = "top-secret"
POLICY_USERS = dict(USERS, **{"boss@example.org": "boss-secret",
                              "support-1@example.org": "support-secret"})
# NAME -> options; every master's password is PW
POLICY_MASTERS = {
    "admin": "",
    "scoped": "dms_allow=*@example.com,boss@example.org dms_services=imap",
    "support": "dms_allow=support-*@example.org",
    "ro": "dms_read_only=yes",
    "gone": "dms_disabled=yes",
    "old": "dms_expires=2020-01-01",
    "mailer": "dms_services=imap,submission,smtp",
}
# servers of a single test, next to the module's
OWN_PORTS = (11143, 11110)
NOT_ALLOWED_USER = "Master login not allowed for this user"
NOT_ALLOWED_SERVICE = "Master login not allowed for this service"


def shipped(name):
    with open(os.path.join(TOP, "conf.d", name)) as f:
        return f.read()


def policy_extra():
    """The shipped mail-side snippets, the ACL file read from the tree."""
    if DOVECOT24:
        # 2.4: the ACL rule is a setting, in the snippet itself
        return (shipped("2.4/dms-master-read-only.conf.ext") +
                shipped("2.4/dms-master-stats.conf.ext"))
    ro = shipped("dms-master-read-only.conf.ext").replace(
        "/etc/dovecot/conf.d/dms-master-read-only.acl",
        "@TMP@/dms-master-read-only.acl")
    assert "vfile:@TMP@/" in ro
    return ro + shipped("dms-master-stats.conf.ext")


def store_text(masters, hashed):
    return "".join("%s|%s%s\n" % (n, hashed, "|" + o if o else "")
                   for n, o in masters.items())


def make_policy_dovecot(mode, ports=(143, 110), args=""):
    server = Dovecot(mode, args=args + " audit_file=@AUDIT_FILE@",
                     extra=policy_extra(), imap_port=ports[0],
                     pop3_port=ports[1])
    server.hashed = doveadm_pw(PW)
    server.write_users(POLICY_USERS)
    server.write_store(store_text(POLICY_MASTERS, server.hashed))
    return server


@pytest.fixture(scope="module", params=["master", "selfsplit"])
def server(request):
    s = make_policy_dovecot(request.param)
    try:
        s.start()
        yield s
    finally:
        s.cleanup()


def login_imap(server, user, password=PW):
    imap = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=TIMEOUT)
    imap.login(user, password)
    return imap


def assert_select_read_only(server, user):
    imap = login_imap(server, user)
    with pytest.raises(imaplib.IMAP4.readonly):
        imap.select("INBOX")
    imap.is_readonly = True   # imaplib refuses even LOGOUT otherwise
    imap.logout()


def refused(result, reason):
    """Refused after the right password: the client is told why (IMAP
    with RFC 5530's AUTHORIZATIONFAILED code)."""
    status, text = result
    assert status == "NO", result
    assert reason in text, result
    assert "UNAVAILABLE" not in text, result
    if "-ERR" not in text:   # IMAP, not POP3
        assert "[AUTHORIZATIONFAILED] " + reason in text, result


# -- allowed targets --------------------------------------------------------

def test_allowed_targets(server):
    mark = server.log_mark()
    assert server.imap_login(TARGET + "*scoped", PW)[0] == "OK"
    assert server.imap_login("boss@example.org*scoped", PW)[0] == "OK"
    refused(server.imap_login("other@example.org*scoped", PW),
            NOT_ALLOWED_USER)
    refused(server.imap_login("support-1@example.org*scoped", PW),
            NOT_ALLOWED_USER)
    assert server.imap_login("support-1@example.org*support", PW)[0] == "OK"
    refused(server.imap_login(TARGET + "*support", PW), NOT_ALLOWED_USER)
    # a master without dms_allow opens every mailbox
    assert server.imap_login("other@example.org*admin", PW)[0] == "OK"
    assert server.wait_log(mark, "Master scoped refused by rule allow: "
                           "%s (target=other@example.org service=imap)"
                           % NOT_ALLOWED_USER)


def test_refusal_says_nothing_without_the_password(server):
    """The policy is applied after the password: a guesser learns nothing
    about it, and gets the usual failure."""
    for user in ("other@example.org*scoped", TARGET + "*gone",
                 TARGET + "*old"):
        status, text = server.imap_login(user, "wrong")
        assert status == "NO" and "AUTHENTICATIONFAILED" in text, text
        assert "Master" not in text, text


# -- services ---------------------------------------------------------------

def test_services_default_imap_pop3(server):
    assert server.imap_login(TARGET + "*admin", PW)[0] == "OK"
    assert server.pop3_login(TARGET + "*admin", PW) == ("OK", 1)
    mark = server.log_mark()
    # SMTP AUTH (Postfix -> Dovecot SASL) and submission: sending mail as
    # the user is not for masters unless listed
    for service in ("smtp", "submission", "doveadm", "sieve"):
        rc, out = server.doveadm_auth_test(TARGET + "*admin", PW,
                                           service=service)
        assert rc != 0 and "auth failed" in out, out
        assert "reason=" + NOT_ALLOWED_SERVICE in out, out
        assert server.wait_log(mark, "Master admin refused by rule "
                               "services: %s (target=%s service=%s)"
                               % (NOT_ALLOWED_SERVICE, TARGET, service))


def test_services_listed(server):
    for service in ("imap", "submission", "smtp"):
        rc, out = server.doveadm_auth_test(TARGET + "*mailer", PW,
                                           service=service)
        assert rc == 0 and "auth succeeded" in out, (service, out)
    rc, out = server.doveadm_auth_test(TARGET + "*mailer", PW,
                                       service="pop3")
    assert rc != 0 and NOT_ALLOWED_SERVICE in out, out
    # scoped: imap only, so a real POP3 client is refused
    refused(server.pop3_login(TARGET + "*scoped", PW), NOT_ALLOWED_SERVICE)
    assert server.imap_login(TARGET + "*scoped", PW)[0] == "OK"


# -- disabled and expiry ----------------------------------------------------

def test_disabled(server):
    refused(server.imap_login(TARGET + "*gone", PW), "Master account disabled")
    refused(server.pop3_login(TARGET + "*gone", PW), "Master account disabled")


def test_expired(server):
    refused(server.imap_login(TARGET + "*old", PW), "Master account expired")


def test_expiry_crossing(make_dovecot):
    """A master that expires a few seconds into the run: logins work up to
    that second and are refused from it on, without a reload."""
    s = make_policy_dovecot("master", OWN_PORTS)
    make_dovecot.servers.append(s)
    s.start()
    expires = int(time.time()) + 4
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))
    s.write_store(store_text({"temp": "dms_expires=" + stamp}, s.hashed))
    assert s.imap_login(TARGET + "*temp", PW)[0] == "OK"
    assert time.time() < expires, "the machine was too slow for this test"
    deadline = time.monotonic() + 4 * TIMEOUT
    while time.time() < expires + 0.2:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    refused(s.imap_login(TARGET + "*temp", PW), "Master account expired")
    results = [(r["result"], r["rule"]) for r in s.audit_records()
               if r["master"] == "temp"]
    # auth, check (end of the passdbs), session (the userdb), then the
    # refusal
    assert results == [("authenticated", "allow"), ("ok", "allow"),
                       ("ok", "allow"), ("refused", "expires")], results
    # the store says when, in UTC
    assert calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")) == \
        expires


# -- read-only --------------------------------------------------------------

def ok(typ_dat):
    return typ_dat[0] == "OK"


def flags_of(server, user, password, uid_set="1:*"):
    imap = login_imap(server, user, password)
    try:
        imap.select("INBOX", readonly=True)
        typ, data = imap.fetch(uid_set, "(FLAGS)")
        # \Recent belongs to whichever session saw the message first,
        # which depends on the tests run before: not what is compared
        return [re.sub(r" ?\\Recent", "", d.decode()) for d in data
                if d is not None]
    finally:
        imap.logout()


def test_read_only_imap(server):
    """Every changing IMAP command is refused or changes nothing; reads
    work and leave no trace (no \\Seen)."""
    owner = login_imap(server, TARGET, "secret")
    for box in ("Archive", "Gone"):
        owner.create(box)   # may exist from the other parametrization
    owner.logout()
    before = flags_of(server, TARGET, "secret")

    imap = login_imap(server, TARGET + "*ro")
    try:
        try:
            imap.select("INBOX")
            pytest.fail("SELECT did not answer READ-ONLY")
        except imaplib.IMAP4.readonly:
            imap.is_readonly = True   # go on in the selected mailbox
        typ, data = imap.fetch("1", "(BODY[])")
        assert typ == "OK" and b"Hello from the INBOX" in data[0][1]
        typ, data = imap.list()
        assert typ == "OK" and any(b"Archive" in d for d in data), data

        assert not ok(imap.append("INBOX", None, None,
                                  b"Subject: x\r\n\r\nx\r\n"))
        assert not ok(imap.append("Archive", None, None,
                                  b"Subject: x\r\n\r\nx\r\n"))
        assert not ok(imap.copy("1", "Archive"))
        typ, data = imap._simple_command("MOVE", "1", "Archive")
        assert typ != "OK", data
        assert not ok(imap.create("New"))
        assert not ok(imap.create("Archive.Sub"))
        assert not ok(imap.delete("Gone"))
        assert not ok(imap.rename("Archive", "Renamed"))
        # STORE and EXPUNGE: allowed to run, change nothing (RFC 4314)
        imap.store("1", "+FLAGS", "(\\Flagged \\Deleted)")
        imap.expunge()
        imap.close()
    finally:
        imap.logout()

    # the owner sees everything as it was
    assert flags_of(server, TARGET, "secret") == before
    assert "\\Seen" not in before[0] and "\\Flagged" not in before[0]
    owner = login_imap(server, TARGET, "secret")
    try:
        typ, data = owner.list()
        names = b" ".join(data)
        assert b"Archive" in names and b"Gone" in names
        assert b"New" not in names and b"Renamed" not in names
        assert owner.select("Archive")[1] == [b"0"]
        assert owner.select("INBOX")[1] == [b"1"]
    finally:
        owner.logout()


def test_read_only_does_not_touch_others(server):
    """With the ACL plugin loaded, the owner and a master that is not
    read-only still change what they like (so the test above can fail)."""
    for user, password in ((TARGET, "secret"), (TARGET + "*admin", PW)):
        imap = login_imap(server, user, password)
        try:
            assert imap.select("INBOX")[0] == "OK"
            assert ok(imap.store("1", "+FLAGS", "(\\Flagged)"))
            assert ok(imap.store("1", "-FLAGS", "(\\Flagged)"))
            assert ok(imap.create("Scratch"))
            assert ok(imap.delete("Scratch"))
        finally:
            imap.logout()


def test_read_only_pop3(server):
    """POP3: RETR works and sets no \\Seen; DELE is acknowledged but
    nothing is deleted (Dovecot opens the mailbox read-only)."""
    before = flags_of(server, TARGET, "secret")
    pop = poplib.POP3("127.0.0.1", server.pop3_port, timeout=TIMEOUT)
    pop.user(TARGET + "*ro")
    pop.pass_(PW)
    count, _ = pop.stat()
    assert count == 1
    resp, lines, _ = pop.retr(1)
    assert b"Subject: Hello from the INBOX" in lines
    pop.dele(1)
    pop.quit()
    assert server.pop3_login(TARGET, "secret") == ("OK", 1)
    assert flags_of(server, TARGET, "secret") == before


# -- audit ------------------------------------------------------------------

def test_audit_records(server):
    """One auth record per attempt; an authenticated master is completed
    by a check record (the dms_master_check passdb, at the end of the
    passdbs) and a session record (the dms_master userdb) of the same
    session id, naming the user whose mail is opened."""
    mark = server.log_mark()
    start = time.time()
    server.imap_login(TARGET + "*scoped", PW)
    server.imap_login("other@example.org*scoped", PW)
    server.imap_login(TARGET + "*scoped", "wrong")
    server.imap_login(TARGET + "*nobody", PW)
    server.pop3_login(TARGET + "*ro", PW)
    server.doveadm_auth_test(TARGET + "*admin", PW, service="smtp")
    want = [
        ("auth", "scoped", TARGET, None, "imap", "authenticated", "allow",
         "*@example.com", False),
        ("check", "scoped", TARGET, TARGET, "imap", "ok", "allow",
         "*@example.com", False),
        ("session", "scoped", TARGET, TARGET, "imap", "ok", "allow",
         "*@example.com", False),
        ("auth", "scoped", "other@example.org", None, "imap", "refused",
         "allow", None, False),
        ("auth", "scoped", TARGET, None, "imap", "password_mismatch",
         "password", None, False),
        ("auth", "nobody", TARGET, None, "imap", "unknown_master",
         "unknown_master", None, False),
        ("auth", "ro", TARGET, None, "pop3", "authenticated", "allow", None,
         True),
        ("check", "ro", TARGET, TARGET, "pop3", "ok", "allow", None, True),
        ("session", "ro", TARGET, TARGET, "pop3", "ok", "allow", None, True),
        ("auth", "admin", TARGET, None, "smtp", "refused", "services", None,
         False),
    ]
    deadline = time.monotonic() + TIMEOUT
    while len([r for r in server.audit_records()
               if r["time"] >= time.strftime("%Y-%m-%dT%H:%M:%S",
                                             time.gmtime(int(start)))]) \
            < len(want):
        assert time.monotonic() < deadline, server.audit_records()
        time.sleep(0.05)
    records = server.audit_records()[-len(want):]
    got = [(r["stage"], r["master"], r["target"], r["user"], r["service"],
            r["result"], r["rule"], r["pattern"], r["read_only"])
           for r in records]
    assert got == want
    for r in records:
        # IMAP and POP3 come from 127.0.0.1; doveadm auth test has no IP
        assert r["remote_ip"] == (None if r["service"] == "smtp"
                                  else "127.0.0.1"), r
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z",
                            r["time"]), r
    # the session record completes the auth record of the same session
    assert records[0]["session"] and \
        records[0]["session"] == records[1]["session"] == \
        records[2]["session"]
    assert records[6]["session"] == records[7]["session"] == \
        records[8]["session"]
    # the same records in Dovecot's log, with a stable prefix
    for stage, master, target, user, service, result, rule, pattern, ro \
            in want:
        line = ("dms_master audit: stage=%s master=%s target=%s"
                % (stage, master, target))
        if user:
            line += " user=" + user
        line += " service=" + service
        if service != "smtp":
            line += " rip=127.0.0.1"
        line += " result=%s rule=%s" % (result, rule)
        if pattern:
            line += " pattern=" + pattern
        assert server.wait_log(mark, line), (line, server.log_since(mark))
    # ordinary logins are no master logins: no audit record
    n = len(server.audit_records())
    assert server.imap_login(TARGET, "secret")[0] == "OK"
    assert len(server.audit_records()) == n


def stats_counts(server):
    out = subprocess.run(["doveadm", "-c", server.conf, "-f", "tab",
                          "stats", "dump"], capture_output=True, text=True,
                         timeout=TIMEOUT, check=True).stdout.splitlines()
    header = out[0].split("\t")
    counts = {}
    for line in out[1:]:
        row = dict(zip(header, line.split("\t")))
        counts[row["metric_name"]] = int(row["count"])
    return counts


def test_stats_event(make_dovecot):
    """The named event is counted by Dovecot's own statistics, grouped by
    result and rule (the shipped metric)."""
    s = make_policy_dovecot("master", OWN_PORTS)
    make_dovecot.servers.append(s)
    s.start()
    for _ in range(3):
        assert s.imap_login(TARGET + "*admin", PW)[0] == "OK"
    s.imap_login(TARGET + "*gone", PW)
    s.imap_login(TARGET + "*admin", "wrong")
    assert s.imap_login(TARGET, "secret")[0] == "OK"
    # three logins: an auth, a check and a session record each
    want = {"dms_master_logins": 11,
            "dms_master_logins_authenticated_allow": 3,
            "dms_master_logins_ok_allow": 6,
            "dms_master_logins_refused_disabled": 1,
            "dms_master_logins_password_mismatch_password": 1}
    deadline = time.monotonic() + TIMEOUT
    while True:
        counts = stats_counts(s)
        if all(counts.get(k) == v for k, v in want.items()):
            break
        assert time.monotonic() < deadline, counts
        time.sleep(0.1)


@pytest.mark.parametrize("mode", ["master", "selfsplit"])
def test_blocking_workers(make_dovecot, mode):
    """blocking=yes: the policy, the fields for read-only sessions, the
    reason, the audit file and the event all work from auth-workers."""
    s = make_policy_dovecot(mode, OWN_PORTS, args="blocking=yes")
    make_dovecot.servers.append(s)
    s.start()
    refused(s.imap_login("other@example.org*scoped", PW), NOT_ALLOWED_USER)
    refused(s.pop3_login(TARGET + "*scoped", PW), NOT_ALLOWED_SERVICE)
    assert_select_read_only(s, TARGET + "*ro")
    assert s.wait_log(0, "auth-worker")
    got = [(r["master"], r["result"], r["rule"]) for r in s.audit_records()]
    assert got == [("scoped", "refused", "allow"),
                   ("scoped", "refused", "services"),
                   ("ro", "authenticated", "allow"),
                   ("ro", "ok", "allow"), ("ro", "ok", "allow")], got
    deadline = time.monotonic() + TIMEOUT
    while stats_counts(s).get("dms_master_logins") != 5:
        assert time.monotonic() < deadline, stats_counts(s)
        time.sleep(0.1)


def test_audit_file_unwritable(make_dovecot):
    """No audit, no master login: a tempfail and an error in the log;
    ordinary users are not affected."""
    s = make_policy_dovecot("master", OWN_PORTS)
    make_dovecot.servers.append(s)
    os.chmod(os.path.dirname(s.audit), 0o500)
    os.chown(os.path.dirname(s.audit), 0, 0)
    s.start()
    mark = s.log_mark()
    status, text = s.imap_login(TARGET + "*admin", PW)
    assert status == "NO" and "UNAVAILABLE" in text, text
    # the auth process (dovecot) cannot enter the directory
    assert s.wait_log(mark, "dms_master: audit_file: lstat(%s) failed: "
                      "Permission denied" % s.audit), s.log_since(mark)
    assert s.wait_log(mark, "result=tempfail rule=audit_file")
    assert s.imap_login(TARGET, "secret")[0] == "OK"


def test_bad_option_fails_closed(make_dovecot):
    s = make_policy_dovecot("master", OWN_PORTS)
    make_dovecot.servers.append(s)
    s.write_store(store_text({"typo": "dms_alow=*@example.com",
                              "admin": ""}, s.hashed))
    s.start()
    assert_auth_failure(s.imap_login(TARGET + "*typo", PW))
    assert s.wait_log(0, "dovecot-masters.cf:1: typo: dms_alow: "
                      "unknown option"), s.log()
    assert s.imap_login(TARGET + "*admin", PW)[0] == "OK"


def test_cram_md5_credentials(make_dovecot):
    """lookup_credentials (CRAM-MD5): the policy applies before Dovecot
    checks the password, and a refusal looks like any failure. (Dovecot
    then cannot do CRAM-MD5 with a crypt hash, so no such login works.)"""
    s = make_policy_dovecot("master", OWN_PORTS)
    make_dovecot.servers.append(s)
    s.write_store(store_text({"cram": "", "narrow": "dms_allow=x@y"},
                             s.hashed))
    s.start()
    mark = s.log_mark()
    for master in ("cram", "narrow"):
        status, text = s.imap_cram_md5(TARGET + "*" + master, PW)
        assert status == "NO" and "Master" not in text, text
    got = [(r["master"], r["result"], r["rule"]) for r in s.audit_records()]
    # a refusal before Dovecot checked the password does not read as a
    # refusal of a right password
    assert got == [("cram", "credentials", "allow"),
                   ("narrow", "refused_unverified", "allow")], got
    assert s.wait_log(mark, "Master narrow refused by rule allow before "
                      "its password was checked (credentials lookup)")
    assert s.wait_log(mark, "Requested CRAM-MD5 scheme, but we have only "
                      "SHA512-CRYPT")


# -- the CLI against the running server --------------------------------------

def test_cli_sets_and_clears_policy(make_dovecot):
    s = make_policy_dovecot("selfsplit", OWN_PORTS)
    make_dovecot.servers.append(s)
    s.write_store("")
    s.start()
    env = dict(os.environ, DMS_MASTERS_FILE=s.store)

    def setup(*args):
        p = subprocess.run([SETUP, "dovecot-master", *args], env=env,
                           capture_output=True, text=True, timeout=TIMEOUT)
        assert p.returncode == 0, p.stderr
        return p.stdout

    setup("add", "helper", PW, "--allow", "*@example.com", "--services",
          "imap", "--read-only", "--expires", "2099-01-01")
    assert setup("list") == ("* helper dms_allow=*@example.com "
                             "dms_services=imap dms_read_only=yes "
                             "dms_expires=2099-01-01T00:00:00Z\n")
    # the file stays readable for the auth process (root:dovecot 0640)
    assert s.imap_login(TARGET + "*helper", PW)[0] == "OK"
    refused(s.imap_login("other@example.org*helper", PW), NOT_ALLOWED_USER)
    refused(s.pop3_login(TARGET + "*helper", PW), NOT_ALLOWED_SERVICE)
    assert_select_read_only(s, TARGET + "*helper")

    setup("update", "helper", "--no-allow", "--services", "imap,pop3",
          "--no-read-only")
    assert setup("list") == ("* helper dms_services=imap,pop3 "
                             "dms_expires=2099-01-01T00:00:00Z\n")
    assert s.imap_login("other@example.org*helper", PW)[0] == "OK"
    assert s.pop3_login(TARGET + "*helper", PW) == ("OK", 1)
    imap = login_imap(s, TARGET + "*helper")
    assert imap.select("INBOX")[0] == "OK"
    imap.logout()

    setup("update", "helper", "--disable")
    refused(s.imap_login(TARGET + "*helper", PW), "Master account disabled")
    setup("update", "helper", "--enable", "--expires", "2020-01-01")
    assert "(expired)" in setup("list")
    refused(s.imap_login(TARGET + "*helper", PW), "Master account expired")
    setup("update", "helper", "--no-expires", "--no-services")
    assert setup("list") == "* helper\n"
    assert s.imap_login(TARGET + "*helper", PW)[0] == "OK"
