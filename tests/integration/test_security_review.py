"""The security review's findings (issue 11), each reproduced as the attack
against a real Dovecot, in both ways of use where both apply."""

import os
import time

import pytest

from dovecot_env import AUTH_PASSWD_FILE, Dovecot, doveadm_pw
from test_logins import TARGET, assert_auth_failure

PW = "top-secret"


# -- 11: a failed master login never reaches the next passdb -------------

# A passdb after the module that looks the name up by %n, as
# docker-mailserver's LDAP passdb does: for "user@example.com*admin" %n is
# "user", whose password is the target's own.
N_PASSDB = """
passdb {{
  driver = passwd-file
  args = scheme=SHA512-CRYPT username_format=%n {tmp}/users-n
}}
"""


@pytest.fixture(params=["master", "selfsplit"])
def fallthrough(request, make_dovecot):
    server = make_dovecot(request.param, extra="auth_debug = yes\n")
    with open(server.conf, "a") as f:
        f.write(N_PASSDB.format(tmp=server.tmp))
    server._replace(os.path.join(server.tmp, "users-n"),
                    "user:%s\n" % doveadm_pw("secret"))
    server.start()
    return server


def n_passdb_asked(server, mark):
    return "passwd-file(%s*" % TARGET in server.log_since(mark)


@pytest.mark.parametrize("master,password", [
    ("admin", "secret"),        # the target's own password
    ("admin", "wrong"),         # a mistyped master password
    ("nobody", PW),             # an unknown master
    ("", "secret"),             # an empty master
])
def test_failed_master_login_stays_with_dms_master(fallthrough, master,
                                                   password):
    mark = fallthrough.log_mark()
    assert_auth_failure(fallthrough.imap_login(TARGET + "*" + master,
                                               password))
    rc, out = fallthrough.doveadm_auth_test(TARGET + "*" + master, password)
    assert rc != 0, out
    assert not n_passdb_asked(fallthrough, mark), fallthrough.log_since(mark)


def test_failed_master_cram_md5_stays_with_dms_master(fallthrough):
    mark = fallthrough.log_mark()
    status, text = fallthrough.imap_cram_md5(TARGET + "*nobody", "secret")
    assert status == "NO", text
    assert not n_passdb_asked(fallthrough, mark), fallthrough.log_since(mark)


def test_store_tempfail_stays_with_dms_master(fallthrough):
    os.chmod(fallthrough.store, 0o666)       # untrusted: tempfail
    mark = fallthrough.log_mark()
    status, text = fallthrough.imap_login(TARGET + "*admin", "secret")
    assert status == "NO", text
    assert not n_passdb_asked(fallthrough, mark), fallthrough.log_since(mark)
    if fallthrough.mode == "selfsplit":
        assert "UNAVAILABLE" in text, text    # still a temporary failure


def test_ordinary_logins_still_reach_later_passdbs(fallthrough):
    # the control: the %n passdb does answer names without the separator
    status, _ = fallthrough.imap_login("user@example.com", "secret")
    assert status == "OK"
    status, _ = fallthrough.imap_login(TARGET + "*admin", PW)
    assert status == "OK"


# -- 1, 5, 6: a read-only master sees what its target sees, changes nothing

from test_policy import (POLICY_MASTERS, POLICY_USERS, login_imap, ok,  # noqa
                         policy_extra, store_text)
import imaplib  # noqa: E402

NAMESPACES = """
namespace inbox {{
  inbox = yes
  separator = /
  prefix =
}}
namespace shared {{
  type = shared
  separator = /
  prefix = shared/%%u/
  location = maildir:{tmp}/mail/%%d/%%n
  subscriptions = no
  list = children
}}
namespace public {{
  type = public
  separator = /
  prefix = public/
  location = maildir:{tmp}/public
  subscriptions = no
  list = children
}}
imap_metadata = yes
mail_attribute_dict = file:%h/dovecot-attributes
protocol imap {{
  mail_plugins = $mail_plugins imap_acl
}}
"""

# A site with global ACLs of its own: the group "writers" gets every right
# through group-override, and the userdb puts the target in that group
# and names its ACL user (item 5).
SITE_ACL = "* group-override=writers lrwstipekxa\n"


def maildir_message(path, subject):
    for d in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    with open(os.path.join(path, "new", "1.M1P1.%s" % subject), "w") as f:
        f.write("From: a@example.com\r\nSubject: %s\r\n\r\nbody\r\n"
                % subject)


@pytest.fixture(scope="module", params=["master", "selfsplit"])
def acl_server(request):
    extra = policy_extra() + NAMESPACES.format(tmp="@TMP@")
    server = Dovecot(request.param, extra=extra,
                     imap_port=12143, pop3_port=12110)
    try:
        server.write_users(POLICY_USERS)
        server.write_store(store_text(POLICY_MASTERS, doveadm_pw(PW)))
        # the site's own global ACL file: ours plus its rule, and a userdb
        # that gives a second target the site's group and an ACL user
        acl = os.path.join(server.tmp, "dms-master-read-only.acl")
        with open(acl, "a") as f:
            f.write(SITE_ACL)
        with open(os.path.join(server.tmp, "users"), "a") as f:
            f.write("writer@example.com:%s::::::userdb_acl_groups=writers "
                    "userdb_acl_user=writer@example.com\n"
                    % doveadm_pw("writer-secret"))
        server.deliver("writer@example.com", "Writer's INBOX")
        # other@example.org's folder Private: no ACL grants it to anyone
        maildir_message(os.path.join(server.tmp, "mail", "example.org",
                                     "other", ".Private"), "Private")
        # public folders: HR for hr@example.com only, News for anyone
        public = os.path.join(server.tmp, "public")
        maildir_message(os.path.join(public, ".HR"), "HR")
        maildir_message(os.path.join(public, ".News"), "News")
        with open(os.path.join(public, ".HR", "dovecot-acl"), "w") as f:
            f.write("user=hr@example.com lr\n")
        with open(os.path.join(public, ".News", "dovecot-acl"), "w") as f:
            f.write("anyone lr\n")
        for root, dirs, files in os.walk(server.tmp):
            for n in dirs + files:
                p = os.path.join(root, n)
                if "/mail" in p or "/public" in p:
                    os.chown(p, 65534, 65534)
        server.start()
        yield server
    finally:
        server.cleanup()


def can_select(server, user, password, box):
    imap = login_imap(server, user, password)
    try:
        typ, data = imap.select('"%s"' % box, readonly=True)
        return typ == "OK"
    finally:
        imap.logout()


@pytest.mark.parametrize("box,target_may", [
    ("shared/other@example.org/Private", False),
    ("public/HR", False),
    ("public/News", True),
    ("INBOX", True),
])
def test_read_only_sees_what_the_target_sees(acl_server, box, target_may):
    assert can_select(acl_server, TARGET, "secret", box) == target_may
    assert can_select(acl_server, TARGET + "*admin", PW, box) == target_may
    # the read-only master: the same, never more
    assert can_select(acl_server, TARGET + "*ro", PW, box) == target_may


def changes_refused(server, user, password, box):
    """Whether every changing command in BOX is refused or changes
    nothing."""
    imap = login_imap(server, user, password)
    try:
        assert imap.select('"%s"' % box, readonly=True)[0] == "OK"
        imap.close()
        try:
            imap.select('"%s"' % box)
            writable = True
        except imaplib.IMAP4.readonly:
            imap.is_readonly = True
            writable = False
        appended = ok(imap.append('"%s"' % box, None, None,
                                  b"Subject: x\r\n\r\nx\r\n"))
        created = ok(imap.create('"%s/Sub"' % box))
        if created:
            imap.delete('"%s/Sub"' % box)
        typ, _ = imap._simple_command(
            "SETACL", '"%s"' % box, "someone@example.net", "lr")
        setacl = typ == "OK"
        return not (writable or appended or created or setacl)
    finally:
        imap.logout()


@pytest.mark.parametrize("user,password,box", [
    (TARGET, PW, "INBOX"),
    (TARGET, PW, "public/News"),
    # the site's group-override gives "writers" every right, and the
    # userdb names the target's ACL user and groups
    ("writer@example.com", PW, "INBOX"),
])
def test_read_only_changes_nothing(acl_server, user, password, box):
    assert changes_refused(acl_server, user + "*ro", password, box)


def test_read_only_control_owner_may_write(acl_server):
    """The control: the same commands work for the owner, so the test
    above can fail."""
    assert not changes_refused(acl_server, "writer@example.com",
                               "writer-secret", "INBOX")
    assert not changes_refused(acl_server, TARGET + "*admin", PW, "INBOX")


# -- 2: a passdb or userdb that renames the target ---------------------------

RENAME_USERDB = """
userdb {{
  driver = passwd-file
  args = username_format=%u {tmp}/users-rename
  result_success = continue-ok
}}
"""


@pytest.fixture(scope="module", params=["master", "selfsplit"])
def rename_server(request):
    server = Dovecot(request.param, args="audit_file=@AUDIT_FILE@",
                     extra=RENAME_USERDB.format(tmp="@TMP@"),
                     imap_port=13143, pop3_port=13110)
    try:
        server.write_users(POLICY_USERS)
        hashed = doveadm_pw(PW)
        server.write_store(store_text(POLICY_MASTERS, hashed))
        # alias@example.com: the passdb renames it (alias canonicalization)
        # alias2@example.com: only the second userdb renames it
        with open(os.path.join(server.tmp, "users"), "a") as f:
            f.write("alias@example.com:%s::::::user=other@example.org\n"
                    % doveadm_pw("alias-secret"))
            f.write("alias2@example.com:%s::::::\n"
                    % doveadm_pw("alias-secret"))
        server._replace(os.path.join(server.tmp, "users-rename"),
                        "alias2@example.com:::::::userdb_user=other@example.org\n")
        server.deliver("other@example.org", "Other's INBOX")
        server.start()
        yield server
    finally:
        server.cleanup()


def imap_outcome(server, user, password):
    try:
        return server.imap_login(user, password)
    except (imaplib.IMAP4.abort, OSError, AssertionError) as e:
        return "NO", str(e)


@pytest.mark.parametrize("alias", ["alias@example.com", "alias2@example.com"])
def test_rename_outside_allow_list_refused(rename_server, alias):
    server = rename_server
    # scoped: dms_allow=*@example.com,boss@example.org
    mark = server.log_mark()
    status, data = imap_outcome(server, alias + "*scoped", PW)
    assert status == "NO", data
    assert "Other's INBOX" not in str(data)
    assert server.wait_log(mark, "Master scoped refused by rule allow: "
                           "Master login not allowed for this user "
                           "(target=%s user=other@example.org" % alias)
    assert "imap(other@example.org)" not in server.log_since(mark)
    # audited with both names, as the final outcome of the session
    assert server.wait_log(mark, "stage=session master=scoped target=%s "
                           "user=other@example.org" % alias)
    assert "result=refused rule=allow" in server.log_since(mark)
    status, data = server.pop3_login(alias + "*scoped", PW)
    assert status == "NO", data


@pytest.mark.parametrize("alias", ["alias@example.com", "alias2@example.com"])
def test_rename_control_unrestricted_master(rename_server, alias):
    """The control: the rename does happen, so the test above can fail."""
    status, subjects = rename_server.imap_login(alias + "*admin", PW)
    assert (status, subjects) == ("OK", ["Subject: Other's INBOX"])


def test_config_without_dms_master_userdb_refused(make_dovecot):
    for mode in ("master", "selfsplit"):
        server = make_dovecot(mode, userdb_tail="")
        server.start()
        # the auth process starts with the first client; Dovecot
        # restarts a dead auth process at most once a second
        fatal = "Fatal: passdb dms_master: there is no dms_master userdb"
        for _ in range(5):
            rc, out = server.doveadm_auth_test(TARGET + "*admin", PW)
            assert rc != 0, out
            if server.wait_log(0, fatal, timeout=3):
                break
        assert fatal in server.log(), server.log()
        server.stop()


# -- 3: passwd-file extra fields on master lines, as passwd-file has them ----

# extra fields of a master's passwd-file line
FIELDS = [
    "",                                      # none: the control
    "allow_nets=127.0.0.0/8",                # allowed from here
    "allow_nets=192.0.2.0/24",               # not from here
    "allow_nets=192.0.2.1,127.0.0.1",        # a list
    "fail",                                  # refused
    "nologin reason=Maintenance",            # refused with a reason
    "nologin",
    "dms_services=imap allow_nets=192.0.2.0/24",   # with our options
]


@pytest.fixture(scope="module")
def field_servers():
    servers = []
    try:
        for i, (mode, auth) in enumerate([
                ("master", AUTH_PASSWD_FILE), ("master", None),
                ("selfsplit", None)]):
            s = Dovecot(mode, auth=auth, imap_port=14143 + i,
                        pop3_port=14110 + i)
            s.hashed = doveadm_pw(PW)
            s.start()
            servers.append(s)
        yield servers
    finally:
        for s in servers:
            s.cleanup()


STAMP = [1700000000]


def outcome(server, fields):
    # passwd-file: uid gid gecos home shell, then the extra fields
    server.write_store("admin:%s::::::%s\n" % (server.hashed, fields))
    # Dovecot's passwd-file notices a change by the mtime's second, and
    # looks at most once a second
    STAMP[0] += 10
    os.utime(server.store, (STAMP[0], STAMP[0]))
    time.sleep(1.1)
    status, data = server.imap_login(TARGET + "*admin", PW)
    rc, _ = server.doveadm_auth_test(TARGET + "*admin", PW)
    return status, "Maintenance" in str(data), rc == 0


@pytest.mark.parametrize("fields", FIELDS)
def test_extra_fields_as_passwd_file(field_servers, fields):
    reference, master, selfsplit = field_servers
    want = outcome(reference, fields.replace("dms_services=imap ", ""))
    assert outcome(master, fields) == want
    assert outcome(selfsplit, fields) == want
    if "192.0.2.0/24" in fields or "fail" in fields or "nologin" in fields:
        assert want[0] == "NO"   # so the comparison can fail


# -- 4: SMTP AUTH through saslauthd -a rimap is an IMAP login ----------------

class SourceIMAP(imaplib.IMAP4):
    """An IMAP client from another loopback address than saslauthd's."""

    def __init__(self, source, port):
        self._source = source
        super().__init__("127.0.0.1", port, timeout=10)

    def _create_socket(self, timeout):
        import socket
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(self._source, 0))


@pytest.mark.parametrize("mode", ["master", "selfsplit"])
def test_rimap_closed_by_allow_nets(make_dovecot, mode):
    """saslauthd -a rimap (Postfix SMTP AUTH in docker-mailserver) logs in
    over IMAP from the saslauthd host, so dms_services cannot tell it
    from a mail client. allow_nets on the master's line, excluding the
    saslauthd host (here 127.0.0.1; mail clients come from 127.0.0.2),
    keeps a reading master out of SMTP AUTH; one without it still works
    through rimap, as the page's verification example needs."""
    from dovecot_env import Saslauthd
    server = make_dovecot(mode)
    hashed = doveadm_pw(PW)
    server.write_store("reader:%s::::::dms_services=imap "
                       "allow_nets=127.0.0.2/32\n"
                       "admin:%s::::::\n" % (hashed, hashed))
    server.start()
    sasl = Saslauthd()
    try:
        rc, out = sasl.test(TARGET + "*reader", PW)
        assert out.startswith("0: NO"), out
        rc, out = sasl.test(TARGET + "*admin", PW)
        assert out == '0: OK "Success."', out
        imap = SourceIMAP("127.0.0.2", server.imap_port)
        imap.login(TARGET + "*reader", PW)
        assert imap.select("INBOX", readonly=True)[0] == "OK"
        imap.logout()
    finally:
        sasl.cleanup()


# -- 6: METADATA (subscriptions: see README, not yet closed) -----------------

imaplib.Commands.setdefault("SETMETADATA", ("AUTH", "SELECTED"))


def setmetadata_ok(server, user, password, box):
    imap = login_imap(server, user, password)
    try:
        typ, data = imap._simple_command(
            "SETMETADATA", box, "(/private/comment \"changed\")")
        return typ == "OK"
    except imaplib.IMAP4.error:
        return False
    finally:
        imap.logout()


@pytest.mark.parametrize("box", ["INBOX", '""'])
def test_read_only_setmetadata_refused(acl_server, box):
    # the control: the owner may (so the test can fail)
    assert setmetadata_ok(acl_server, TARGET, "secret", box)
    assert not setmetadata_ok(acl_server, TARGET + "*ro", PW, box)
