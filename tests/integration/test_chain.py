"""The rest of the chain after a master login (second security review,
items 5, 6 and 7), against a real Dovecot, both ways of use.

5. A passdb that renames the target (user=, an alias canonicalized by SQL
   or LDAP) on a login that meets no userdb (Postfix's SMTP AUTH through
   Dovecot's auth socket: service smtp, a passdb lookup only) handed back
   a user outside the master's dms_allow, audited under the alias alone.
   The dms_master_check passdb, last of the passdbs, now checks the policy
   for the user the passdbs settled on, with a record naming both names.
6. Start-up checked only result_success of the userdbs before the
   dms_master userdb: result_failure = return on one of them ended the
   chain before it, result_failure = continue-ok on it turned its refusal
   into a session. Every rule that can skip or override the dms_master
   userdb or the dms_master_check passdb now stops the auth process,
   naming the setting.
7. A refusal for a target renamed in the passdb chain reached IMAP clients
   as "[UNAVAILABLE] Internal error" (clients retry an outage). Refused in
   the passdb chain, it is now "[AUTHORIZATIONFAILED]" over IMAP, "-ERR"
   over POP3, 535 over submission, as every other refusal. A rename made
   by a userdb is still refused in the dms_master userdb, where both
   Dovecot versions' login processes answer every failure as an internal
   error (README)."""

import imaplib
import os
import poplib
import smtplib

import pytest

from dovecot_env import USERS_CONF, USERDB_TAIL, Dovecot, doveadm_pw, pick
from protocols import services_conf
from test_logins import TARGET
from test_policy import PW, store_text
from test_security_review import RENAME_USERDB

ALIAS = "alias@example.com"          # the passdb renames it
ALIAS2 = "alias2@example.com"        # only a userdb renames it
RENAMED = "other@example.org"
MASTERS = {
    "scoped": "dms_allow=*@example.com dms_services=imap,pop3,smtp,"
              "submission",
    "admin": "dms_services=*",
}
SUBMISSION_PORT = 587
NOT_ALLOWED = "Master login not allowed for this user"

@pytest.fixture(scope="module", params=["master", "selfsplit"])
def server(request, sink):
    # a userdb after the users' one that renames alias2 only
    extra = (RENAME_USERDB.format(tmp="@TMP@") +
             services_conf(SUBMISSION_PORT, sink.port))
    s = Dovecot(request.param, args="audit_file=@AUDIT_FILE@", extra=extra)
    try:
        s.write_store(store_text(MASTERS, doveadm_pw(PW)))
        with open(os.path.join(s.tmp, "users"), "a") as f:
            f.write("%s:%s::::::user=%s\n" % (ALIAS, doveadm_pw("a-pw"),
                                              RENAMED))
            f.write("%s:%s::::::\n" % (ALIAS2, doveadm_pw("a-pw")))
            # for CRAM-MD5 (test_ordinary_logins_pass_the_check)
            f.write("cram@example.com:{PLAIN}cram-secret::::::\n")
        s._replace(os.path.join(s.tmp, "users-rename"),
                   "%s:::::::userdb_user=%s\n" % (ALIAS2, RENAMED))
        s.deliver(RENAMED, "Other's INBOX")
        s.start()
        yield s
    finally:
        s.cleanup()


def check_records(server, master, target):
    return [r for r in server.audit_records() if r["stage"] == "check" and
            r["master"] == master and r["target"] == target]


# -- 5: passdb-only logins --------------------------------------------------

def test_smtp_auth_rename_control(server):
    """The control: the passdb does rename the alias, and an unrestricted
    master gets the renamed user on a passdb-only login."""
    rc, out = server.doveadm_auth_test(ALIAS + "*admin", PW, service="smtp")
    assert rc == 0, out
    assert "user=" + RENAMED in out, out
    assert check_records(server, "admin", ALIAS)[-1]["user"] == RENAMED


def test_smtp_auth_rename_outside_allow_refused(server):
    """The attack: SMTP AUTH (passdb only) as alias*scoped, which the
    passdb renames to other@example.org, outside dms_allow."""
    mark = server.log_mark()
    rc, out = server.doveadm_auth_test(ALIAS + "*scoped", PW,
                                       service="smtp")
    assert rc != 0 and "auth failed" in out, out
    assert "code=authz_fail" in out, out
    assert server.wait_log(mark, "Master scoped refused by rule allow: %s "
                           "(target=%s user=%s service=smtp stage=check)"
                           % (NOT_ALLOWED, ALIAS, RENAMED)), \
        server.log_since(mark)
    record = check_records(server, "scoped", ALIAS)[-1]
    assert (record["user"], record["result"], record["rule"]) == \
        (RENAMED, "refused", "allow"), record


def test_smtp_auth_allowed_target_audited(server):
    rc, out = server.doveadm_auth_test(TARGET + "*scoped", PW,
                                       service="smtp")
    assert rc == 0, out
    record = check_records(server, "scoped", TARGET)[-1]
    assert (record["user"], record["result"], record["service"]) == \
        (TARGET, "ok", "smtp"), record


# -- 7: refusals that look like refusals --------------------------------------

def test_imap_refusal_is_authorizationfailed(server):
    imap = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=10)
    try:
        with pytest.raises(imaplib.IMAP4.error) as e:
            imap.login(ALIAS + "*scoped", PW)
        assert "[AUTHORIZATIONFAILED] " + NOT_ALLOWED in str(e.value), e.value
        assert "UNAVAILABLE" not in str(e.value)
    finally:
        imap.shutdown()


def test_pop3_refusal(server):
    pop = poplib.POP3("127.0.0.1", server.pop3_port, timeout=10)
    try:
        pop.user(ALIAS + "*scoped")
        with pytest.raises(poplib.error_proto) as e:
            pop.pass_(PW)
        text = str(e.value)
        assert text.startswith("b'-ERR") and NOT_ALLOWED in text, text
        assert "Temporary" not in text and "internal" not in text.lower()
    finally:
        pop.close()


def test_submission_refusal_is_535(server, sink):
    before = len(sink.messages)
    smtp = smtplib.SMTP("127.0.0.1", SUBMISSION_PORT, timeout=10)
    try:
        smtp.ehlo("client.test")
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            smtp.login(ALIAS + "*scoped", PW)
        assert e.value.smtp_code == 535, e.value
    finally:
        smtp.close()
    assert len(sink.messages) == before
    # the control: the same master into an allowed mailbox sends
    smtp = smtplib.SMTP("127.0.0.1", SUBMISSION_PORT, timeout=10)
    try:
        smtp.ehlo("client.test")
        smtp.login(TARGET + "*scoped", PW)
        smtp.sendmail(TARGET, ["x@outside.example"], "Subject: s\r\n\r\nx\r\n")
    finally:
        smtp.quit()
    assert len(sink.messages) == before + 1


def test_userdb_rename_still_refused(server):
    """A rename made by a userdb: refused in the dms_master userdb, audited
    as the session's outcome; the client sees Dovecot's internal error."""
    mark = server.log_mark()
    imap = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=10)
    try:
        with pytest.raises((imaplib.IMAP4.error, imaplib.IMAP4.abort,
                            OSError)):
            imap.login(ALIAS2 + "*scoped", PW)
    finally:
        imap.shutdown()
    assert server.wait_log(mark, "stage=session master=scoped target=%s "
                           "user=%s" % (ALIAS2, RENAMED)), \
        server.log_since(mark)
    assert "imap(%s)" % RENAMED not in server.log_since(mark)


# -- ordinary logins pass the check passdb unchanged -------------------------

def test_ordinary_logins_pass_the_check(server):
    """verify_plain: the users' passdb decides; lookup_credentials
    (CRAM-MD5, a {PLAIN} password): the check hands Dovecot the users'
    passdb's credentials (continue-ok, then an empty answer)."""
    assert server.imap_login(TARGET, "secret")[0] == "OK"
    status, _ = server.imap_login(TARGET, "wrong")
    assert status == "NO"
    assert server.imap_cram_md5("cram@example.com", "cram-secret")[0] == "OK"
    assert server.imap_cram_md5("cram@example.com", "wrong")[0] == "NO"
    assert server.imap_cram_md5("nobody@example.com", "x")[0] == "NO"


# -- 6: start-up refuses chains that skip or override the checks ------------

def users_conf(passdb_rules="", userdb_rules=""):
    """The harness's passwd-file passdb and userdb with RULES lines in
    place of their result_success = continue-ok."""
    text = USERS_CONF
    marker = "  result_success = continue-ok\n"
    assert text.count(marker) == 2
    first = text.index(marker)
    second = text.index(marker, first + len(marker))
    return (text[:first] + (passdb_rules or marker) +
            text[first + len(marker):second] + (userdb_rules or marker) +
            text[second + len(marker):])


def tail(passdb_rules="", userdb_rules="", after=""):
    """The dms_master_check passdb and the dms_master userdb with RULES."""
    text = USERDB_TAIL
    check = pick("  driver = dms_master_check\n",
                 "  driver = dms_master_check\n")
    userdb = "  driver = dms_master\n"
    assert check in text and userdb in text
    return (text.replace(check, check + passdb_rules)
            .replace(userdb, userdb + userdb_rules) + after)


NAME_USERS_PASSDB = pick("passdb passwd-file", "passdb users")
NAME_USERS_USERDB = pick("userdb passwd-file", "userdb users")
EXTRA_PASSDB = pick("""
passdb {
  driver = passwd-file
  args = scheme=SHA512-CRYPT username_format=%u @TMP@/users
}
""", """
passdb extra {
  driver = passwd-file
  passwd_file_path = @TMP@/users
}
""")

BAD_CHAINS = [
    # userdbs before the dms_master userdb
    ("userdb-failure-return",
     dict(users=users_conf(userdb_rules="  result_success = continue-ok\n"
                           "  result_failure = return\n")),
     "%s has result_failure = return, which ends the lookup before the "
     "dms_master userdb" % NAME_USERS_USERDB),
    ("userdb-internalfail-return-ok",
     dict(users=users_conf(userdb_rules="  result_success = continue-ok\n"
                           "  result_internalfail = return-ok\n")),
     "%s has result_internalfail = return-ok" % NAME_USERS_USERDB),
    ("userdb-success-return-ok",
     dict(users=users_conf(userdb_rules="  result_success = return-ok\n")),
     "%s ends the lookup on success before the dms_master userdb"
     % NAME_USERS_USERDB),
    # the dms_master userdb itself
    ("dms-userdb-failure-continue-ok",
     dict(userdb_tail=tail(userdb_rules="  result_failure = continue-ok\n")),
     "the dms_master userdb has result_failure = continue-ok, which would "
     "turn its refusals into sessions"),
    ("dms-userdb-internalfail-return-ok",
     dict(userdb_tail=tail(userdb_rules="  result_internalfail = return-ok\n")),
     "the dms_master userdb has result_internalfail = return-ok"),
    ("dms-userdb-skip",
     dict(userdb_tail=tail(userdb_rules="  skip = found\n")),
     "the dms_master userdb has skip set"),
    # passdbs before the dms_master_check passdb
    ("no-check-passdb",
     dict(userdb_tail=pick("userdb {\n  driver = dms_master\n}\n",
                           "userdb dms_master {\n  driver = dms_master\n}\n")),
     "the last passdb is not dms_master_check"),
    ("passdb-success-return-ok",
     dict(users=users_conf(passdb_rules="  result_success = return-ok\n")),
     "%s has result_success = return-ok, which ends the lookup before the "
     "dms_master_check passdb" % NAME_USERS_PASSDB),
    ("passdb-success-continue",
     dict(users=users_conf(passdb_rules="  result_success = continue\n")),
     "%s has result_success = continue, which would not count its success"
     % NAME_USERS_PASSDB),
    ("passdb-failure-return-ok",
     dict(users=users_conf(passdb_rules="  result_success = continue-ok\n"
                           "  result_failure = return-ok\n")),
     "%s has result_failure or result_internalfail = return or return-ok"
     % NAME_USERS_PASSDB),
    # the dms_master_check passdb itself
    ("check-failure-continue-ok",
     dict(userdb_tail=tail(passdb_rules="  result_failure = continue-ok\n")),
     "the dms_master_check passdb has result_failure = continue-ok"),
    ("check-internalfail-return",
     dict(userdb_tail=tail(passdb_rules="  result_internalfail = return\n")),
     "the dms_master_check passdb has result_internalfail = return"),
    ("check-skip",
     dict(userdb_tail=tail(passdb_rules="  skip = authenticated\n")),
     "the dms_master_check passdb has skip set"),
    ("check-not-last",
     dict(userdb_tail=tail(after=EXTRA_PASSDB)),
     "the last passdb is not dms_master_check"),
]


@pytest.mark.parametrize("mode", ["master", "selfsplit"])
@pytest.mark.parametrize("name,kwargs,expected", BAD_CHAINS,
                         ids=[c[0] for c in BAD_CHAINS])
def test_chain_that_could_skip_the_checks_refused(make_dovecot, mode, name,
                                                  kwargs, expected):
    d = make_dovecot(mode, imap_port=11143, pop3_port=11110, **kwargs)
    d.start()
    assert d.wait_auth_fatal(), d.log()
    assert expected in d.log(), d.log()


def test_master_passdb_continue_ok_refused(make_dovecot):
    auth = pick("""
auth_master_user_separator = *
passdb {{
  driver = dms_master
  args = {args} {store}
  master = yes
  result_success = continue-ok
}}
""", """
auth_master_user_separator = *
passdb dms_master {{
  driver = dms_master
{args}
  master = yes
  result_success = continue-ok
}}
""")
    d = make_dovecot("master", auth=auth, imap_port=11143, pop3_port=11110)
    d.start()
    assert d.wait_auth_fatal(), d.log()
    assert "the dms_master passdb has result_success = continue-ok" in \
        d.log(), d.log()


DENY_PASSDB = pick("""
passdb {
  driver = passwd-file
  args = @TMP@/denied
  deny = yes
}
""", """
passdb denied {
  driver = passwd-file
  passwd_file_path = @TMP@/denied
  deny = yes
}
""")


@pytest.mark.parametrize("mode", ["master", "selfsplit"])
def test_deny_passdb_in_the_chain(make_dovecot, mode):
    """A deny passdb keeps its default result_success (it never
    succeeds): the chain starts, and a denied user is refused, as itself
    and as a master's target."""
    d = make_dovecot(mode, extra=DENY_PASSDB, imap_port=11143,
                     pop3_port=11110)
    d.write_users({TARGET: "secret", "denied@example.com": "d-secret"})
    d._replace(os.path.join(d.tmp, "denied"), "denied@example.com\n")
    d.start()
    assert d.imap_login(TARGET, "secret")[0] == "OK"
    assert d.imap_login(TARGET + "*admin", PW)[0] == "OK"
    assert d.imap_login("denied@example.com", "d-secret")[0] == "NO"
    assert d.imap_login("denied@example.com*admin", PW)[0] == "NO"
    assert "Fatal" not in d.log()


@pytest.mark.parametrize("mode", ["master", "selfsplit"])
def test_good_chain_control(make_dovecot, mode):
    """The control: the harness's own chain starts and logs in."""
    d = make_dovecot(mode, imap_port=11143, pop3_port=11110)
    d.start()
    rc, out = d.doveadm_auth_test(TARGET + "*admin", PW)
    assert rc == 0, out
    assert "Fatal" not in d.log()
