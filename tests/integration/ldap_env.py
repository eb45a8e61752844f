"""A private OpenLDAP slapd for the tests: generated slapd.conf, an mdb
database in a temporary directory, loopback only, every operation logged
(loglevel stats) so that tests can see which searches and binds Dovecot
made."""

import os
import shutil
import socket
import subprocess
import tempfile
import time

from dovecot_env import TIMEOUT, pick, terminate

SUFFIX = "dc=example,dc=com"
ROOT_DN = "cn=admin," + SUFFIX
ROOT_PW = "ldap-admin-secret"
PEOPLE = "ou=people," + SUFFIX

SLAPD_CONF = """
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
# docker-mailserver's mail accounts (tests/integration/ldap/)
include {tmp}/postfix-book.schema
pidfile {tmp}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 16777216
suffix "{suffix}"
rootdn "{root_dn}"
rootpw {root_pw}
directory {tmp}/db
access to attrs=userPassword
  by anonymous auth
  by * none
access to * by * read
"""


# docker-mailserver's LDAP mode: the passdb and userdb of its
# auth-ldap.conf.ext, their settings from its dovecot-ldap.conf.ext (2.3)
# or inline (2.4). For Dovecot(users=...), which formats {tmp}, {uid} and
# {gid} (hence the doubled braces); @KEY@ is filled in by users_conf().
LDAP_FILTER23 = "(&(objectClass=PostfixBookMailAccount)(uid=%n))"
LDAP_USERS23 = """
passdb {{
  driver = ldap
  args = {tmp}/dovecot-ldap-users.conf.ext
}}
userdb {{
  driver = ldap
  args = {tmp}/dovecot-ldap-users.conf.ext
  # on to the dms_master userdb
  result_success = continue-ok
}}
"""
LDAP_ARGS23 = """uris = @URIS@
dn = @DN@
dnpass = @DNPASS@
base = @BASE@
auth_bind = @AUTH_BIND@
default_pass_scheme = SSHA
pass_attrs = @USER_ATTR@=user,userPassword=password
pass_filter = @FILTER@
@USERDN23@
user_attrs = mailHomeDirectory=home,mailUidNumber=uid,mailGidNumber=gid,=mail=maildir:%{ldap:mailStorageDirectory}
user_filter = @FILTER@
"""

LDAP_USERS24 = """
ldap_uris = @URIS@
ldap_auth_dn = @DN@
ldap_auth_dn_password = @DNPASS@
ldap_base = @BASE@
passdb ldap {{
  driver = ldap
  bind = @AUTH_BIND@
  @USERDN24@
  filter = (&(objectClass=PostfixBookMailAccount)(uid=%{{user | username}}))
  default_password_scheme = SSHA
  fields {{
    user = %{{ldap:@USER_ATTR@}}
    @PASSWORD24@
  }}
}}
userdb ldap {{
  driver = ldap
  filter = (&(objectClass=PostfixBookMailAccount)(uid=%{{user | username}}))
  fields {{
    home = %{{ldap:mailHomeDirectory}}
    uid = %{{ldap:mailUidNumber}}
    gid = %{{ldap:mailGidNumber}}
    mail_driver = maildir
    mail_path = %{{ldap:mailStorageDirectory}}
  }}
  # on to the dms_master userdb
  result_success = continue-ok
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ssha(password):
    out = subprocess.run(["slappasswd", "-s", password], check=True,
                         capture_output=True, text=True, timeout=TIMEOUT)
    return out.stdout.strip()


class Slapd:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="dms-ldap-")
        os.mkdir(os.path.join(self.tmp, "db"))
        self.port = free_port()
        self.uri = "ldap://127.0.0.1:%d" % self.port
        self.conf = os.path.join(self.tmp, "slapd.conf")
        self.logfile = os.path.join(self.tmp, "slapd.log")
        shutil.copy(os.path.join(os.path.dirname(__file__), "ldap",
                                 "postfix-book.schema"), self.tmp)
        with open(self.conf, "w") as f:
            f.write(SLAPD_CONF.format(tmp=self.tmp, suffix=SUFFIX,
                                      root_dn=ROOT_DN, root_pw=ROOT_PW))
        self._log = open(self.logfile, "w")
        # -d stats: in the foreground, every search and bind to stderr
        self.proc = subprocess.Popen(
            ["slapd", "-f", self.conf, "-h", self.uri, "-d", "stats"],
            stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("slapd exited: %s" % self.log())
            try:
                socket.create_connection(("127.0.0.1", self.port),
                                         timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("slapd did not listen: %s"
                                       % self.log())
                time.sleep(0.05)
        self.add("dn: %s\nobjectClass: dcObject\nobjectClass: organization\n"
                 "o: example\ndc: example\n\n"
                 "dn: %s\nobjectClass: organizationalUnit\nou: people\n"
                 % (SUFFIX, PEOPLE))

    def add(self, ldif):
        subprocess.run(["ldapadd", "-x", "-H", self.uri, "-D", ROOT_DN,
                        "-w", ROOT_PW], input=ldif, check=True,
                       capture_output=True, text=True, timeout=TIMEOUT)

    def add_user(self, uid, mail, password):
        self.add("dn: uid=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\n"
                 "cn: %s\nsn: %s\nmail: %s\nuserPassword: %s\n"
                 % (uid, PEOPLE, uid, uid, uid, mail, ssha(password)))

    def add_mail_user(self, uid, mail, password, maildir):
        """A mail account as docker-mailserver's LDAP mode keeps them
        (its tests' 02_user-email.ldif): inetOrgPerson and
        PostfixBookMailAccount, the mailbox in mailStorageDirectory."""
        self.add("dn: uid=%s,%s\nobjectClass: inetOrgPerson\n"
                 "objectClass: PostfixBookMailAccount\nuid: %s\ncn: %s\n"
                 "sn: %s\nmail: %s\nuserPassword: %s\n"
                 "mailHomeDirectory: %s\nmailStorageDirectory: %s\n"
                 "mailUidNumber: 65534\nmailGidNumber: 65534\n"
                 "mailEnabled: TRUE\n"
                 % (uid, PEOPLE, uid, uid, uid, mail, ssha(password),
                    maildir, maildir))

    def users_conf(self, auth_bind, user_attr="uid", userdn=False):
        """docker-mailserver's LDAP passdb and userdb, for
        Dovecot(users=...): accounts found by the login's local part in a
        PostfixBookMailAccount; the passdb returns USER_ATTR as the user
        name (DMS: uid, the local part; "mail": the whole address). On 2.3
        write_args23() writes the file they read."""
        text = pick(LDAP_USERS23, LDAP_USERS24)
        return self._fill(text, auth_bind, user_attr, userdn)

    def write_args23(self, dovecot_tmp, auth_bind, user_attr="uid",
                     userdn=False):
        """USERDN: auth binds with a DN template, not a DN lookup."""
        path = os.path.join(dovecot_tmp, "dovecot-ldap-users.conf.ext")
        with open(path, "w") as f:
            f.write(self._fill(LDAP_ARGS23, auth_bind, user_attr, userdn))
        # as Debian ships it: the file holds the LDAP password
        os.chmod(path, 0o600)

    def _fill(self, text, auth_bind, user_attr, userdn):
        template = "uid=%n," + PEOPLE
        for key, value in (("URIS", self.uri), ("DN", ROOT_DN),
                           ("DNPASS", ROOT_PW), ("BASE", PEOPLE),
                           ("AUTH_BIND", auth_bind),
                           ("USER_ATTR", user_attr),
                           ("FILTER", LDAP_FILTER23),
                           # auth binds do not fetch it: 2.4 would fail
                           # to expand it (DMS's 2.4 file has it)
                           ("PASSWORD24", "password = %{{ldap:userPassword}}"
                            if auth_bind == "no" else ""),
                           ("USERDN23", "auth_bind_userdn = " + template
                            if userdn else ""),
                           ("USERDN24", "bind_userdn = " + template.replace(
                               "%n", "%{{user | username}}")
                            if userdn else "")):
            text = text.replace("@%s@" % key, value)
        return text

    def log(self):
        with open(self.logfile, errors="replace") as f:
            return f.read()

    def log_mark(self):
        return os.path.getsize(self.logfile)

    def log_since(self, mark):
        with open(self.logfile, errors="replace") as f:
            f.seek(mark)
            return f.read()

    def dovecot_conf(self, path, auth_bind):
        """A Dovecot 2.3 passdb ldap args file, filtered by %n as
        docker-mailserver's LDAP passdb is."""
        with open(path, "w") as f:
            f.write("uris = %s\ndn = %s\ndnpass = %s\nbase = %s\n"
                    "auth_bind = %s\n"
                    "pass_filter = (&(objectClass=inetOrgPerson)(uid=%%n))\n"
                    "pass_attrs = uid=user,userPassword=password\n"
                    "default_pass_scheme = SSHA\n"
                    % (self.uri, ROOT_DN, ROOT_PW, PEOPLE, auth_bind))
        os.chmod(path, 0o644)

    def passdb24(self, auth_bind):
        """The same passdb as Dovecot 2.4 settings: the connection is
        global (ldap_*), the lookup is in the passdb block."""
        return """
ldap_uris = %s
ldap_auth_dn = %s
ldap_auth_dn_password = %s
ldap_base = %s
passdb ldap {
  driver = ldap
  bind = %s
  filter = (&(objectClass=inetOrgPerson)(uid=%%{user | username}))
  default_password_scheme = SSHA
  fields {
    user = %%{ldap:uid}
    password = %%{ldap:userPassword}
  }
}
""" % (self.uri, ROOT_DN, ROOT_PW, PEOPLE, auth_bind)

    def cleanup(self):
        terminate(self.proc)
        self._log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
