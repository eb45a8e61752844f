"""The webmail parts of the tests (issue 23), each a real program started
by the test on the namespace's private loopback:

- Roundcube: Debian's package, in a tree of the test's own (symlinks to
  /usr/share/roundcube, its own config and SQLite database, the plugins of
  contrib/roundcube installed by its install.sh), served by PHP's built-in
  web server, and driven over HTTP as a browser does (session cookie,
  CSRF token, the AJAX requests' X-Roundcube-Request header).
- Postfix: Debian's, a private instance (its own config, queue and log)
  with SASL through Dovecot's auth service and smtpd_sender_login_maps,
  relaying to the test's SMTP sink.
- Chromium, headless, through chromedriver (WebDriver over HTTP)."""

import base64
import glob
import http.cookiejar
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

from dovecot_env import TIMEOUT, TOP, terminate

ROUNDCUBE = "/usr/share/roundcube"
POSTFIX = "/usr/sbin/postfix"
CHROMEDRIVER = "/usr/bin/chromedriver"


def have_roundcube():
    return (os.path.isfile(os.path.join(ROUNDCUBE, "index.php")) and
            shutil.which("php") is not None)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what, log=lambda: ""):
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("%s exited: %s" % (what, log()))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("%s did not listen on %d: %s" % (what, port, log()))


# -- Roundcube ---------------------------------------------------------------

RECIPE = os.path.join(TOP, "contrib", "roundcube")

# the test's own settings (its database, ports, logs), then the recipe's
# lines as contrib/roundcube/roundcube-config.inc.php gives them
RC_CONFIG = """<?php
$config = [];
$config['db_dsnw'] = 'sqlite:///{rc}/db/roundcube.db?mode=0640';
$config['imap_host'] = '127.0.0.1:{imap_port}';
$config['smtp_host'] = '127.0.0.1:{smtp_port}';
$config['managesieve_host'] = '127.0.0.1:{sieve_port}';
$config['managesieve_raw_editor'] = true;
$config['des_key'] = 'dms-test-key-0123456789ab';
$config['plugins'] = [];
$config['log_driver'] = 'file';
$config['log_dir'] = '{rc}/logs/';
$config['temp_dir'] = '{rc}/temp/';
$config['create_default_folders'] = true;
// a reverse proxy in front of Roundcube, as operators run it
$config['proxy_whitelist'] = ['127.0.0.1'];
// the tests log in often, and fail on purpose
$config['login_rate_limit'] = 0;
$config['enable_installer'] = false;
// the plugin's SMTP login must not show in it (test_webmail.py)
$config['smtp_debug'] = true;
$config['smtp_helo_host'] = 'webmail.example.com';
"""


def recipe(name):
    """A file of the recipe (contrib/roundcube), as operators copy it."""
    with open(os.path.join(RECIPE, name)) as f:
        return f.read()


def link_all_but(src, dst, name):
    """Links in DST to everything in SRC but NAME."""
    for path in glob.glob(os.path.join(src, "*")):
        if os.path.basename(path) != name:
            os.symlink(path, os.path.join(dst, os.path.basename(path)))


class Roundcube:
    """Debian's Roundcube in the test's directory, served by `php -S`."""

    def __init__(self, tmp, imap_port, smtp_port, sieve_port):
        self.rc = os.path.join(tmp, "roundcube")
        self.db = os.path.join(self.rc, "db", "roundcube.db")
        self.port = free_port()
        self.url = "http://127.0.0.1:%d/" % self.port
        rc = self.rc
        for d in ("config", "db", "logs", "temp", "plugins", "public_html"):
            os.makedirs(os.path.join(rc, d))
        for name in ("index.php", "program", "SQL"):
            os.symlink(os.path.join(ROUNDCUBE, name), os.path.join(rc, name))
        # Debian's public directory: its index.php sets INSTALL_PATH to
        # the directory above it, this tree
        shutil.copy("/var/lib/roundcube/public_html/index.php",
                    os.path.join(rc, "public_html"))
        os.symlink("/var/lib/roundcube/public_html/program",
                   os.path.join(rc, "public_html", "program"))
        os.symlink("/var/lib/roundcube/skins",
                   os.path.join(rc, "public_html", "skins"))
        os.symlink("../plugins", os.path.join(rc, "public_html", "plugins"))
        os.symlink("/var/lib/roundcube/skins", os.path.join(rc, "skins"))
        for name in ("defaults.inc.php", "mimetypes.php"):
            os.symlink(os.path.join("/etc/roundcube", name),
                       os.path.join(rc, "config", name))
        with open(os.path.join(rc, "config", "config.inc.php"), "w") as f:
            f.write(RC_CONFIG.format(rc=rc, imap_port=imap_port,
                                     smtp_port=smtp_port,
                                     sieve_port=sieve_port) +
                    recipe("roundcube-config.inc.php").replace(
                        "<?php", ""))
        # Debian's plugins, but managesieve without Debian's config file
        # (/etc/roundcube/plugins: it would set managesieve_host)
        plugins = os.path.join(ROUNDCUBE, "plugins")
        link_all_but(plugins, os.path.join(rc, "plugins"), "managesieve")
        os.mkdir(os.path.join(rc, "plugins", "managesieve"))
        link_all_but(os.path.join(plugins, "managesieve"),
                     os.path.join(rc, "plugins", "managesieve"),
                     "config.inc.php")
        # the recipe's install step, as contrib/roundcube/README.md gives it
        self.install_out = subprocess.run(
            ["sh", os.path.join(TOP, "contrib", "roundcube", "install.sh"),
             os.path.join(rc, "plugins")], check=True, capture_output=True,
            text=True, timeout=TIMEOUT).stdout
        db = sqlite3.connect(self.db)
        with open(os.path.join(ROUNDCUBE, "SQL", "sqlite.initial.sql")) as f:
            db.executescript(f.read())
        db.close()
        self.proc = None

    def start(self):
        self.log = open(os.path.join(self.rc, "logs", "php-server.log"), "w")
        self.proc = subprocess.Popen(
            ["php", "-S", "127.0.0.1:%d" % self.port, "-t",
             os.path.join(self.rc, "public_html")],
            stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True, cwd=os.path.join(self.rc, "public_html"))
        wait_port(self.port, self.proc, "php -S", self.errors)

    def stop(self):
        if self.proc is not None:
            terminate(self.proc)
            self.proc = None
            self.log.close()

    def errors(self):
        """Roundcube's error log and the web server's."""
        return "".join(self.log_lines("errors.log") +
                       self.log_lines("php-server.log"))

    def log_lines(self, name):
        """The lines of a log of Roundcube's (its log directory)."""
        path = os.path.join(self.rc, "logs", name)
        if not os.path.exists(path):
            return []
        with open(path, errors="replace") as f:
            return f.readlines()

    def refusals(self):
        """The plugin's log lines of refusals: actions refused to a
        read-only master, sessions Dovecot ended."""
        return [line for line in self.log_lines("dms_master.log")
                if "refused" in line]

    def _query(self, sql, args=()):
        db = sqlite3.connect(self.db)
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    def user_rows(self):
        """The users Roundcube keeps a record of."""
        return [r[0] for r in self._query("SELECT username FROM users")]

    def preferences(self, user):
        """USER's settings as Roundcube stores them (serialized PHP)."""
        rows = self._query("SELECT preferences FROM users WHERE "
                           "username = ?", (user,))
        return rows[0][0] or "" if rows else None

    def session(self, client_ip=None):
        return WebmailSession(self, client_ip)


class Response:
    def __init__(self, status, url, body):
        self.status, self.url, self.text = status, url, body

    def json(self):
        return json.loads(self.text)


class WebmailSession:
    """One browser: cookies, the CSRF token, Roundcube's requests."""

    def __init__(self, rc, client_ip=None):
        self.rc = rc
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar))
        self.token = None
        # as a reverse proxy in Roundcube's proxy_whitelist sends it
        self.headers = {"X-Forwarded-For": client_ip} if client_ip else {}

    def request(self, query, data=None, ajax=False):
        url = self.rc.url + "?" + urllib.parse.urlencode(query)
        headers = dict(self.headers)
        if ajax:
            headers["X-Roundcube-Request"] = self.token
        body = None if data is None else urllib.parse.urlencode(
            data, doseq=True).encode()
        req = urllib.request.Request(url, data=body, headers=headers)
        try:
            with self.opener.open(req, timeout=3 * TIMEOUT) as r:
                text = r.read().decode("utf-8", "replace")
                resp = Response(r.status, r.geturl(), text)
        except urllib.error.HTTPError as e:
            resp = Response(e.code, url, e.read().decode("utf-8", "replace"))
        m = re.search(r'"request_token":"([^"]+)"', resp.text)
        if m:
            self.token = m.group(1)
        return resp

    def login(self, user, password):
        """The login form as a browser sends it; the page after it."""
        page = self.request({"_task": "login"})
        token = re.search(r'name="_token" value="([^"]+)"', page.text)
        assert token, page.text[:2000]
        return self.request({"_task": "login"}, {
            "_token": token.group(1), "_task": "login", "_action": "login",
            "_timezone": "UTC", "_url": "", "_user": user,
            "_pass": password})

    def mail(self):
        return self.request({"_task": "mail", "_mbox": "INBOX"})

    def list(self, mbox="INBOX"):
        return self.request({"_task": "mail", "_action": "list",
                             "_mbox": mbox, "_remote": 1}, ajax=True)

    def show(self, uid, mbox="INBOX"):
        return self.request({"_task": "mail", "_action": "show",
                             "_uid": uid, "_mbox": mbox})

    def action(self, task, action, data):
        """An AJAX POST, as Roundcube's JavaScript sends one."""
        return self.request({"_task": task, "_action": action},
                            dict(data, _remote=1, _token=self.token),
                            ajax=True)

    def form(self, task, action, data):
        """A form's POST into a frame, as Roundcube's pages send one
        (task, action and token in hidden fields too)."""
        return self.request({"_task": task, "_action": action},
                            dict(data, _task=task, _action=action,
                                 _token=self.token, _framed="1"))

    def compose(self):
        page = self.request({"_task": "mail", "_action": "compose"})
        compose_id = re.search(r'"compose_id":"([^"]+)"', page.text)
        identity = re.search(r'<select[^>]*name="_from"[^>]*>\s*<option '
                             r'value="(\d+)"', page.text)
        return page, (compose_id.group(1) if compose_id else None), \
            (identity.group(1) if identity else None)

    def send(self, to, subject, body="Hello from webmail"):
        """Compose and send a plain message; the send action's answer."""
        page, compose_id, identity = self.compose()
        if compose_id is None:
            return page
        return self.form("mail", "send", {
            "_id": compose_id, "_from": identity, "_to": to,
            "_subject": subject, "_message": body, "_is_html": "0",
            "_charset": "UTF-8", "_priority": "0", "_store_target": "Sent"})


# -- Postfix -----------------------------------------------------------------

# the private instance's own settings, then the recipe's lines
# (contrib/roundcube/postfix-main.cf), the sender map in its directory
POSTFIX_MAIN = """
compatibility_level = 3.6
config_directory = {etc}
queue_directory = {queue}
data_directory = {data}
mail_owner = postfix
setgid_group = postdrop
myhostname = mail.example.com
mydomain = example.com
mydestination =
local_recipient_maps =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
maillog_file = {maillog}
maillog_file_prefixes = {base}
smtp_dns_support_level = disabled
relayhost = [127.0.0.1]:{relay_port}
smtpd_tls_security_level = none
smtp_tls_security_level = none
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions = permit_sasl_authenticated, reject
"""

POSTFIX_MASTER = """
127.0.0.1:{port} inet n - n - - smtpd
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


def have_postfix():
    return os.access(POSTFIX, os.X_OK)


class Postfix:
    """A private Postfix: SMTP AUTH through Dovecot (its auth socket in
    this Postfix's queue directory, private/auth), sender login maps,
    relaying everything to the test's sink."""

    def auth_socket(self):
        return os.path.join(self.queue, "private", "auth")

    def __init__(self, tmp, relay_port, sender_logins):
        base = os.path.join(tmp, "postfix")
        self.queue = os.path.join(base, "queue")
        self.etc = os.path.join(base, "etc")
        self.port = free_port()
        self.maillog = os.path.join(base, "maillog")
        for d in ("etc", "queue", "data"):
            os.makedirs(os.path.join(base, d))
        os.chmod(base, 0o755)
        shutil.chown(os.path.join(base, "data"), "postfix")
        # made here as Postfix makes it: Dovecot puts its auth socket in it
        # before Postfix starts (an smtpd finding no socket exits, and
        # Postfix holds the service back for a minute)
        os.mkdir(os.path.join(self.queue, "private"), 0o700)
        shutil.chown(os.path.join(self.queue, "private"), "postfix")
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(POSTFIX_MAIN.format(
                etc=self.etc, queue=os.path.join(base, "queue"),
                data=os.path.join(base, "data"), maillog=self.maillog,
                base=base, relay_port=relay_port) +
                recipe("postfix-main.cf").replace("/etc/postfix/",
                                                  self.etc + "/"))
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(POSTFIX_MASTER.format(port=self.port))
        with open(os.path.join(self.etc, "sender_login"), "w") as f:
            f.write("".join("%s %s\n" % kv for kv in sender_logins.items()))

    def postfix(self, *args):
        return subprocess.run([POSTFIX, "-c", self.etc] + list(args),
                              capture_output=True, text=True,
                              timeout=3 * TIMEOUT)

    def start(self):
        r = self.postfix("start")
        if r.returncode != 0:
            raise RuntimeError("postfix start: %s%s" % (r.stdout, r.stderr))
        wait_port(self.port, None, "postfix", self.log)

    def stop(self):
        self.postfix("stop")

    def log(self):
        if not os.path.exists(self.maillog):
            return ""
        with open(self.maillog, errors="replace") as f:
            return f.read()


# -- Chromium ----------------------------------------------------------------

def have_chromium():
    return os.access(CHROMEDRIVER, os.X_OK)


class Browser:
    """Headless Chromium driven through chromedriver's WebDriver API."""

    def __init__(self, tmp):
        self.port = free_port()
        self.tmp = tmp
        self.log = open(os.path.join(tmp, "chromedriver.log"), "w")
        self.proc = subprocess.Popen(
            [CHROMEDRIVER, "--port=%d" % self.port],
            stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        wait_port(self.port, self.proc, "chromedriver")
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox",
                         "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,800",
                         "--user-data-dir=" + os.path.join(tmp, "chrome")],
            }}}}
        self.session = self._call("POST", "/session", caps)["sessionId"]

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            "http://127.0.0.1:%d%s" % (self.port, path), data=data,
            method=method, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=6 * TIMEOUT) as r:
            return json.loads(r.read().decode())["value"]

    def cmd(self, method, path, body=None):
        return self._call(method, "/session/%s%s" % (self.session, path),
                          body)

    def get(self, url):
        self.cmd("POST", "/url", {"url": url})

    def find(self, css, timeout=3 * TIMEOUT):
        """The element's id, waiting for it to be there."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.cmd("POST", "/elements",
                             {"using": "css selector", "value": css})
            if found:
                return list(found[0].values())[0]
            if time.monotonic() > deadline:
                raise AssertionError("no %s on %s" % (css, self.url()))
            time.sleep(0.1)

    def type(self, css, text):
        self.cmd("POST", "/element/%s/value" % self.find(css),
                 {"text": text})

    def click(self, css):
        self.cmd("POST", "/element/%s/click" % self.find(css), {})

    def text(self, css):
        return self.cmd("GET", "/element/%s/text" % self.find(css))

    def url(self):
        return self.cmd("GET", "/url")

    def screenshot(self, path):
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.cmd("GET", "/screenshot")))

    def close(self):
        try:
            self.cmd("DELETE", "")
        except OSError:
            pass
        terminate(self.proc)
        self.log.close()
