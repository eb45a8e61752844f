"""A private OpenLDAP slapd for the tests: generated slapd.conf, an mdb
database in a temporary directory, loopback only, every operation logged
(loglevel stats) so that tests can see which searches and binds Dovecot
made."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from dovecot_env import TIMEOUT, TOP, pick, terminate

SUFFIX = "dc=example,dc=com"
ROOT_DN = "cn=admin," + SUFFIX
ROOT_PW = "ldap-admin-secret"
PEOPLE = "ou=people," + SUFFIX
MASTERS_OU = "ou=masters," + SUFFIX
# what the module binds as to read masters: no write rights
READER_DN = "cn=dovecot," + SUFFIX
READER_PW = "reader-secret"
# a valid attribute name of 200 characters, in the tests' schema
LONG_ATTR = "x" + "y" * 199
# the project's UUID arc (ldap/dms-master.schema); .99: the tests'
TEST_OID = "2.25.196968205430104311245378642370678684195"
# the policy attributes as setup writes them for "no limit"
NO_LIMIT = {"dmsAllow": "*", "dmsServices": "default", "dmsReadOnly": "FALSE",
            "dmsExpires": "99991231235959Z", "dmsDisabled": "FALSE",
            "dmsDeny": "none", "dmsPorts": "default", "dmsTotp": "FALSE",
            "dmsRequireGrant": "FALSE", "dmsGrantApproval": "FALSE"}

SLAPD_CONF = """
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
# docker-mailserver's mail accounts (tests/integration/ldap/)
include {tmp}/postfix-book.schema
# the shipped schema of masters kept in LDAP (ldap/)
include {tmp}/dms-master.schema
# the tests' own: an attribute with a 200-character name
include {tmp}/test-long-attr.schema
pidfile {tmp}/slapd.pid
{tls}
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 16777216
suffix "{suffix}"
rootdn "{root_dn}"
rootpw {root_pw}
directory {tmp}/db
{access}
"""

ACCESS = """access to attrs=userPassword,dmsTotpSecret
  by dn.exact="{reader_dn}" read
  by anonymous auth
  by * none
access to attrs=dmsTotpStep
  by dn.exact="{reader_dn}" write
  by * read
access to * by * read"""


# docker-mailserver's LDAP mode: the passdb and userdb of its
# auth-ldap.conf.ext, their settings from its dovecot-ldap.conf.ext (2.3)
# or inline (2.4). For Dovecot(users=...), which formats {tmp}, {uid} and
# {gid} (hence the doubled braces); @KEY@ is filled in by users_conf().
LDAP_FILTER23 = "(&(objectClass=PostfixBookMailAccount)(uid=%n))"
LDAP_USERS23 = """
passdb {{
  driver = ldap
  args = {tmp}/dovecot-ldap-users.conf.ext
  # on to the dms_master_check passdb
  result_success = continue-ok
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
  # on to the dms_master_check passdb
  result_success = continue-ok
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


def make_certs(directory):
    """A CA and a certificate for localhost/127.0.0.1 signed by it."""
    def run(*args):
        subprocess.run(args, check=True, capture_output=True,
                       timeout=TIMEOUT * 3, cwd=directory)
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=dms test CA")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes",
        "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=localhost")
    with open(os.path.join(directory, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem",
        "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem",
        "-days", "2", "-extfile", "ext.cnf")
    # slapd runs as root here; the key stays private all the same
    os.chmod(os.path.join(directory, "server.key"), 0o600)
    return os.path.join(directory, "ca.pem")


def ssha(password):
    out = subprocess.run(["slappasswd", "-s", password], check=True,
                         capture_output=True, text=True, timeout=TIMEOUT)
    return out.stdout.strip()


class Slapd:
    def __init__(self, tls=False, access=None):
        """ACCESS: slapd.conf access lines instead of the tests' own
        (the reader may read every entry, and userPassword)."""
        self.tmp = tempfile.mkdtemp(prefix="dms-ldap-")
        os.mkdir(os.path.join(self.tmp, "db"))
        self.port = free_port()
        self.uri = "ldap://127.0.0.1:%d" % self.port
        self.conf = os.path.join(self.tmp, "slapd.conf")
        self.logfile = os.path.join(self.tmp, "slapd.log")
        self.tls = tls
        # more listeners (an ldapi:// socket), for start()
        self.extra_urls = ""
        shutil.copy(os.path.join(os.path.dirname(__file__), "ldap",
                                 "postfix-book.schema"), self.tmp)
        shutil.copy(os.path.join(TOP, "ldap", "dms-master.schema"),
                    self.tmp)
        with open(os.path.join(self.tmp, "test-long-attr.schema"), "w") as f:
            f.write("attributetype ( %s.99.1 NAME '%s' EQUALITY "
                    "caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )\n"
                    % (TEST_OID, LONG_ATTR))
        tls_conf = ""
        if tls:
            self.ca = make_certs(self.tmp)
            self.ldaps_port = free_port()
            self.ldaps_uri = "ldaps://127.0.0.1:%d" % self.ldaps_port
            tls_conf = ("TLSCACertificateFile %s/ca.pem\n"
                        "TLSCertificateFile %s/server.pem\n"
                        "TLSCertificateKeyFile %s/server.key\n"
                        % (self.tmp, self.tmp, self.tmp))
        with open(self.conf, "w") as f:
            access = access or ACCESS.format(reader_dn=READER_DN)
            f.write(SLAPD_CONF.format(tmp=self.tmp, suffix=SUFFIX,
                                      root_dn=ROOT_DN, root_pw=ROOT_PW,
                                      reader_dn=READER_DN, tls=tls_conf,
                                      access=access))
        self._log = open(self.logfile, "w")
        self.start()
        self.add("dn: %s\nobjectClass: dcObject\nobjectClass: organization\n"
                 "o: example\ndc: example\n\n"
                 "dn: %s\nobjectClass: organizationalUnit\nou: people\n\n"
                 "dn: %s\nobjectClass: organizationalUnit\nou: masters\n\n"
                 "dn: %s\nobjectClass: organizationalRole\n"
                 "objectClass: simpleSecurityObject\ncn: dovecot\n"
                 "userPassword: %s\n"
                 % (SUFFIX, PEOPLE, MASTERS_OU, READER_DN, ssha(READER_PW)))

    def start(self):
        """(Again) on the same port and database."""
        urls = self.uri
        if self.tls:
            urls += " " + self.ldaps_uri
        if self.extra_urls:
            urls += " " + self.extra_urls
        # -d stats: in the foreground, every search and bind to stderr
        self.proc = subprocess.Popen(
            ["slapd", "-f", self.conf, "-h", urls, "-d", "stats"],
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

    def stop(self):
        terminate(self.proc)

    def pause(self):
        """A slapd that accepts connections and answers nothing."""
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def ldap_tool(self, tool, ldif, check=True):
        return subprocess.run([tool, "-x", "-H", self.uri, "-D", ROOT_DN,
                               "-w", ROOT_PW], input=ldif, check=check,
                              capture_output=True, text=True,
                              timeout=TIMEOUT)

    def modify(self, ldif):
        self.ldap_tool("ldapmodify", ldif)

    def delete(self, dn):
        subprocess.run(["ldapdelete", "-x", "-H", self.uri, "-D", ROOT_DN,
                        "-w", ROOT_PW, dn], check=True, capture_output=True,
                       text=True, timeout=TIMEOUT)

    def search(self, base, filt, *attrs):
        out = subprocess.run(["ldapsearch", "-x", "-LLL", "-o", "ldif-wrap=no",
                              "-H", self.uri, "-D", ROOT_DN, "-w", ROOT_PW,
                              "-b", base, filt] + list(attrs),
                             check=True, capture_output=True, text=True,
                             timeout=TIMEOUT)
        return out.stdout

    def add_master(self, name, password_value, complete=True, **attrs):
        """A master entry as auth-master-dms-setup --ldap writes it, with
        every policy attribute (the ones not in ATTRS at their "no limit"
        value, unless not COMPLETE); ATTRS: LDAP attribute -> value or
        list of values, None to leave it out."""
        lines = ["dn: uid=%s,%s" % (name, MASTERS_OU),
                 "objectClass: account", "objectClass: dmsMasterAccount",
                 "uid: %s" % name]
        if password_value is not None:
            lines.append("userPassword: %s" % password_value)
        if complete:
            attrs = dict(NO_LIMIT, **attrs)
        for attr, values in attrs.items():
            if values is None:
                continue
            if isinstance(values, str):
                values = [values]
            lines += ["%s: %s" % (attr, v) for v in values]
        self.add("\n".join(lines) + "\n")

    def add_policy_masters(self, hashed):
        """admin (no limit), scoped (*@example.com), ro (read-only), off
        (disabled) and old (expired), with the password HASHED."""
        self.add_master("admin", hashed)
        self.add_master("scoped", hashed, dmsAllow="*@example.com")
        self.add_master("ro", hashed, dmsReadOnly="TRUE")
        self.add_master("off", hashed, dmsDisabled="TRUE")
        self.add_master("old", hashed, dmsExpires="20200101000000Z")
        self.hashed = hashed

    def master_conf(self, directory, **settings):
        """The module's (and setup's) LDAP settings file in DIRECTORY,
        with the reader's password file; SETTINGS add or replace keys.
        Returns its path."""
        pwfile = os.path.join(directory, "ldap-reader.secret")
        with open(pwfile, "w") as f:
            f.write(READER_PW + "\n")
        os.chmod(pwfile, 0o600)
        keys = {"uris": self.uri, "base": MASTERS_OU, "bind_dn": READER_DN,
                "bind_password_file": pwfile, "timeout": "2"}
        keys.update(settings)
        path = os.path.join(directory, "dms-master-ldap.conf")
        with open(path, "w") as f:
            f.write("# written by the tests (ldap_env.master_conf)\n")
            for k, v in keys.items():
                if v is not None:
                    f.write("%s = %s\n" % (k, v))
        os.chmod(path, 0o640)
        return path

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
                 "objectClass: PostfixBookMailAccount\n"
                 # docker-mailserver's default filters and its 2.4 user
                 # field read uniqueIdentifier, which OpenLDAP's schema
                 # gives no class (cosine's pilotObject is commented out)
                 "objectClass: extensibleObject\nuniqueIdentifier: %s\n"
                 "uid: %s\ncn: %s\n"
                 "sn: %s\nmail: %s\nuserPassword: %s\n"
                 "mailHomeDirectory: %s\nmailStorageDirectory: %s\n"
                 "mailUidNumber: 65534\nmailGidNumber: 65534\n"
                 "mailEnabled: TRUE\n"
                 % (uid, PEOPLE, uid, uid, uid, uid, mail, ssha(password),
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
  result_success = continue-ok
}
""" % (self.uri, ROOT_DN, ROOT_PW, PEOPLE, auth_bind)

    def cleanup(self):
        try:
            self.resume()
        except ProcessLookupError:
            pass
        terminate(self.proc)
        self._log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
