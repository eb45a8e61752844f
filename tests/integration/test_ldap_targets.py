"""Master logins for accounts kept only in LDAP, configured as
docker-mailserver's LDAP mode configures Dovecot: passdb and userdb
"ldap", found by the login's local part in a PostfixBookMailAccount, with
and without auth binds, in both ways of use, against a real slapd
(ldap_env.Slapd) that logs every search and bind.

DMS's passdb returns the entry's uid as the user name: LDAP renames
"user@example.com" to "user". The dms_master userdb checks the policy
for that name, the mailbox actually opened."""

import os
import re
import tempfile
import shutil
import time

import pytest

from dovecot_env import (AUTH_PASSWD_FILE, DOVECOT24, MAIL_GID, MAIL_UID,
                         TOP, doveadm_pw, pick)
from test_logins import TARGET, assert_auth_failure
from test_policy import NOT_ALLOWED_USER, PW, policy_extra, store_text

MASTERS = {
    "admin": "",
    # DMS's rename: the session opens "user", not an example.com address
    "scoped": "dms_allow=*@example.com",
    # both names: the one asked for and the one LDAP returns
    "both": "dms_allow=user@example.com,user",
    "ro": "dms_read_only=yes",
}


@pytest.fixture(scope="module")
def ldap_users():
    from ldap_env import Slapd
    slapd = Slapd()
    maildirs = tempfile.mkdtemp(prefix="dms-ldap-mail-")
    os.chmod(maildirs, 0o755)
    try:
        slapd.maildirs = {}
        for uid, mail, pw in (("user", TARGET, "secret"),
                              ("other", "other@example.org", "other-pw")):
            maildir = os.path.join(maildirs, uid)
            for sub in ("new", "cur", "tmp"):
                os.makedirs(os.path.join(maildir, sub))
            with open(os.path.join(maildir, "new", "1.M1P1.ldap"), "w") as f:
                f.write("Subject: LDAP mailbox of %s\r\n\r\nbody\r\n" % uid)
            for root, dirs, files in os.walk(maildir):
                for n in [root] + [os.path.join(root, x)
                                   for x in dirs + files]:
                    os.chown(n, MAIL_UID, MAIL_GID)
            slapd.add_mail_user(uid, mail, pw, maildir)
            slapd.maildirs[uid] = maildir
        yield slapd
    finally:
        slapd.cleanup()
        shutil.rmtree(maildirs, ignore_errors=True)


def ldap_dovecot(make_dovecot, slapd, mode, auth_bind, user_attr="uid",
                 userdn=False, auth=None):
    d = make_dovecot(mode, args="audit_file=@AUDIT_FILE@", auth=auth,
                     users=slapd.users_conf(auth_bind, user_attr, userdn),
                     extra=policy_extra())
    if not DOVECOT24:
        slapd.write_args23(d.tmp, auth_bind, user_attr, userdn)
    d.write_store(store_text(MASTERS, doveadm_pw(PW)))
    d.start()
    return d


@pytest.fixture(params=[(m, b) for m in ("master", "selfsplit")
                        for b in ("no", "yes")],
                ids=lambda p: "%s-auth_bind=%s" % p)
def server(request, make_dovecot, ldap_users):
    mode, auth_bind = request.param
    d = ldap_dovecot(make_dovecot, ldap_users, mode, auth_bind)
    d.auth_bind = auth_bind
    return d


def binds_as(slapd, mark, uid):
    """The binds slapd saw as uid=UID since MARK."""
    return re.findall(r'BIND dn="uid=%s,[^"]*" method=128' % uid,
                      slapd.log_since(mark), re.I)


def test_master_login_opens_ldap_users_mailbox(server, ldap_users):
    mark, smark = server.log_mark(), ldap_users.log_mark()
    status, subjects = server.imap_login(TARGET + "*admin", PW)
    assert (status, subjects) == ("OK", ["Subject: LDAP mailbox of user"])
    assert server.pop3_login(TARGET + "*admin", PW) == ("OK", 1)
    assert server.wait_log(mark, "Master user logging in as " + TARGET)
    # audited with both names: asked for, and as LDAP returned it
    assert server.wait_log(mark, "stage=session master=admin target=%s "
                           "user=user " % TARGET), server.log_since(mark)
    # the master's password is never used in a bind as the target
    time.sleep(0.2)
    assert binds_as(ldap_users, smark, "user") == [], \
        ldap_users.log_since(smark)


def test_ordinary_ldap_logins_unaffected(server, ldap_users):
    """Also the control of the test above: with auth_bind = yes an
    ordinary login does bind as the user."""
    smark = ldap_users.log_mark()
    status, subjects = server.imap_login(TARGET, "secret")
    assert (status, subjects) == ("OK", ["Subject: LDAP mailbox of user"])
    assert server.pop3_login(TARGET, "secret") == ("OK", 1)
    assert_auth_failure(server.imap_login(TARGET, "wrong"))
    time.sleep(0.2)
    assert bool(binds_as(ldap_users, smark, "user")) == \
        (server.auth_bind == "yes"), ldap_users.log_since(smark)


def test_unknown_ldap_target(server):
    assert_auth_failure(server.imap_login("nobody@example.com*admin", PW))
    status, text = server.pop3_login("nobody@example.com*admin", PW)
    assert status == "NO", text


def test_wrong_master_password(server, ldap_users):
    smark = ldap_users.log_mark()
    assert_auth_failure(server.imap_login(TARGET + "*admin", "wrong"))
    time.sleep(0.2)
    assert binds_as(ldap_users, smark, "user") == []


def test_policy_holds_for_the_name_ldap_returns(server):
    # *@example.com: allowed for the name asked for, not for "user", the
    # mailbox LDAP opens: refused, logged with both names
    mark = server.log_mark()
    status, text = server.imap_login(TARGET + "*scoped", PW)
    assert status == "NO", text
    assert server.wait_log(mark, "Master scoped refused by rule allow: %s "
                           "(target=%s user=user" % (NOT_ALLOWED_USER,
                                                     TARGET)), \
        server.log_since(mark)
    # a pattern list with both names opens it
    status, subjects = server.imap_login(TARGET + "*both", PW)
    assert (status, subjects) == ("OK", ["Subject: LDAP mailbox of user"])
    # and the other LDAP user stays out of reach
    status, text = server.imap_login("other@example.org*both", PW)
    assert status == "NO", text


def test_read_only_master_on_ldap_user(server):
    import imaplib
    imap = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=10)
    try:
        imap.login(TARGET + "*ro", PW)
        typ, data = imap.append("INBOX", None, None,
                                b"Subject: not allowed\r\n\r\nx\r\n")
        assert typ == "NO", data
        typ, data = imap.select("INBOX", readonly=True)
        assert typ == "OK" and int(data[0]) == 1, data
    finally:
        imap.logout()


@pytest.mark.parametrize("mode", ["master", "selfsplit"])
def test_mail_as_user_name_keeps_domain_patterns(make_dovecot, ldap_users,
                                                 mode):
    """With the passdb returning the mail attribute as the user name (the
    configuration README.md recommends), "*@example.com" holds for the
    mailbox opened too."""
    d = ldap_dovecot(make_dovecot, ldap_users, mode, "no", user_attr="mail")
    status, subjects = d.imap_login(TARGET + "*scoped", PW)
    assert (status, subjects) == ("OK", ["Subject: LDAP mailbox of user"])
    assert_auth_failure(d.imap_login("other@example.org*scoped", PW))


# -- auth binds with a DN template ------------------------------------------
# After a master login Dovecot asks the ordinary passdbs for the target
# with the master's password, telling them not to check it; an ldap passdb
# with a DN template binds anyway.

def test_control_dn_template_binds_as_target_with_passwd_file_master(
        make_dovecot, ldap_users):
    """The attack, with Dovecot's own passwd-file master passdb: the
    master's password reaches slapd in a bind as the target, and the
    login fails."""
    d = ldap_dovecot(make_dovecot, ldap_users, "master", "yes", userdn=True,
                     auth=AUTH_PASSWD_FILE)
    # passwd-file's format, which Dovecot's passdb reads
    d.write_store("admin:%s\n" % doveadm_pw(PW))
    smark = ldap_users.log_mark()
    assert d.imap_login(TARGET + "*admin", PW)[0] == "NO"
    time.sleep(0.2)
    assert binds_as(ldap_users, smark, "user"), ldap_users.log_since(smark)


@pytest.mark.parametrize("mode", ["master", "selfsplit"])
def test_dn_template_refuses_master_logins(make_dovecot, ldap_users, mode):
    d = ldap_dovecot(make_dovecot, ldap_users, mode, "yes", userdn=True)
    setting = pick("auth_bind_userdn", "passdb_ldap_bind_userdn")
    assert d.wait_log(0, "binds with %s, which would send a master's "
                      "password to LDAP as its target's: master logins are "
                      "refused" % setting), d.log()
    mark, smark = d.log_mark(), ldap_users.log_mark()
    status, text = d.imap_login(TARGET + "*admin", PW)
    assert status == "NO" and "UNAVAILABLE" in text, text
    assert d.wait_log(mark, "master login refused: "), d.log_since(mark)
    assert d.wait_log(mark, "stage=auth master=admin target=%s" % TARGET)
    time.sleep(0.2)
    assert binds_as(ldap_users, smark, "user") == [], \
        ldap_users.log_since(smark)
    # ordinary logins bind as before
    assert d.imap_login(TARGET, "secret")[0] == "OK"
    assert binds_as(ldap_users, smark, "user")


@pytest.mark.parametrize("mode", ["master", "selfsplit"])
def test_shipped_ldap_snippet(make_dovecot, ldap_users, mode):
    """conf.d/auth-dms-ldap.conf.ext (2.4: conf.d/2.4/), as shipped but
    for the server's address and password: the whole address as the user
    name keeps "*@example.com" for the mailbox opened."""
    from ldap_env import LDAP_ARGS23, PEOPLE, ROOT_DN, ROOT_PW
    name = pick("auth-dms-ldap.conf.ext", "2.4/auth-dms-ldap.conf.ext")
    with open(os.path.join(TOP, "conf.d", name)) as f:
        text = f.read()
    if DOVECOT24:
        for old, new in (("ldap://ldap.example.com", ldap_users.uri),
                         ("ou=people,dc=example,dc=com", PEOPLE),
                         ("cn=admin,dc=example,dc=com", ROOT_DN),
                         ("ldap_auth_dn_password = secret",
                          "ldap_auth_dn_password = " + ROOT_PW)):
            assert old in text
            text = text.replace(old, new)
        users = text.replace("{", "{{").replace("}", "}}")
    else:
        args = "/etc/dovecot/dovecot-ldap.conf.ext"
        assert args in text
        users = text.replace("{", "{{").replace("}", "}}").replace(
            args, "{tmp}/dovecot-ldap-users.conf.ext")
        # the lines the snippet asks for
        assert "pass_attrs = mail=user,userPassword=password" in text
    d = make_dovecot(mode, args="audit_file=@AUDIT_FILE@", users=users,
                     extra=policy_extra())
    if not DOVECOT24:
        ldap_users.write_args23(d.tmp, "no", user_attr="mail")
    d.write_store(store_text(MASTERS, doveadm_pw(PW)))
    d.start()
    status, subjects = d.imap_login(TARGET + "*scoped", PW)
    assert (status, subjects) == ("OK", ["Subject: LDAP mailbox of user"])
    assert d.imap_login(TARGET, "secret")[0] == "OK"
    assert_auth_failure(d.imap_login("other@example.org*scoped", PW))
