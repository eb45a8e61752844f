"""A private Dovecot for one test scenario: configuration, start, stop,
log, and the clients the tests use. Runs inside tests/integration/run.sh's
namespace, so it listens on a loopback of its own."""

import grp
import imaplib
import json
import os
import poplib
import pty
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import termios
import time

DOVECOT_GID = grp.getgrnam("dovecot").gr_gid
MAIL_UID = 65534  # nobody
MAIL_GID = 65534  # nogroup
TIMEOUT = 10      # seconds, for every client and wait

TOP = os.environ.get("DMS_TOP", os.path.join(os.path.dirname(__file__),
                                             "..", ".."))

# The Dovecot under test: 2.3 on Debian 12, 2.4 in the Debian 13 root
# (tests/dovecot24/run.sh). The configurations differ; the tests do not.
DOVECOT_VERSION = subprocess.run(["dovecot", "--version"], check=True,
                                 capture_output=True, text=True,
                                 timeout=TIMEOUT).stdout.strip()
DOVECOT24 = DOVECOT_VERSION.startswith("2.4")


def pick(conf23, conf24):
    """The text for the Dovecot under test."""
    return conf24 if DOVECOT24 else conf23


def var24(text):
    """2.3's %-variables in a test's format, in 2.4's syntax."""
    for old, new in (("%Lu", "%{user | lower}"), ("%u", "%{user}"),
                     ("%n", "%{user | username}"),
                     ("%d", "%{user | domain}")):
        text = text.replace(old, new)
    return text


# the dms_master passdb's 2.3 args, as 2.4 settings (README's table)
ARGS24 = {"separator": "dms_master_separator",
          "username_format": "dms_master_username_format",
          "default_services": "dms_master_default_services",
          "audit_file": "dms_master_audit_file",
          "store": "dms_master_store",
          "protected": "dms_master_protected",
          "ports": "dms_master_ports",
          "totp_state": "dms_master_totp_state",
          "scheme": "default_password_scheme",
          "blocking": "use_worker"}


def args24(args, store):
    """passdb args, e.g. "blocking=yes audit_file=F", as the settings
    lines of a 2.4 passdb block. An empty store leaves the path unset."""
    lines = ["  dms_master_path = %s" % store] if store else []
    for word in args.split():
        key, _, value = word.partition("=")
        if key == "username_format":
            value = var24(value)
        if key == "default_services":
            value = value.replace(",", " ")
        lines.append("  %s = %s" % (ARGS24.get(key, key), value))
    return "\n".join(lines)

USERS = {"user@example.com": "secret", "other@example.org": "other-secret"}
MASTERS = {"admin": "top-secret", "backup": "backup-pass"}


def doveadm_pw(password, scheme="SHA512-CRYPT"):
    """Dovecot's own hashing: the independent reference."""
    out = subprocess.run(["doveadm", "pw", "-s", scheme, "-p", password],
                         check=True, capture_output=True, text=True,
                         timeout=TIMEOUT)
    return out.stdout.strip()


def group_running(pgid):
    """Whether a process of group PGID still runs (zombies do not count:
    they hold no sockets, and reaping them is up to PID 1)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # after "pid (comm)": state, ppid, pgrp
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def terminate(proc):
    """SIGTERM, then SIGKILL if PROC has not ended within TIMEOUT."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=TIMEOUT)


# The services of both versions' configurations: 2.4 calls a listener's
# address "listen".
SERVICES = """service imap-login {{
  inet_listener imap {{
    {listen_key} = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    {listen_key} = 127.0.0.1
    port = {pop3_port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
# no anvil auth penalty: it delays repeated failures from one IP by up to
# 15 s, and the tests fail on purpose many times in a row
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0600
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
# the session records of master sessions (conf.d/auth-dms-userdb.conf.ext),
# written to the audit file beside the login records
service dms-session {{
  executable = {session_executable}
  process_limit = 1
  unix_listener dms-session {{
    mode = 0666
  }}
  unix_listener dms-session-admin {{
    mode = 0600
  }}
}}
"""

CONF = """
protocols = imap pop3
listen = 127.0.0.1
base_dir = {tmp}/run
state_dir = {tmp}/state
log_path = {tmp}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login cram-md5
auth_verbose = yes
auth_failure_delay = 0
first_valid_uid = 1
mail_location = maildir:{tmp}/mail/%d/%n
mail_log_prefix = "%s(%u)<master=%{{auth_user}}>: "
{services}{auth}
{users}
{extra}
{userdb_tail}
"""

CONF24 = """
dovecot_config_version = 2.4.1
dovecot_storage_version = 2.4.1
protocols = imap pop3
listen = 127.0.0.1
base_dir = {tmp}/run
state_dir = {tmp}/state
log_path = {tmp}/dovecot.log
ssl = no
auth_allow_cleartext = yes
auth_mechanisms = plain login cram-md5
auth_verbose = yes
auth_failure_delay = 0
first_valid_uid = 1
mail_driver = maildir
mail_path = {tmp}/mail/%{{user | domain}}/%{{user | username}}
mail_log_prefix = "%{{protocol}}(%{{user}})<master=%{{auth_user}}>: "
{services}{auth}
{users}
{extra}
{userdb_tail}
"""

# The ordinary accounts: a passwd-file as passdb and userdb. A test may
# put its own in their place (Dovecot(users=...), e.g. LDAP ones); the
# text is formatted with tmp, uid and gid.
USERS_CONF = pick("""
passdb {{
  driver = passwd-file
  args = scheme=SHA512-CRYPT username_format=%u {tmp}/users
  # shows %{{master_user}} in the auth reply (doveadm auth test prints it)
  override_fields = seen_master=%{{master_user}}
  # on to the dms_master_check passdb (conf.d/auth-dms-userdb.conf.ext)
  result_success = continue-ok
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {tmp}/users
  default_fields = uid={uid} gid={gid} home={tmp}/mail/%d/%n
  # on to the dms_master userdb (conf.d/auth-dms-userdb.conf.ext)
  result_success = continue-ok
}}
""", """
passdb users {{
  driver = passwd-file
  passwd_file_path = {tmp}/users
  default_password_scheme = SHA512-CRYPT
  auth_username_format = %{{user}}
  fields {{
    seen_master = %{{master_user}}
  }}
  # on to the dms_master_check passdb (conf.d/auth-dms-userdb.conf.ext)
  result_success = continue-ok
}}
userdb users {{
  driver = passwd-file
  passwd_file_path = {tmp}/users
  auth_username_format = %{{user}}
  fields {{
    uid:default = {uid}
    gid:default = {gid}
    home:default = {tmp}/mail/%{{user | domain}}/%{{user | username}}
  }}
  result_success = continue-ok
}}
""")

# conf.d/auth-dms-userdb.conf.ext: last, after any passdb and userdb in
# extra
USERDB_TAIL = pick("""
passdb {
  driver = dms_master_check
}
userdb {
  driver = dms_master
}
""", """
passdb dms_master_check {
  driver = dms_master_check
}
userdb dms_master {
  driver = dms_master
}
""")

AUTH_MASTER = """
auth_master_user_separator = *
passdb {{
  driver = dms_master
  args = {args} {store}
  master = yes
  result_success = continue
}}
"""

AUTH_SELFSPLIT = """
auth_username_chars = abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234567890.-_@*
passdb {{
  driver = dms_master
  args = {args} {store}
  result_success = continue
}}
"""

# Dovecot's own passwd-file master passdb: the reference the module is
# compared with (benchmark, extra fields side by side)
AUTH_PASSWD_FILE = """
auth_master_user_separator = *
passdb {{
  driver = passwd-file
  args = scheme=SHA512-CRYPT username_format=%u {store}
  master = yes
  result_success = continue
}}
"""

AUTH_MASTER24 = """
auth_master_user_separator = *
passdb dms_master {{
  driver = dms_master
{args}
  master = yes
  result_success = continue
}}
"""

AUTH_SELFSPLIT24 = """
auth_username_chars = abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234567890.-_@*
passdb dms_master {{
  driver = dms_master
{args}
  result_success = continue
}}
"""

AUTH_PASSWD_FILE24 = """
auth_master_user_separator = *
passdb passdb-master {{
  driver = passwd-file
  passwd_file_path = {store}
  default_password_scheme = SHA512-CRYPT
  auth_username_format = %{{user}}
  master = yes
  result_success = continue
}}
"""

if DOVECOT24:
    AUTH_MASTER, AUTH_SELFSPLIT = AUTH_MASTER24, AUTH_SELFSPLIT24
    AUTH_PASSWD_FILE = AUTH_PASSWD_FILE24
AUTH = {"master": AUTH_MASTER, "selfsplit": AUTH_SELFSPLIT}


class Dovecot:
    def __init__(self, mode, args="", auth=None, extra="",
                 imap_port=143, pop3_port=110, userdb_tail=USERDB_TAIL,
                 store_dir=None, users=USERS_CONF, session_args=""):
        self.mode = mode
        self.tmp = tempfile.mkdtemp(prefix="dms-it-")
        os.chmod(self.tmp, 0o755)  # the mail uid walks into it
        # store_dir: a directory of the store's own (root's, 0755)
        if store_dir is not None:
            os.mkdir(os.path.join(self.tmp, store_dir), 0o755)
        self.store = os.path.join(self.tmp, store_dir or "",
                                  "dovecot-masters.cf")
        self.conf = os.path.join(self.tmp, "dovecot.conf")
        self.logfile = os.path.join(self.tmp, "dovecot.log")
        self.imap_port = imap_port
        self.pop3_port = pop3_port
        self.proc = None
        # passdb args may say audit_file=@AUDIT_FILE@: a file in a
        # directory only root and the auth process (dovecot) may write
        self.audit = os.path.join(self.tmp, "audit", "masters.jsonl")
        os.mkdir(os.path.dirname(self.audit))
        os.chown(os.path.dirname(self.audit), 0, DOVECOT_GID)
        os.chmod(os.path.dirname(self.audit), 0o770)
        args = args.replace("@AUDIT_FILE@", self.audit)
        # files Dovecot reads are copied here: the checkout may be where
        # the dovecot user cannot enter (root's clone in /root, 0700)
        shutil.copy(os.path.join(TOP, "conf.d", "dms-master-read-only.acl"),
                    self.tmp)
        extra = extra.replace("@TMP@", self.tmp)
        auth_tmpl = AUTH[mode] if auth is None else auth
        fields = dict(tmp=self.tmp, uid=MAIL_UID, gid=MAIL_GID,
                      extra=extra,
                      userdb_tail=userdb_tail.replace("@TMP@", self.tmp))
        fields["users"] = users.replace("@TMP@", self.tmp).format(
            tmp=self.tmp, uid=MAIL_UID, gid=MAIL_GID)
        fields["services"] = SERVICES.format(
            listen_key=pick("address", "listen"), imap_port=imap_port,
            pop3_port=pop3_port, session_executable=" ".join(
                ["dms-session"] + session_args.replace(
                    "@TMP@", self.tmp).split() + [self.audit]))
        if DOVECOT24:
            fields["auth"] = auth_tmpl.format(args=args24(args, self.store),
                                              store=self.store)
        else:
            fields["auth"] = auth_tmpl.format(args=args, store=self.store)
        with open(self.conf, "w") as f:
            f.write(pick(CONF, CONF24).format(**fields))
        self.write_users(USERS)
        self.write_masters(MASTERS)
        self.deliver("user@example.com", "Hello from the INBOX")

    # -- files ------------------------------------------------------------
    def write_users(self, users, scheme="SHA512-CRYPT"):
        lines = ["%s:%s::::::\n" % (u, doveadm_pw(p, scheme))
                 for u, p in users.items()]
        self._replace(os.path.join(self.tmp, "users"), "".join(lines))

    def write_masters(self, masters, scheme="SHA512-CRYPT"):
        """docker-mailserver's format: NAME|{SCHEME}HASH"""
        self.write_store("".join("%s|%s\n" % (n, doveadm_pw(p, scheme))
                                 for n, p in masters.items()))

    def write_store(self, text):
        self._replace(self.store, text)

    def _replace(self, path, text):
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        # as setup writes them: root:dovecot 0640 (the auth process runs as
        # the dovecot user; the module refuses or warns about laxer modes)
        os.chown(tmp, 0, DOVECOT_GID)
        os.chmod(tmp, 0o640)
        os.rename(tmp, path)

    def deliver(self, user, subject):
        local, domain = user.split("@")
        base = os.path.join(self.tmp, "mail", domain, local)
        for d in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(base, d), exist_ok=True)
        name = os.path.join(base, "new", "%d.M1P1.test" % time.time_ns())
        with open(name, "w") as f:
            f.write("From: a@example.com\r\nTo: %s\r\nSubject: %s\r\n\r\n"
                    "body\r\n" % (user, subject))
        for root, dirs, files in os.walk(os.path.join(self.tmp, "mail")):
            for n in dirs + files:
                os.chown(os.path.join(root, n), MAIL_UID, MAIL_GID)
        os.chown(os.path.join(self.tmp, "mail"), MAIL_UID, MAIL_GID)

    # -- process ----------------------------------------------------------
    def start(self, expect_port=True):
        # a session of its own: on shutdown Dovecot's master signals its
        # whole process group, which must not include the test runner
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", self.conf],
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True)
        if not expect_port:
            return
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("dovecot exited: %s" % self.log())
            # this instance's own socket first: a port can still be held
            # by a previous instance's last processes
            if os.path.exists(os.path.join(self.tmp, "run", "auth-client")):
                try:
                    socket.create_connection(("127.0.0.1", self.imap_port),
                                             timeout=1).close()
                    return
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError("dovecot did not listen: %s" % self.log())

    def stop(self):
        if self.proc is not None:
            terminate(self.proc)
            # the master is gone; its children (login processes holding
            # the listening ports) may not be yet: wait for the process
            # group, so that the next instance gets the ports
            deadline = time.monotonic() + TIMEOUT
            while group_running(self.proc.pid):
                if time.monotonic() > deadline:
                    try:
                        os.killpg(self.proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    break
                time.sleep(0.02)
        self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def log(self):
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def audit_records(self):
        """The login records (stage auth, check, session) among the JSON
        lines of audit_file=@AUDIT_FILE@, [] before the first."""
        return [r for r in self._audit_lines() if "stage" in r]

    def session_records(self, master=None):
        """The session records (dms-session service) of the audit file,
        of MASTER's sessions if given."""
        return [r for r in self._audit_lines() if "event" in r and
                (master is None or r["master"] == master)]

    def wait_session_records(self, check, timeout=TIMEOUT):
        """The session records once CHECK(records) is true."""
        deadline = time.monotonic() + timeout
        while True:
            records = self.session_records()
            if check(records):
                return records
            if time.monotonic() > deadline:
                raise AssertionError("session records: %r" % records)
            time.sleep(0.05)

    def _audit_lines(self):
        try:
            with open(self.audit) as f:
                return [json.loads(line) for line in f]
        except FileNotFoundError:
            return []

    def log_mark(self):
        return len(self.log())

    def log_since(self, mark):
        return self.log()[mark:]

    def wait_log(self, mark, text, timeout=TIMEOUT):
        """Log lines can land a moment after the client's answer."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log_since(mark):
                return True
            time.sleep(0.05)
        return False

    def wait_log_re(self, mark, pattern, timeout=TIMEOUT):
        """The first match of PATTERN in the log since MARK, waiting for
        it as wait_log does; None when it did not come."""
        deadline = time.monotonic() + timeout
        while True:
            m = re.search(pattern, self.log_since(mark))
            if m or time.monotonic() >= deadline:
                return m
            time.sleep(0.05)

    def log_settled(self, mark=0):
        """The log since MARK once all the auth process wrote before now is
        in it. The log process gets each process's lines in order, so a
        probe login's audit line is behind all earlier ones (file store:
        the passdb runs in the auth process)."""
        probe = "probe%d" % time.monotonic_ns()
        self.doveadm_auth_test("probe@example.com*" + probe, "x")
        assert self.wait_log(mark, "master=%s " % probe), \
            self.log_since(mark)
        return self.log_since(mark)

    def wait_auth_fatal(self, login=("user@example.com*admin", "top-secret"),
                        timeout=3 * TIMEOUT):
        """Whether the auth process refused to start with a "Fatal:
        passdb dms_master:" line. It starts with the first client, and
        Dovecot starts it again at most once a throttling interval: ask
        until the line is there (a busy machine may need more than one)."""
        fatal = "Fatal: passdb dms_master: "
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rc, out = self.doveadm_auth_test(*login)
            assert rc != 0, out
            if self.wait_log(0, fatal, timeout=3):
                return True
        return False

    def auth_cpu_ns(self):
        """CPU time the auth process (where the passdb verifies) has used:
        the wall clock of a shared machine is too noisy to compare."""
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % entry) as f:
                    comm, rest = f.read().rsplit(")", 1)
                if (comm.endswith("(auth") and
                        int(rest.split()[1]) == self.proc.pid):
                    with open("/proc/%s/schedstat" % entry) as f:
                        return int(f.read().split()[0])
            except (OSError, IndexError, ValueError):
                continue
        raise RuntimeError("no auth process")

    # -- clients ----------------------------------------------------------
    def imap_login(self, user, password, port=None):
        """Returns ("OK", inbox subjects) or ("NO", server's text)."""
        imap = imaplib.IMAP4("127.0.0.1", port or self.imap_port,
                             timeout=TIMEOUT)
        try:
            imap.login(user, password)
        except imaplib.IMAP4.error as e:
            imap.shutdown()
            return "NO", str(e)
        try:
            typ, data = imap.select("INBOX", readonly=True)
            assert typ == "OK"
            if int(data[0]) == 0:
                return "OK", []
            typ, data = imap.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            subjects = [d[1].decode().strip() for d in data
                        if isinstance(d, tuple)]
            return "OK", subjects
        finally:
            imap.logout()

    def imap_cram_md5(self, user, password):
        imap = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=TIMEOUT)
        try:
            imap.login_cram_md5(user, password)
            imap.logout()
            return "OK", ""
        except imaplib.IMAP4.error as e:
            imap.shutdown()
            return "NO", str(e)

    def pop3_login(self, user, password, port=None):
        """Returns ("OK", message count) or ("NO", server's text)."""
        pop = poplib.POP3("127.0.0.1", port or self.pop3_port,
                          timeout=TIMEOUT)
        try:
            pop.user(user)
            pop.pass_(password)
        except poplib.error_proto as e:
            pop.close()
            return "NO", str(e)
        count, _ = pop.stat()
        pop.quit()
        return "OK", count

    def doveadm_auth_test(self, user, password, service="imap",
                          fields=()):
        """FIELDS: more auth request fields, e.g. "lport=143"."""
        # 2.4 calls the service "protocol"
        field = pick("service=", "protocol=") + service
        extra = [a for f in fields for a in ("-x", f)]
        out = subprocess.run(["doveadm", "-c", self.conf, "auth", "test",
                              "-x", field] + extra + [user, password],
                             capture_output=True, text=True, timeout=TIMEOUT)
        return out.returncode, out.stdout + out.stderr


def run_on_terminal(argv, env, answers=(), timeout=3 * TIMEOUT):
    """Run ARGV on a pseudo-terminal, typing each of ANSWERS at the next
    "Password:" prompt. Returns (exit status, everything it printed)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe(argv[0], argv, env)
    out, pending = b"", list(answers)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if not r:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        if pending and out.count(b"Password:") > len(answers) - len(pending):
            # once echo is off: turning it off with TCSAFLUSH drops what
            # was typed before (doveadm does so after its prompt)
            while termios.tcgetattr(fd)[3] & termios.ECHO and \
                    time.monotonic() < deadline:
                time.sleep(0.01)
            os.write(fd, pending.pop(0).encode() + b"\n")
    # bounded: a child still waiting for input is killed
    for _ in range(50):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


class Saslauthd:
    """saslauthd -a rimap against the private Dovecot, and testsaslauthd."""

    def __init__(self, imap_port=143):
        self.dir = tempfile.mkdtemp(prefix="dms-sasl-")
        host = "127.0.0.1" if imap_port == 143 else "127.0.0.1/%d" % imap_port
        self.proc = subprocess.Popen(
            ["saslauthd", "-a", "rimap", "-O", host, "-m", self.dir,
             "-n", "1", "-d"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        deadline = time.monotonic() + TIMEOUT
        while not os.path.exists(os.path.join(self.dir, "mux")):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("saslauthd did not start")
            time.sleep(0.05)

    def test(self, user, password):
        out = subprocess.run(["testsaslauthd", "-f",
                              os.path.join(self.dir, "mux"),
                              "-u", user, "-p", password],
                             capture_output=True, text=True, timeout=TIMEOUT)
        return out.returncode, out.stdout.strip()

    def cleanup(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)
        shutil.rmtree(self.dir, ignore_errors=True)
