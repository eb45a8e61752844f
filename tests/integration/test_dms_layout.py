"""docker-mailserver's Dovecot configuration, laid out as in its images:
v15.1.0 (Dovecot 2.3) and master c9b015ddc (Dovecot 2.4), target/dovecot/.
conf.d/10-auth.conf includes auth-passwdfile.inc and, when there are
masters, auth-master.inc: a passwd-file master passdb on masterdb, a file
DMS generates from dovecot-masters.cf. DMS's dovecot.cf is copied to
local.conf, which dovecot.conf includes last.

What we ship must turn that passdb into dms_master: one master passdb,
reading dovecot-masters.cf, with the policy; DMS's masterdb never
consulted. On 2.4 conf.d/2.4/docker-mailserver.cf as local.conf (a later
block of the same name merges in place); on 2.3, which cannot replace a
passdb, conf.d/docker-mailserver-user-patches.sh, DMS's start-up hook,
rewriting auth-master.inc."""

import os
import re
import shutil
import subprocess

import pytest

from dovecot_env import (DOVECOT24, DOVECOT_GID, MAIL_GID, MAIL_UID, TIMEOUT,
                         TOP, doveadm_pw, pick)
from test_logins import TARGET, assert_auth_failure

# DMS's files, verbatim but for their paths and the docker uid/gid
AUTH_CONF = """\
auth_mechanisms = plain login
!include auth-passwdfile.inc
{master_include}!include auth-master.inc
"""

AUTH_PASSWDFILE_INC23 = """\
passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=SHA512-CRYPT username_format=%u {tmp}/userdb
}}

userdb {{
  driver = passwd-file
  args = username_format=%u {tmp}/userdb
  default_fields = uid={uid} gid={gid} home={tmp}/mail/%d/%n
}}
"""

AUTH_MASTER_INC23 = """\
auth_master_user_separator = *
passdb {{
  driver = passwd-file
  args = scheme=SHA512-CRYPT username_format=%u {tmp}/masterdb
  master = yes
  result_success = continue
  #auth_bind = yes
}}
"""

AUTH_PASSWDFILE_INC = """\
passdb passdb-default {{
  driver                  = passwd-file
  passwd_file_path        = {tmp}/userdb
  auth_username_format    = %{{user}}
  mechanisms_filter       = plain login
  default_password_scheme = SHA512-CRYPT
}}

userdb userdb-default {{
  driver                  = passwd-file
  passwd_file_path        = {tmp}/userdb
  auth_username_format    = %{{user}}
  fields {{
    uid:default = {uid}
    gid:default = {gid}
    home:default = {tmp}/mail/%{{user | domain}}/%{{user | username}}
  }}
}}
"""

AUTH_MASTER_INC = """\
auth_master_user_separator = *

passdb passdb-master {{
  master                  = yes
  driver                  = passwd-file
  passwd_file_path        = {tmp}/masterdb
  auth_username_format    = %{{user}}
  default_password_scheme = SHA512-CRYPT
  result_success          = continue

  # Required for LDAP
  #auth_bind = yes
}}
"""

AUTH_PASSWDFILE_INC = pick(AUTH_PASSWDFILE_INC23, AUTH_PASSWDFILE_INC)
AUTH_MASTER_INC = pick(AUTH_MASTER_INC23, AUTH_MASTER_INC)
SNIPPET = pick(os.path.join("conf.d", "docker-mailserver-user-patches.sh"),
               os.path.join("conf.d", "2.4", "docker-mailserver.cf"))
DMS_STORE = "/tmp/docker-mailserver/dovecot-masters.cf"

SCOPED_PW = "scoped-secret"


def dms_create_masters(store, masterdb):
    """DMS's _create_masters(): NAME|REST of each line as NAME:REST."""
    lines = []
    with open(store) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                name, _, rest = line.partition("|")
                lines.append("%s:%s\n" % (name, rest))
    with open(masterdb, "w") as f:
        f.writelines(lines)
    os.chown(masterdb, 0, DOVECOT_GID)
    os.chmod(masterdb, 0o640)


def dms_server(make_dovecot, snippet, with_master_inc=True):
    d = make_dovecot("master", auth="", userdb_tail="")
    # the harness's global part (listeners, paths, mail), then DMS's
    base = open(d.conf).read().split("\npassdb users {")[0]
    with open(d.conf, "w") as f:
        f.write(base + "\n!include conf.d/*.conf\n!include_try local.conf\n")
    confd = os.path.join(d.tmp, "conf.d")
    os.mkdir(confd)
    fields = dict(tmp=d.tmp, uid=MAIL_UID, gid=MAIL_GID,
                  master_include="" if with_master_inc else "#")
    for name, text in (("10-auth.conf", AUTH_CONF),
                       ("auth-passwdfile.inc", AUTH_PASSWDFILE_INC),
                       ("auth-master.inc", AUTH_MASTER_INC)):
        with open(os.path.join(confd, name), "w") as f:
            f.write(text.format(**fields))
    userdb = os.path.join(d.tmp, "userdb")
    shutil.copy(os.path.join(d.tmp, "users"), userdb)
    os.chown(userdb, 0, DOVECOT_GID)
    # a master limited to example.org, as DMS's file may now carry it
    with open(d.store, "a") as f:
        f.write("scoped|%s|dms_allow=*@example.org\n" % doveadm_pw(SCOPED_PW))
    dms_create_masters(d.store, os.path.join(d.tmp, "masterdb"))
    if snippet:
        apply_snippet(d, confd)
    return d


def apply_snippet(d, confd):
    text = open(os.path.join(TOP, SNIPPET)).read()
    assert DMS_STORE in text
    text = text.replace(DMS_STORE, d.store)
    if DOVECOT24:
        # DMS copies dovecot.cf to local.conf
        with open(os.path.join(d.tmp, "local.conf"), "w") as f:
            f.write(text)
    else:
        # DMS runs user-patches.sh with bash, as root
        assert "confd=/etc/dovecot/conf.d\n" in text
        script = os.path.join(d.tmp, "user-patches.sh")
        with open(script, "w") as f:
            f.write(text.replace("confd=/etc/dovecot/conf.d\n",
                                 "confd=%s\n" % confd))
        for _ in range(2):  # every start-up: the second run changes nothing
            subprocess.run(["bash", script], check=True, timeout=TIMEOUT)


def doveconf(d):
    out = subprocess.run(["doveconf", "-c", d.conf, "-n"],
                         capture_output=True, text=True, timeout=TIMEOUT)
    assert out.returncode == 0, out.stderr
    return out


def master_passdbs(conf_text):
    """The drivers of the master passdbs in doveconf -n's output."""
    blocks = re.findall(r"^passdb ?(\S*) \{\n(.*?)^\}", conf_text,
                        re.M | re.S)
    return [re.search(r"^  driver = (\S+)", body, re.M).group(1)
            for name, body in blocks
            if re.search(r"^  master = yes$", body, re.M)]


def revoke_admin(d):
    """Remove admin from dovecot-masters.cf, as "setup dovecot-master del"
    does; DMS's masterdb still has it."""
    lines = [l for l in open(d.store) if not l.startswith("admin|")]
    d.write_store("".join(lines))


def test_control_dms_layout_uses_passwd_file(make_dovecot):
    """Without the snippet DMS's own passwd-file master passdb answers, on
    masterdb: the layout works, and the test below can fail."""
    d = dms_server(make_dovecot, snippet=False)
    assert master_passdbs(doveconf(d).stdout) == ["passwd-file"]
    d.start()
    assert d.imap_login(TARGET + "*admin", "top-secret")[0] == "OK"
    revoke_admin(d)
    # masterdb is only regenerated by DMS: admin is still a master
    assert d.imap_login(TARGET + "*admin", "top-secret")[0] == "OK"


def test_snippet_replaces_dms_master_passdb_in_place(make_dovecot):
    d = dms_server(make_dovecot, snippet=True)
    out = doveconf(d)
    assert out.stderr == "", out.stderr
    assert master_passdbs(out.stdout) == ["dms_master"]
    d.start()
    mark = d.log_mark()
    status, subjects = d.imap_login(TARGET + "*admin", "top-secret")
    assert status == "OK" and subjects == ["Subject: Hello from the INBOX"], \
        subjects
    assert d.wait_log(mark, "stage=session master=admin target=" + TARGET)
    assert d.pop3_login(TARGET + "*admin", "top-secret")[0] == "OK"
    assert d.imap_login(TARGET, "secret")[0] == "OK"
    assert_auth_failure(d.imap_login(TARGET + "*admin", "wrong"))
    # the policy in dovecot-masters.cf holds
    status, text = d.imap_login(TARGET + "*scoped", SCOPED_PW)
    assert status == "NO" and "AUTHORIZATIONFAILED" in text, text
    # a master removed from dovecot-masters.cf is refused at once, though
    # DMS's masterdb still has it: masterdb is not read any more
    revoke_admin(d)
    assert_auth_failure(d.imap_login(TARGET + "*admin", "top-secret"))


def test_snippet_before_dms_enables_masters(make_dovecot):
    """DMS leaves auth-master.inc out while there is no
    dovecot-masters.cf, and includes it when the file appears (its
    change detector runs _create_masters()). On 2.4 the snippet declares
    the passdb alone before that; on 2.3 there is none before."""
    d = dms_server(make_dovecot, snippet=True, with_master_inc=False)
    assert master_passdbs(doveconf(d).stdout) == pick([], ["dms_master"])
    # _create_masters()'s sed
    subprocess.run(["sed", "-i", "-e", r"/\!include auth-master\.inc/s/^#//",
                    os.path.join(d.tmp, "conf.d", "10-auth.conf")],
                   check=True, timeout=TIMEOUT)
    assert master_passdbs(doveconf(d).stdout) == ["dms_master"]
    d.start()
    assert d.imap_login(TARGET + "*admin", "top-secret")[0] == "OK"
    status, text = d.imap_login(TARGET + "*scoped", SCOPED_PW)
    assert status == "NO" and "AUTHORIZATIONFAILED" in text, text


@pytest.mark.skipif(DOVECOT24, reason="2.4 merges the block in place")
def test_why_2_3_rewrites_auth_master_inc(make_dovecot):
    """On 2.3 a dms_master passdb added in dovecot.cf is a second master
    passdb, after DMS's passwd-file one: a master removed from
    dovecot-masters.cf still gets in through masterdb. The reason the 2.3
    route is user-patches.sh."""
    d = dms_server(make_dovecot, snippet=False)
    inc = os.path.join(d.tmp, "conf.d", "auth-passwdfile.inc")
    text = open(inc).read().replace(
        "  default_fields", "  result_success = continue-ok\n  default_fields"
    ).replace("  mechanisms = plain login\n",
              "  mechanisms = plain login\n  result_success = continue-ok\n")
    open(inc, "w").write(text)
    with open(os.path.join(d.tmp, "local.conf"), "w") as f:
        f.write("passdb {\n  driver = dms_master\n  args = %s\n"
                "  master = yes\n  result_success = continue\n}\n"
                "passdb {\n  driver = dms_master_check\n}\n"
                "userdb {\n  driver = dms_master\n}\n" % d.store)
    assert master_passdbs(doveconf(d).stdout) == ["passwd-file",
                                                  "dms_master"]
    d.start()
    revoke_admin(d)
    assert d.imap_login(TARGET + "*admin", "top-secret")[0] == "OK"


# -- docker-mailserver's LDAP mode (ACCOUNT_PROVISIONER=LDAP) ---------------
# After its setup.d/ldap.sh: auth-ldap.conf.ext included instead of
# auth-passwdfile.inc, the connection's values replaced from the
# environment; the rest of DMS's files verbatim, its default filters
# included (uniqueIdentifier, which the test's entries carry).

from test_ldap_targets import ldap_users  # noqa: F401 (a fixture)

AUTH_CONF_LDAP = """\
auth_mechanisms = plain login
!include auth-ldap.conf.ext
#!include auth-passwdfile.inc
!include auth-master.inc
"""

AUTH_LDAP_CONF_EXT23 = """\
passdb {{
  driver = ldap
  mechanisms = plain login
  # Path for LDAP configuration file, see example-config/dovecot-ldap.conf.ext
  args = {tmp}/dovecot-ldap.conf.ext
}}

userdb {{
  driver = ldap
  args = {tmp}/dovecot-ldap.conf.ext

  # Default fields can be used to specify defaults that LDAP may override
  #default_fields = home=/home/virtual/%u
}}
"""

DOVECOT_LDAP_CONF_EXT23 = """\
base                = {base}
default_pass_scheme = SSHA
dn                  = {dn}
dnpass              = {dnpass}
uris                = {uris}
tls                 = no
ldap_version        = 3
pass_attrs          = uniqueIdentifier=user,userPassword=password
pass_filter         = (&(objectClass=PostfixBookMailAccount)(uniqueIdentifier=%n))
user_attrs          = mailHomeDirectory=home,mailUidNumber=uid,mailGidNumber=gid,mailStorageDirectory=mail
user_filter         = (&(objectClass=PostfixBookMailAccount)(uniqueIdentifier=%n))
auth_bind           = no
"""

AUTH_LDAP_CONF_EXT24 = """\
ldap_uris             = {uris}
ldap_base             = {base}
ldap_auth_dn          = {dn}
ldap_auth_dn_password = {dnpass}
ldap_starttls         = no

passdb ldap {{
  driver = ldap

  fields {{
    default_pass_scheme = SSHA
    user = %{{ldap:uniqueIdentifier}}
    password = %{{ldap:userPassword}}
  }}
}}

userdb ldap {{
  driver = ldap

  fields {{
    uid = %{{ldap:mailUidNumber}}
    gid = %{{ldap:mailGidNumber}}
    home = %{{ldap:mailHomeDirectory}}
    mail_path = %{{ldap:mailStorageDirectory}}
  }}
}}

passdb_ldap_filter = (&(objectClass=PostfixBookMailAccount)(uniqueIdentifier=%{{user | username}}))
userdb_ldap_filter = (&(objectClass=PostfixBookMailAccount)(uniqueIdentifier=%{{user | username}}))
"""


def dms_ldap_server(make_dovecot, slapd):
    from ldap_env import PEOPLE, ROOT_DN, ROOT_PW
    d = dms_server(make_dovecot, snippet=False)
    confd = os.path.join(d.tmp, "conf.d")
    fields = dict(tmp=d.tmp, uris=slapd.uri, base=PEOPLE, dn=ROOT_DN,
                  dnpass=ROOT_PW)
    files = [("conf.d/10-auth.conf", AUTH_CONF_LDAP),
             ("conf.d/auth-ldap.conf.ext",
              pick(AUTH_LDAP_CONF_EXT23, AUTH_LDAP_CONF_EXT24))]
    if not DOVECOT24:
        files.append(("dovecot-ldap.conf.ext", DOVECOT_LDAP_CONF_EXT23))
    for name, text in files:
        with open(os.path.join(d.tmp, name), "w") as f:
            f.write(text.format(**fields))
    if not DOVECOT24:
        os.chmod(os.path.join(d.tmp, "dovecot-ldap.conf.ext"), 0o600)
    apply_snippet(d, confd)
    if DOVECOT24:
        # the snippet says to: DMS's LDAP mode names its passdb and
        # userdb "ldap"
        local = os.path.join(d.tmp, "local.conf")
        text = open(local).read()
        for kind in ("passdb", "userdb"):
            old = "%s %s-default {" % (kind, kind)
            assert old in text
            text = text.replace(old, "%s ldap {" % kind)
        with open(local, "w") as f:
            f.write(text)
    return d


def test_dms_ldap_mode(make_dovecot, ldap_users):
    d = dms_ldap_server(make_dovecot, ldap_users)
    out = doveconf(d)
    assert master_passdbs(out.stdout) == ["dms_master"]
    d.start()
    mark = d.log_mark()
    # the LDAP user's mailbox, opened by a master from dovecot-masters.cf
    status, subjects = d.imap_login(TARGET + "*admin", "top-secret")
    assert status == "OK" and subjects == ["Subject: LDAP mailbox of user"], \
        (subjects, d.log_since(mark))
    assert d.pop3_login(TARGET + "*admin", "top-secret") == ("OK", 1)
    assert d.wait_log(mark, "stage=session master=admin target=" + TARGET)
    # ordinary LDAP logins as before
    assert d.imap_login(TARGET, "secret")[0] == "OK"
    assert_auth_failure(d.imap_login(TARGET, "top-secret"))
    assert_auth_failure(d.imap_login(TARGET + "*admin", "wrong"))
    assert_auth_failure(d.imap_login("nobody@example.com*admin",
                                     "top-secret"))
    # the policy and revocation from dovecot-masters.cf
    status, text = d.imap_login(TARGET + "*scoped", SCOPED_PW)
    assert status == "NO" and "AUTHORIZATIONFAILED" in text, text
    revoke_admin(d)
    assert_auth_failure(d.imap_login(TARGET + "*admin", "top-secret"))
