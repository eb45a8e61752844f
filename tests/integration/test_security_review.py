"""The security review's findings (issue 11), each reproduced as the attack
against a real Dovecot, in both ways of use where both apply."""

import concurrent.futures
import os
import poplib
import re
import shutil
import subprocess
import threading
import time

import pytest

from dovecot_env import (AUTH_PASSWD_FILE, DOVECOT24, DOVECOT_GID, TIMEOUT,
                         TOP, Dovecot, doveadm_pw, pick)
from test_logins import TARGET, assert_auth_failure

PW = "top-secret"


# -- 11: a failed master login never reaches the next passdb -------------

# A passdb after the module that looks the name up by %n, as
# docker-mailserver's LDAP passdb does: for "user@example.com*admin" %n is
# "user", whose password is the target's own.
N_PASSDB = pick("""
passdb {{
  driver = passwd-file
  args = scheme=SHA512-CRYPT username_format=%n {tmp}/users-n
  result_success = continue-ok
}}
""", """
passdb users_n {{
  driver = passwd-file
  passwd_file_path = {tmp}/users-n
  default_password_scheme = SHA512-CRYPT
  auth_username_format = %{{user | username}}
  result_success = continue-ok
}}
""")


@pytest.fixture(params=["master", "selfsplit"])
def fallthrough(request, make_dovecot):
    # before the dms_master_check passdb, which is last
    server = make_dovecot(request.param, extra="auth_debug = yes\n" +
                          N_PASSDB.format(tmp="@TMP@"))
    server._replace(os.path.join(server.tmp, "users-n"),
                    "user:%s\n" % doveadm_pw("secret"))
    server.start()
    return server


def n_passdb_asked(server, mark):
    """Whether the passdb after the module (users_n) was asked since MARK
    for anything but a probe. The auth process logs in order: once the
    probe's lookup, which does reach that passdb, is in the log, so is any
    earlier line. (2.3 names the passdb by its driver, 2.4 by its name.)"""
    probe = "probe-%d@example.com" % time.monotonic_ns()
    server.doveadm_auth_test(probe, "wrong")
    # 2.3: both passdbs are passwd-file(NAME,...); the lookup names the file
    marker = pick(r"lookup: user=\S* file=\S*/users-n",
                  r": users_n: Performing passdb lookup")
    assert server.wait_log_re(mark, pick(
        r"passwd-file\(%s[,)].*/users-n" % re.escape(probe),
        r"auth\(%s,[^)]*\): Debug: users_n: " % re.escape(probe))), \
        server.log_since(mark)
    return [line for line in server.log_since(mark).splitlines()
            if re.search(marker, line) and probe not in line]


# failed master logins of the target, for every passdb after the module
FAILED_MASTER_LOGINS = [
    ("admin", "secret"),        # the target's own password
    ("admin", "wrong"),         # a mistyped master password
    ("nobody", PW),             # an unknown master
    ("", "secret"),             # an empty master
]


def assert_master_login_fails(server, master, password):
    """Over IMAP and with doveadm auth test."""
    assert_auth_failure(server.imap_login(TARGET + "*" + master, password))
    rc, out = server.doveadm_auth_test(TARGET + "*" + master, password)
    assert rc != 0, out


@pytest.mark.parametrize("master,password", FAILED_MASTER_LOGINS)
def test_failed_master_login_stays_with_dms_master(fallthrough, master,
                                                   password):
    mark = fallthrough.log_mark()
    assert_master_login_fails(fallthrough, master, password)
    assert not n_passdb_asked(fallthrough, mark), fallthrough.log_since(mark)


# The same with the passdb docker-mailserver's LDAP mode puts after the
# master passdb: ldap, filtered by %n, with and without auth binds. A
# failed master login must never reach slapd as a search or a bind for the
# target ("user"): a bind with a wrong password could lock the account.
LDAP_PASSDB = """
passdb {{
  driver = ldap
  args = {tmp}/dovecot-ldap.conf.ext
  result_success = continue-ok
}}
"""


@pytest.fixture(scope="module")
def slapd():
    from ldap_env import Slapd
    s = Slapd()
    try:
        s.add_user("user", TARGET, "secret")
        s.add_user("ldaponly", "ldaponly@example.com", "ldap-secret")
        yield s
    finally:
        s.cleanup()


@pytest.fixture(params=[("master", "no"), ("master", "yes"),
                        ("selfsplit", "no"), ("selfsplit", "yes")],
                ids=lambda p: "%s-auth_bind=%s" % p)
def ldap_fallthrough(request, make_dovecot, slapd):
    mode, auth_bind = request.param
    # before the dms_master_check passdb, which is last
    if DOVECOT24:
        server = make_dovecot(mode, extra=slapd.passdb24(auth_bind))
    else:
        server = make_dovecot(mode, extra=LDAP_PASSDB.format(tmp="@TMP@"))
        slapd.dovecot_conf(os.path.join(server.tmp, "dovecot-ldap.conf.ext"),
                           auth_bind)
    server.start()
    return server


def ldap_asked_for(slapd, mark, uid):
    log = slapd.log_since(mark)
    return "(uid=%s)" % uid in log or 'dn="uid=%s,' % uid in log


@pytest.mark.parametrize("master,password", FAILED_MASTER_LOGINS)
def test_failed_master_login_never_reaches_ldap(ldap_fallthrough, slapd,
                                                master, password):
    mark = slapd.log_mark()
    assert_master_login_fails(ldap_fallthrough, master, password)
    assert not ldap_asked_for(slapd, mark, "user"), slapd.log_since(mark)


def test_ldap_passdb_control(ldap_fallthrough, slapd):
    """The control: the LDAP passdb answers names without the separator
    (searched, and bound as with auth_bind = yes), so the test above can
    fail."""
    mark = slapd.log_mark()
    rc, out = ldap_fallthrough.doveadm_auth_test("ldaponly@example.com",
                                                 "ldap-secret")
    assert rc == 0, out
    assert ldap_asked_for(slapd, mark, "ldaponly"), slapd.log_since(mark)


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
    # the control: the %n passdb does answer names without the separator,
    # and n_passdb_asked() sees it
    mark = fallthrough.log_mark()
    status, _ = fallthrough.imap_login("user@example.com", "secret")
    assert status == "OK"
    assert n_passdb_asked(fallthrough, mark), fallthrough.log_since(mark)
    status, _ = fallthrough.imap_login(TARGET + "*admin", PW)
    assert status == "OK"


# -- 1, 5, 6: a read-only master sees what its target sees, changes nothing

from test_policy import (POLICY_MASTERS, POLICY_USERS, login_imap, ok,  # noqa
                         policy_extra, store_text)
import imaplib  # noqa: E402

NAMESPACES = pick("""
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
mail_attribute_dict = file:%h/dovecot-attributes
# where sites enable METADATA: a filter the userdb must still override
protocol imap {{
  mail_plugins = $mail_plugins imap_acl
  imap_metadata = yes
}}
""", """
namespace inbox {{
  inbox = yes
  separator = /
  prefix =
}}
namespace shared {{
  type = shared
  separator = /
  prefix = shared/$user/
  mail_driver = maildir
  mail_path = %{{owner_home}}
  subscriptions = no
  list = children
}}
namespace public {{
  type = public
  separator = /
  prefix = public/
  mail_driver = maildir
  mail_path = {tmp}/public
  subscriptions = no
  list = children
}}
mail_attribute {{
  dict file {{
    path = %{{home}}/dovecot-attributes
  }}
}}
# where sites enable METADATA: a filter the userdb must still override
protocol imap {{
  mail_plugins {{
    imap_acl = yes
  }}
  imap_metadata = yes
}}
""")

# A site with global ACLs of its own: the group "writers" gets every right
# through group-override, and the userdb puts the target in that group
# and names its ACL user (item 5). On 2.3 a line of the global ACL file,
# on 2.4 a setting.
SITE_ACL = "* group-override=writers lrwstipekxa\n"
SITE_ACL24 = """
acl group-override=writers {
  rights = lrwstipekxa
}
"""


def maildir_message(path, subject):
    for d in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    with open(os.path.join(path, "new", "1.M1P1.%s" % subject), "w") as f:
        f.write("From: a@example.com\r\nSubject: %s\r\n\r\nbody\r\n"
                % subject)


@pytest.fixture(scope="module", params=["master", "selfsplit"])
def acl_server(request):
    extra = (policy_extra() + NAMESPACES.format(tmp="@TMP@") +
             (SITE_ACL24 if DOVECOT24 else ""))
    server = Dovecot(request.param, extra=extra,
                     imap_port=12143, pop3_port=12110)
    try:
        server.write_users(POLICY_USERS)
        server.write_store(store_text(POLICY_MASTERS, doveadm_pw(PW)))
        # the site's own global ACL rule (2.3: in the file beside ours),
        # and a userdb that gives a second target the site's group and an
        # ACL user
        if not DOVECOT24:
            acl = os.path.join(server.tmp, "dms-master-read-only.acl")
            with open(acl, "a") as f:
                f.write(SITE_ACL)
        with open(os.path.join(server.tmp, "users"), "a") as f:
            f.write("writer@example.com:%s::::::userdb_acl_groups=writers "
                    "userdb_acl_user=writer@example.com\n"
                    % doveadm_pw("writer-secret"))
        server.deliver("writer@example.com", "Writer's INBOX")
        # a folder of the target's that it has not subscribed to
        maildir_message(os.path.join(server.tmp, "mail", "example.com",
                                     "user", ".Archive"), "Archive")
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

RENAME_USERDB = pick("""
userdb {{
  driver = passwd-file
  args = username_format=%u {tmp}/users-rename
  result_success = continue-ok
}}
""", """
userdb rename {{
  driver = passwd-file
  passwd_file_path = {tmp}/users-rename
  auth_username_format = %{{user}}
  result_success = continue-ok
}}
""")


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


@pytest.mark.parametrize("alias,stage", [("alias@example.com", "check"),
                                         ("alias2@example.com", "session")])
def test_rename_outside_allow_list_refused(rename_server, alias, stage):
    """A rename by the passdb is refused at the end of the passdbs
    (dms_master_check, stage=check), one by a userdb in the dms_master
    userdb (stage=session)."""
    server = rename_server
    # scoped: dms_allow=*@example.com,boss@example.org
    mark = server.log_mark()
    status, data = imap_outcome(server, alias + "*scoped", PW)
    assert status == "NO", data
    assert "Other's INBOX" not in str(data)
    if stage == "check":
        # a refusal the client can tell from an outage
        assert "[AUTHORIZATIONFAILED] Master login not allowed" in str(data)
    assert server.wait_log(mark, "Master scoped refused by rule allow: "
                           "Master login not allowed for this user "
                           "(target=%s user=other@example.org" % alias)
    assert "imap(other@example.org)" not in server.log_since(mark)
    # audited with both names, as the final outcome of the login
    assert server.wait_log(mark, "stage=%s master=scoped target=%s "
                           "user=other@example.org" % (stage, alias))
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
        assert server.wait_auth_fatal(login=(TARGET + "*admin", PW))
        assert "Fatal: passdb dms_master: there is no dms_master userdb" \
            in server.log(), server.log()
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


# -- 7: an unknown master costs what the costliest master's wrong password
# costs --------------------------------------------------------------------

SETUP = os.environ.get("DMS_SETUP") or os.path.join(TOP, "src/setup")


@pytest.mark.parametrize("mode", ["master", "selfsplit"])
@pytest.mark.parametrize("scheme", ["SHA512-CRYPT", "SHA256-CRYPT",
                                    "BLF-CRYPT", "YESCRYPT"])
def test_unknown_master_costs_a_wrong_password(make_dovecot, mode, scheme):
    server = make_dovecot(mode)
    # admin and backup are SHA512-CRYPT; the costly master is added by
    # the CLI with the scheme under test
    subprocess.run([SETUP, "dovecot-master", "add", "--scheme", scheme,
                    "costly", "costly-pw", "--masters-file", server.store],
                   check=True, capture_output=True, timeout=TIMEOUT)
    server.start()
    # the auth process starts, and times the store's costs, at the first
    # client
    assert_auth_failure(server.imap_login(TARGET + "*costly", "wrong"))

    # Dovecot answers failures at its next 500 ms tick, so the logins go
    # in concurrent batches; CPU time is counted batch by batch
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=64)

    def batch(users):
        before = server.auth_cpu_ns()
        for result in pool.map(lambda u: server.imap_login(u, "wrong"),
                                users):
            assert_auth_failure(result)
        return server.auth_cpu_ns() - before

    # side by side, alternating, until the wrong passwords took 0.4 s of
    # CPU: enough to drown the requests' own cost for every scheme. admin
    # is a cheaper master when the costly one is not SHA512-CRYPT: its
    # name must not show either
    wrong = unknown = cheap = n = 0
    size = 4
    try:
        for i in range(40):
            w = batch([TARGET + "*costly"] * size)
            unknown += batch([TARGET + "*nobody%d" % j for j in range(size)])
            cheap += batch([TARGET + "*admin"] * size)
            wrong += w
            n += size
            if wrong > 400_000_000:
                break
            # batches of about 100 ms of CPU
            size = max(1, min(64, int(100_000_000 * size / max(w, 1))))
    finally:
        pool.shutdown()
    ratio, ratio_cheap = unknown / wrong, unknown / cheap
    figures = ("%s %s: unknown %.2f ms, wrong password %.2f ms (admin, "
               "SHA512-CRYPT: %.2f ms) of CPU, ratios %.2f and %.2f (%d "
               "each)" % (mode, scheme, unknown / 1e6 / n, wrong / 1e6 / n,
                          cheap / 1e6 / n, ratio, ratio_cheap, n))
    print(figures)      # shown with pytest -rP
    assert 0.6 <= ratio <= 1.6, figures
    assert 0.6 <= ratio_cheap <= 1.6, figures


# -- 8: the store's and the audit file's paths must be trusted, like sshd's
# StrictModes ----------------------------------------------------------------

def as_nobody(*argv):
    subprocess.run(argv, check=True, user=65534, group=65534, extra_groups=[],
                   capture_output=True, timeout=TIMEOUT)


@pytest.mark.parametrize("mode", ["master", "selfsplit"])
def test_store_directory_writable_by_others_refused(make_dovecot, mode):
    server = make_dovecot(mode, store_dir="etc")
    etc = os.path.dirname(server.store)
    server.start()
    # the control: with the directory root's 0755, the master logs in
    assert server.imap_login(TARGET + "*admin", PW)[0] == "OK"

    # the operator's mistake: nobody may write the store's directory
    os.chmod(etc, 0o777)
    mark = server.log_mark()
    server.write_masters({"admin": PW})       # any change reloads
    status, text = server.imap_login(TARGET + "*admin", PW)
    assert status == "NO", text
    assert server.wait_log(mark, "untrusted path: %s is writable by "
                           "others" % etc), server.log_since(mark)

    # the attack: nobody swaps in a link to the users' passwd-file, so
    # that every mail user would be a master for every mailbox with their
    # own password
    as_nobody("mv", server.store, server.store + ".old")
    as_nobody("ln", "-s", os.path.join(server.tmp, "users"), server.store)
    mark = server.log_mark()
    status, text = server.imap_login("other@example.org*user@example.com",
                                     "secret")
    assert status == "NO", text
    assert server.wait_log(mark, "untrusted path: %s is writable by "
                           "others" % etc), server.log_since(mark)

    # the link alone, from a trusted directory, to a file in one nobody
    # may write, is refused by what it leads to
    os.chmod(etc, 0o755)
    os.unlink(server.store)
    os.rename(server.store + ".old", server.store)
    assert server.imap_login(TARGET + "*admin", PW)[0] == "OK"
    open_dir = os.path.join(server.tmp, "open")
    os.mkdir(open_dir)
    os.chmod(open_dir, 0o777)
    shutil.copy2(server.store, open_dir)
    os.chown(os.path.join(open_dir, "dovecot-masters.cf"), 0, DOVECOT_GID)
    os.unlink(server.store)
    os.symlink(os.path.join(open_dir, "dovecot-masters.cf"), server.store)
    mark = server.log_mark()
    assert server.imap_login(TARGET + "*admin", PW)[0] == "NO"
    assert server.wait_log(mark, "untrusted path: %s is writable by "
                           "others" % open_dir), server.log_since(mark)


@pytest.mark.parametrize("mode", ["master", "selfsplit"])
def test_audit_directory_writable_by_others_refused(make_dovecot, mode):
    server = make_dovecot(mode, args="audit_file=@AUDIT_FILE@")
    server.start()
    assert server.imap_login(TARGET + "*admin", PW)[0] == "OK"
    audit_dir = os.path.dirname(server.audit)
    os.chmod(audit_dir, 0o777)
    mark = server.log_mark()
    status, text = server.imap_login(TARGET + "*admin", PW)
    assert status == "NO" and "UNAVAILABLE" in text, text
    assert server.wait_log(mark, "untrusted path: %s is writable by "
                           "others" % audit_dir), server.log_since(mark)
    # nobody swaps the audit file for a link to a file of root's
    victim = os.path.join(server.tmp, "victim")
    with open(victim, "w") as f:
        f.write("root's\n")
    as_nobody("mv", server.audit, server.audit + ".old")
    as_nobody("ln", "-s", victim, server.audit)
    assert server.imap_login(TARGET + "*admin", PW)[0] == "NO"
    with open(victim) as f:
        assert f.read() == "root's\n"


# -- 10: a store rewritten in place is never read half-way ------------------

@pytest.mark.parametrize("mode", ["master", "selfsplit"])
def test_store_rewritten_in_place_never_widens(make_dovecot, mode):
    server = make_dovecot(mode)
    line = "scoped|%s|dms_allow=*@example.com\n" % doveadm_pw(PW)
    server.write_store(line)
    server.start()
    assert server.imap_login(TARGET + "*scoped", PW)[0] == "OK"
    assert server.imap_login("other@example.org*scoped", PW)[0] == "NO"

    # an editor saving in place: truncate, then write byte by byte; every
    # prefix of the line is on disk for a while, "scoped|HASH" and
    # "...|dms_allow=*" among them, while 16 clients try to get in
    stop = threading.Event()

    def writer():
        with open(server.store, "r+") as f:
            for _ in range(2):
                f.seek(0)
                f.truncate()
                for ch in line:
                    f.write(ch)
                    f.flush()
                    if stop.wait(0.02):
                        return

    def attacker():
        results = []
        deadline = time.monotonic() + 30
        while t.is_alive() and time.monotonic() < deadline:
            results.append(server.imap_login("other@example.org*scoped",
                                             PW)[0])
        return results
    t = threading.Thread(target=writer)
    t.start()
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            results = sum(pool.map(lambda _: attacker(), range(16)), [])
    finally:
        stop.set()
        t.join()
    assert results and "OK" not in results, results
    # complete again: the master works as before
    assert server.imap_login(TARGET + "*scoped", PW)[0] == "OK"
    assert server.wait_log(0, "half written"), server.log()


# -- 6: subscriptions, and read-only that fails closed --------------------

def subscribe(server, user, password, command, box):
    """COMMAND's answer, and the subscriptions after it."""
    imap = login_imap(server, user, password)
    try:
        typ, _ = imap._simple_command(command, '"%s"' % box)
        return typ, sorted(imap.lsub()[1])
    finally:
        imap.logout()


@pytest.mark.parametrize("command,box", [("SUBSCRIBE", "Archive"),
                                         ("UNSUBSCRIBE", "INBOX")])
def test_read_only_subscriptions_unchanged(acl_server, command, box):
    # the target's own subscription
    typ, before = subscribe(acl_server, TARGET, "secret", "SUBSCRIBE",
                            "INBOX")
    assert typ == "OK" and before, before
    typ, after = subscribe(acl_server, TARGET + "*ro", PW, command, box)
    assert typ == "NO"
    assert after == before


def test_subscriptions_control_full_master(acl_server):
    """The control: a full-access master's SUBSCRIBE does change them."""
    typ, after = subscribe(acl_server, TARGET + "*admin", PW, "SUBSCRIBE",
                           "Archive")
    assert typ == "OK" and any(b"Archive" in line for line in after), after
    subscribe(acl_server, TARGET + "*admin", PW, "UNSUBSCRIBE", "Archive")


def session_fails(login):
    try:
        status, text = login()
    except (imaplib.IMAP4.abort, poplib.error_proto, OSError):
        return True
    return status != "OK"


def read_only_server(make_dovecot, mode, extra):
    server = make_dovecot(mode, extra=extra, imap_port=15143,
                          pop3_port=15110)
    server.write_users(POLICY_USERS)
    server.write_store(store_text(POLICY_MASTERS, doveadm_pw(PW)))
    server.start()
    return server


@pytest.mark.parametrize("mode", ["master", "selfsplit"])
def test_read_only_without_acl_snippet_refused(make_dovecot, mode):
    # the operator forgot conf.d/dms-master-read-only.conf.ext: the
    # session gets the plugins from the userdb, but no ACL file
    server = read_only_server(make_dovecot, mode, "")
    mark = server.log_mark()
    # the login succeeds, the mail process then refuses the session
    assert session_fails(lambda: server.imap_login(TARGET + "*ro", PW))
    assert server.wait_log(mark, "the ACL plugin is not active"), \
        server.log_since(mark)
    assert session_fails(lambda: server.pop3_login(TARGET + "*ro", PW))
    # the control: masters that are not read-only work
    assert server.imap_login(TARGET + "*admin", PW)[0] == "OK"


# a protocol block that drops the global mail_plugins, a common slip
# (2.4: a protocol block that turns them off)
DROPPED_PLUGINS = pick("""
protocol imap {
  mail_plugins = imap_quota quota
}
""", """
protocol imap {
  mail_plugins {
    acl = no
    dms_read_only = no
  }
}
""")


@pytest.mark.parametrize("mode", ["master", "selfsplit"])
def test_read_only_survives_protocol_mail_plugins(make_dovecot, mode):
    server = read_only_server(make_dovecot, mode,
                              policy_extra() + DROPPED_PLUGINS)
    imap = login_imap(server, TARGET + "*ro", PW)
    try:
        assert not ok(imap.append("INBOX", None, None,
                                  b"Subject: x\r\n\r\nx\r\n"))
        typ, _ = imap._simple_command("SUBSCRIBE", "INBOX")
        assert typ == "NO"
    finally:
        imap.logout()
    # the control: the target's own session may append
    imap = login_imap(server, TARGET, "secret")
    try:
        assert ok(imap.append("INBOX", None, None, b"Subject: y\r\n\r\ny\r\n"))
    finally:
        imap.logout()


@pytest.mark.parametrize("mode", ["master", "selfsplit"])
def test_read_only_site_acl_without_rule_refused(make_dovecot, mode):
    # a site keeps its own global ACLs and forgot to add our rule
    if DOVECOT24:
        rule = ("acl group-override=dms-master-read-only {\n"
                "  rights = -wstipekxa\n}\n")
        assert rule in policy_extra()
        extra = policy_extra().replace(rule, "") + SITE_ACL24
    else:
        extra = policy_extra().replace("@TMP@/dms-master-read-only.acl",
                                       "@TMP@/site.acl")
    server = make_dovecot(mode, extra=extra, imap_port=15143,
                          pop3_port=15110)
    with open(os.path.join(server.tmp, "site.acl"), "w") as f:
        f.write(SITE_ACL)
    server.write_users(POLICY_USERS)
    server.write_store(store_text(POLICY_MASTERS, doveadm_pw(PW)))
    server.start()
    mark = server.log_mark()
    imap = login_imap(server, TARGET + "*ro", PW)
    try:
        typ, _ = imap.select("INBOX", readonly=True)
        assert typ == "NO"
        assert not ok(imap.append("INBOX", None, None,
                                  b"Subject: x\r\n\r\nx\r\n"))
    finally:
        imap.logout()
    assert server.wait_log(mark, "a read-only master session has the "), \
        server.log_since(mark)
