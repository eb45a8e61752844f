"""Masters kept in LDAP: what the directory and the settings file must be
trusted for (second security review, items 2, 3 and 8), against real
slapds, both Dovecot versions.

2. A reader that may read uid and userPassword but not the policy
   attributes, or a misspelt attr_* name, gave entries without them, and
   absence meant "no limit": disabled and expired masters logged in,
   read-only ones wrote. Now every entry must carry every policy
   attribute (setup writes them; a missing one is a temporary failure
   with one line naming the entry), the configured names are checked
   against the directory's schema at every new connection, and the
   documented reader ACL (docs/ldap-masters.md, used here verbatim) is
   enough.
3. The settings file (it names the directory and the bind password
   file), the password files, tls_ca_file and an ldapi:// socket's way
   are trusted paths now, as the file store is, in the module and in
   setup --ldap: a file a user may change made that user's directory the
   masters'.
8. The shipped example connects with TLS, and an ldap:// URI without
   StartTLS is warned about at start-up."""

import os
import re
import shutil
import subprocess

import pytest

from dovecot_env import TIMEOUT, TOP, doveadm_pw
from ldap_env import MASTERS_OU, READER_DN, ROOT_DN, ROOT_PW
from test_ldap_masters import (SETUP, assert_tempfail, dn, ldap_dovecot)
from test_logins import TARGET
from test_policy import PW

NOBODY = 65534
OTHER = "other@example.org"


def doc_acl():
    """The reader ACL of docs/ldap-masters.md, as it is written there."""
    with open(os.path.join(TOP, "docs", "ldap-masters.md")) as f:
        text = f.read()
    block = text.split("<!-- reader-acl -->\n", 1)[1].split(
        "   <!-- /reader-acl -->", 1)[0]
    lines = [line[7:] if line.startswith("       ") else line
             for line in block.splitlines()]
    return "\n".join(lines).strip() + "\n"


# the reader's own bind, which any directory already has
BIND_RULE = """access to attrs=userPassword
  by anonymous auth
  by * none
access to * by * none"""

# what an LDAP administrator reads "the masters and their userPassword,
# and nothing else" as: no policy attribute
NARROW_ACL = """access to dn.base="" attrs=entry,subschemaSubentry
  by * read
access to dn.base="cn=Subschema"
  by * read
access to dn.subtree="%s" attrs=entry,objectClass,uid,userPassword
  by dn.exact="%s" read
  by anonymous auth
  by * none
""" % (MASTERS_OU, READER_DN) + BIND_RULE


def slapd_with(access):
    from ldap_env import Slapd
    s = Slapd(access=access)
    s.add_policy_masters(doveadm_pw(PW))
    return s


@pytest.fixture(scope="module")
def narrow_slapd():
    s = slapd_with(NARROW_ACL)
    yield s
    s.cleanup()


@pytest.fixture(scope="module")
def doc_slapd():
    acl = doc_acl()
    assert MASTERS_OU in acl and READER_DN in acl, acl
    s = slapd_with(acl + BIND_RULE)
    yield s
    s.cleanup()


# -- 2: the policy attributes ------------------------------------------------

@pytest.mark.parametrize("master", ["ro", "off", "old", "scoped"])
def test_unreadable_policy_fails_closed(make_dovecot, narrow_slapd, master):
    """The attack: the reader may not read the dms* attributes. Each
    limited master would have logged in as unlimited; now it is a
    temporary failure naming the entry and the attribute."""
    d = ldap_dovecot(make_dovecot, narrow_slapd, "master")
    target = OTHER if master == "scoped" else TARGET
    mark = d.log_mark()
    assert_tempfail(d.imap_login(target + "*" + master, PW))
    assert d.wait_log(mark, "LDAP entry %s: no dmsAllow attribute "
                      "(attr_allow)" % dn(master)), d.log_since(mark)
    # even an unlimited master: the module cannot tell absent from hidden
    assert_tempfail(d.imap_login(TARGET + "*admin", PW))


@pytest.mark.parametrize("mode", ["master", "selfsplit"])
def test_documented_reader_acl(make_dovecot, doc_slapd, mode):
    """The reader ACL of docs/ldap-masters.md, verbatim: masters log in,
    and every limit holds."""
    d = ldap_dovecot(make_dovecot, doc_slapd, mode)
    assert d.imap_login(TARGET + "*admin", PW)[0] == "OK"
    assert d.imap_login(TARGET + "*scoped", PW)[0] == "OK"
    for login, reason in ((OTHER + "*scoped", "not allowed for this user"),
                          (TARGET + "*off", "Master account disabled"),
                          (TARGET + "*old", "Master account expired")):
        status, text = d.imap_login(login, PW)
        assert status == "NO" and reason in text, (login, text)
    # read-only holds: no APPEND
    import imaplib
    imap = imaplib.IMAP4("127.0.0.1", d.imap_port, timeout=TIMEOUT)
    try:
        imap.login(TARGET + "*ro", PW)
        typ, _ = imap.append("INBOX", None, None, b"Subject: x\r\n\r\nx\r\n")
        assert typ == "NO"
    finally:
        imap.logout()


def test_misspelt_attribute_name_refused(make_dovecot, doc_slapd):
    """attr_read_only = dmsReadOnIy (a capital i): no such attribute in
    the schema. Every master login is refused with one line naming the
    setting; the CLI refuses it too."""
    d = ldap_dovecot(make_dovecot, doc_slapd, "master",
                     attr_read_only="dmsReadOnIy")
    mark = d.log_mark()
    assert_tempfail(d.imap_login(TARGET + "*ro", PW))
    assert d.wait_log(mark, "attr_read_only = dmsReadOnIy: no such "
                      "attribute type in the directory's schema"), \
        d.log_since(mark)
    out = subprocess.run([SETUP, "--ldap", os.path.join(d.tmp,
                                                        "dovecot-masters.cf"),
                          "dovecot-master", "list"], capture_output=True,
                         text=True, timeout=TIMEOUT)
    assert out.returncode == 1 and "dmsReadOnIy: no such attribute type" \
        in out.stderr, out.stderr


def cli_run(conf, *args, stdin=None):
    out = subprocess.run([SETUP, "--ldap", conf] + list(args),
                         input=stdin, capture_output=True, text=True,
                         timeout=TIMEOUT)
    return out.returncode, out.stdout, out.stderr


def admin_conf(slapd, directory):
    pwfile = os.path.join(directory, "admin.secret")
    with open(pwfile, "w") as f:
        f.write(ROOT_PW + "\n")
    os.chmod(pwfile, 0o600)
    return slapd.master_conf(directory, admin_bind_dn=ROOT_DN,
                             admin_bind_password_file=pwfile)


def test_setup_writes_every_policy_attribute(doc_slapd, tmp_path):
    conf = admin_conf(doc_slapd, str(tmp_path))
    rc, _, err = cli_run(conf, "dovecot-master", "add", "fresh", "pw")
    assert rc == 0, err
    entry = doc_slapd.search(dn("fresh"), "(objectClass=*)")
    for line in ("dmsAllow: *", "dmsServices: default", "dmsReadOnly: FALSE",
                 "dmsExpires: 99991231235959Z", "dmsDisabled: FALSE",
                 "dmsDeny: none", "dmsPorts: default"):
        assert line in entry, entry
    # --no-* writes "no limit" as a value, never removes the attribute
    rc, _, err = cli_run(conf, "dovecot-master", "update", "fresh",
                         "--read-only", "--allow", "*@example.com")
    assert rc == 0, err
    rc, _, err = cli_run(conf, "dovecot-master", "update", "fresh",
                         "--no-read-only", "--no-allow")
    assert rc == 0, err
    entry = doc_slapd.search(dn("fresh"), "(objectClass=*)")
    assert "dmsAllow: *" in entry and "dmsReadOnly: FALSE" in entry, entry
    doc_slapd.delete(dn("fresh"))


def test_setup_completes_old_entries(make_dovecot, doc_slapd, tmp_path):
    """An entry written by 0.1.0 (no dmsExpires, no dmsDisabled): refused
    by the module, named by list, completed by any update."""
    doc_slapd.add_master("legacy", doc_slapd.hashed, complete=False,
                         dmsAllow="*", dmsServices="default",
                         dmsReadOnly="FALSE")
    try:
        d = ldap_dovecot(make_dovecot, doc_slapd, "master")
        assert_tempfail(d.imap_login(TARGET + "*legacy", PW))
        conf = admin_conf(doc_slapd, str(tmp_path))
        rc, out, err = cli_run(conf, "dovecot-master", "list")
        assert rc == 0 and "* legacy" not in out, out
        assert "%s: no dmsExpires attribute" % dn("legacy") in err, err
        rc, _, err = cli_run(conf, "dovecot-master", "update", "legacy",
                             "--enable")
        assert rc == 0, err
        assert "had no dmsExpires: written as 99991231235959Z" in err, err
        # and 0.3.0's entries, without 0.4.0's dmsDeny and dmsPorts
        assert "had no dmsDeny: written as none" in err, err
        assert "had no dmsPorts: written as default" in err, err
        entry = doc_slapd.search(dn("legacy"), "(objectClass=*)")
        assert "dmsExpires: 99991231235959Z" in entry, entry
        rc, out, _ = cli_run(conf, "dovecot-master", "list")
        assert "* legacy" in out, out
        # within cache_ttl (5 s) a new lookup: a new server
        d2 = ldap_dovecot(make_dovecot, doc_slapd, "master",
                          ports=(10143, 10110))
        assert d2.imap_login(TARGET + "*legacy", PW)[0] == "OK"
    finally:
        doc_slapd.delete(dn("legacy"))


# -- 3: trusted paths --------------------------------------------------------

@pytest.fixture(scope="module")
def rogue():
    """A directory of a user's own, with a master of theirs."""
    from ldap_env import Slapd
    s = Slapd()
    s.add_master("evil", doveadm_pw(PW))
    yield s
    s.cleanup()


def auth_fatal(d, text):
    d.start()
    assert d.wait_auth_fatal(login=(TARGET + "*evil", PW)), d.log()
    assert text in d.log(), d.log()


def rogue_dovecot(make_dovecot, rogue, owner_uid=0, in_user_dir=False):
    """A Dovecot whose store=ldap settings file names the rogue directory,
    the file owned by OWNER_UID, or in a directory a user owns."""
    d = make_dovecot("master", args="store=ldap")
    conf = rogue.master_conf(d.tmp)
    path = os.path.join(d.tmp, "dovecot-masters.cf")
    if in_user_dir:
        userdir = os.path.join(d.tmp, "user-owned")
        os.mkdir(userdir)
        os.chown(userdir, NOBODY, NOBODY)
        shutil.move(conf, os.path.join(userdir, "ldap.conf"))
        os.unlink(path) if os.path.exists(path) else None
        os.symlink(os.path.join(userdir, "ldap.conf"), path)
        return d
    shutil.move(conf, path)
    os.chown(path, owner_uid, 0)
    return d


def test_rogue_settings_control(make_dovecot, rogue):
    """The control: a root-owned settings file naming the rogue
    directory does let its master in, so the refusals below are the
    trust rule's."""
    d = rogue_dovecot(make_dovecot, rogue)
    d.start()
    assert d.imap_login(TARGET + "*evil", PW)[0] == "OK"


def test_settings_file_owned_by_a_user_refused(make_dovecot, rogue):
    d = rogue_dovecot(make_dovecot, rogue, owner_uid=NOBODY)
    auth_fatal(d, "untrusted path: %s is not owned by root or the trusted "
               "user" % os.path.join(d.tmp, "dovecot-masters.cf"))


def test_settings_file_in_a_users_directory_refused(make_dovecot, rogue):
    d = rogue_dovecot(make_dovecot, rogue, in_user_dir=True)
    auth_fatal(d, "untrusted path: %s is not owned by root or the trusted "
               "user" % os.path.join(d.tmp, "user-owned"))


def test_bind_password_file_of_a_user_refused(make_dovecot, rogue):
    """The settings file names a password file a user controls (or a
    root-only file the user wants sent to their server): refused."""
    d = rogue_dovecot(make_dovecot, rogue)
    secret = os.path.join(d.tmp, "ldap-reader.secret")
    os.chown(secret, NOBODY, NOBODY)
    auth_fatal(d, "bind_password_file: untrusted path: %s is not owned by "
               "root or the trusted user" % secret)


def test_ca_file_in_a_users_directory_refused(make_dovecot, rogue):
    d = make_dovecot("master", args="store=ldap")
    userdir = os.path.join(d.tmp, "user-owned")
    os.mkdir(userdir)
    os.chown(userdir, NOBODY, NOBODY)
    ca = os.path.join(userdir, "ca.pem")
    with open(ca, "w") as f:
        f.write("not a certificate\n")
    conf = rogue.master_conf(d.tmp, tls_ca_file=ca)
    shutil.move(conf, os.path.join(d.tmp, "dovecot-masters.cf"))
    auth_fatal(d, "untrusted path: %s is not owned by root or the trusted "
               "user" % userdir)


def test_setup_refuses_untrusted_settings(rogue, tmp_path):
    conf = rogue.master_conf(str(tmp_path))
    rc, _, err = cli_run(conf, "dovecot-master", "list")
    assert rc == 0, err
    os.chown(conf, NOBODY, NOBODY)
    rc, _, err = cli_run(conf, "dovecot-master", "list")
    assert rc == 1 and "untrusted path: %s" % conf in err, err
    os.chown(conf, 0, 0)
    secret = os.path.join(str(tmp_path), "ldap-reader.secret")
    os.chown(secret, NOBODY, NOBODY)
    rc, _, err = cli_run(conf, "dovecot-master", "list")
    assert rc == 1 and "untrusted path: %s" % secret in err, err


@pytest.mark.parametrize("owner,trusted", [(0, True), ("openldap", True),
                                           (NOBODY, False)])
def test_ldapi_socket_directory(make_dovecot, owner, trusted):
    """slapd on an ldapi:// socket: its directory may be root's or a
    system account's (Debian's /run/slapd is openldap's); one a user
    owns is refused, since the user could answer as the directory."""
    import pwd
    from ldap_env import Slapd
    s = Slapd()
    try:
        s.add_policy_masters(doveadm_pw(PW))
        sockdir = os.path.join(s.tmp, "run")
        os.mkdir(sockdir, 0o755)
        sock = os.path.join(sockdir, "ldapi")
        s.stop()
        s.extra_urls = "ldapi://" + sock.replace("/", "%2F")
        s.start()
        uid = pwd.getpwnam(owner).pw_uid if isinstance(owner, str) else owner
        os.chown(sockdir, uid, 0)
        d = make_dovecot("master", args="store=ldap")
        conf = s.master_conf(d.tmp, uris=s.extra_urls)
        shutil.move(conf, os.path.join(d.tmp, "dovecot-masters.cf"))
        if trusted:
            d.start()
            assert d.imap_login(TARGET + "*admin", PW)[0] == "OK"
            assert "without starttls" not in d.log()
        else:
            auth_fatal(d, "untrusted path: %s is not owned by root or the "
                       "trusted user" % sockdir)
    finally:
        s.cleanup()


# -- 8: TLS in the shipped example, a warning without it --------------------

def test_cleartext_uri_warned(make_dovecot, doc_slapd):
    d = ldap_dovecot(make_dovecot, doc_slapd, "master")
    assert d.wait_log(0, "Warning: passdb dms_master: %s: %s without "
                      "starttls = yes: the bind password and every master's "
                      "hash cross the network in clear"
                      % (os.path.join(d.tmp, "dovecot-masters.cf"),
                         doc_slapd.uri)), d.log()
    assert d.log().count("without starttls") == 1


def test_shipped_example_uses_tls():
    with open(os.path.join(TOP, "ldap", "dms-master-ldap.conf")) as f:
        text = f.read()
    uris = re.search(r"^uris = (.*)$", text, re.M).group(1).split()
    starttls = re.search(r"^starttls = yes$", text, re.M) is not None
    assert all(u.startswith(("ldaps://", "ldapi://")) or
               (u.startswith("ldap://") and starttls) for u in uris), uris
