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

from dovecot_env import TIMEOUT, terminate

SUFFIX = "dc=example,dc=com"
ROOT_DN = "cn=admin," + SUFFIX
ROOT_PW = "ldap-admin-secret"
PEOPLE = "ou=people," + SUFFIX

SLAPD_CONF = """
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
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
