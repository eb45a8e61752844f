"""Masters kept in LDAP (passdb dms_master with store=ldap), against a
real slapd started with the shipped schema (ldap/dms-master.schema): every
login outcome in both ways of use, the policy from the directory,
malformed and hostile entries, filter injection through the login name,
revocation across two Dovecots sharing one slapd within the cache's
bound, slapd stopped during a login load, a slapd that answers nothing,
StartTLS and ldaps://."""

import os
import re
import shutil
import threading
import time

import pytest

from dovecot_env import (MAIL_GID, MAIL_UID, TIMEOUT, TOP, Dovecot, DOVECOT24,
                         doveadm_pw, pick)
from ldap_env import LONG_ATTR, MASTERS_OU
from test_logins import TARGET, assert_auth_failure
from test_policy import NOT_ALLOWED_USER, PW, policy_extra
from test_ldap_targets import ldap_users  # noqa: F401 (a fixture)

OTHER = "other@example.org"


def dn(name):
    return "uid=%s,%s" % (name, MASTERS_OU)


def assert_tempfail(result):
    """A temporary failure: the client is told to try again, and learns
    nothing about the password."""
    status, text = result
    assert status == "NO", result
    assert "UNAVAILABLE" in text or "Temporary" in text, text


@pytest.fixture(scope="module")
def slapd():
    from ldap_env import Slapd
    s = Slapd()
    hashed = doveadm_pw(PW)
    s.add_policy_masters(hashed)
    s.add_master("smtponly", hashed, dmsServices="smtp")
    s.add_master("md5", doveadm_pw(PW, "MD5-CRYPT"))
    s.add_master("yescrypt", "{CRYPT}" + yescrypt(PW))
    s.hashed = hashed
    try:
        yield s
    finally:
        s.cleanup()


def yescrypt(password):
    import subprocess
    helper = os.path.join(TOP, "tests", "integration", "yescrypt.py")
    return subprocess.run(["/usr/bin/python3", helper, password],
                          check=True, capture_output=True, text=True,
                          timeout=TIMEOUT).stdout.strip()


def ldap_dovecot(make_dovecot, slapd, mode, ports=(143, 110), extra="",
                 prepare=None, **settings):
    """A Dovecot whose dms_master passdb reads masters from SLAPD
    (store=ldap): the settings file is where the store would be."""
    d = make_dovecot(mode, args="store=ldap audit_file=@AUDIT_FILE@",
                     extra=policy_extra() + extra, imap_port=ports[0],
                     pop3_port=ports[1])
    path = slapd.master_conf(d.tmp, **settings)
    with open(path) as f:
        d.write_store(f.read())
    if prepare is not None:
        prepare(d)
    d.start()
    return d


@pytest.fixture(params=["master", "selfsplit"])
def server(request, make_dovecot, slapd):
    return ldap_dovecot(make_dovecot, slapd, request.param)


# -- every outcome -----------------------------------------------------------

def test_master_from_ldap_imap_and_pop3(server):
    status, subjects = server.imap_login(TARGET + "*admin", PW)
    assert status == "OK", subjects
    assert subjects == ["Subject: Hello from the INBOX"]
    assert server.pop3_login(TARGET + "*admin", PW) == ("OK", 1)
    records = [r for r in server.audit_records() if r["master"] == "admin"]
    # the passdb (in an auth-worker) and the userdb's session check
    assert {(r["stage"], r["result"]) for r in records} >= {
        ("auth", "authenticated"), ("session", "ok")}, records


def test_wrong_password_and_unknown_master(server):
    assert_auth_failure(server.imap_login(TARGET + "*admin", "wrong"))
    assert_auth_failure(server.imap_login(TARGET + "*nobody", PW))
    status, text = server.pop3_login(TARGET + "*nobody", PW)
    assert status == "NO" and "Temporary" not in text, text
    results = {(r["master"], r["result"]) for r in server.audit_records()}
    assert ("admin", "password_mismatch") in results
    assert ("nobody", "unknown_master") in results


def test_ordinary_logins_untouched(server):
    assert server.imap_login(TARGET, "secret")[0] == "OK"
    assert_auth_failure(server.imap_login(TARGET, PW))


def test_policy_from_the_directory(server):
    assert server.imap_login(TARGET + "*scoped", PW)[0] == "OK"
    status, text = server.imap_login(OTHER + "*scoped", PW)
    assert status == "NO" and NOT_ALLOWED_USER in text, text
    for name in ("off", "old", "smtponly"):
        status, text = server.imap_login(TARGET + "*" + name, PW)
        assert status == "NO" and "AUTHORIZATIONFAILED" in text, (name, text)
    rules = {r["master"]: r.get("rule") for r in server.audit_records()
             if r["result"] == "refused"}
    assert rules["off"] == "disabled"
    assert rules["old"] == "expires"
    assert rules["smtponly"] == "services"


def test_read_only_master_from_ldap(server):
    import imaplib
    imap = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=TIMEOUT)
    try:
        imap.login(TARGET + "*ro", PW)
        # Dovecot opens INBOX read-only (the ACL took the write rights)
        with pytest.raises(imaplib.IMAP4.readonly):
            imap.select("INBOX")
        typ, data = imap.select("INBOX", readonly=True)
        assert typ == "OK", data
        typ, data = imap.append("INBOX", None, None,
                                b"Subject: w\r\n\r\nx\r\n")
        assert typ == "NO", data
    finally:
        imap.logout()
    # and the control: the same APPEND from a master that is not read-only
    imap = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=TIMEOUT)
    try:
        imap.login(TARGET + "*admin", PW)
        typ, data = imap.append("INBOX", None, None,
                                b"Subject: w\r\n\r\nx\r\n")
        assert typ == "OK", data
    finally:
        imap.logout()
    records = [r for r in server.audit_records() if r["master"] == "ro"]
    assert any(r.get("read_only") for r in records), records


def test_cheaper_and_other_schemes(server):
    """{CRYPT} yescrypt and MD5-CRYPT values verify through libxcrypt."""
    assert server.imap_login(TARGET + "*md5", PW)[0] == "OK"
    assert server.imap_login(TARGET + "*yescrypt", PW)[0] == "OK"
    assert_auth_failure(server.imap_login(TARGET + "*yescrypt", "nope"))


def test_the_renamed_target_rule(make_dovecot, slapd):
    """The userdb checks the policy the passdb found in LDAP for the user
    the session ends up with: a userdb that renames alias2@example.com to
    other@example.org is refused for a master scoped to example.com."""
    from test_security_review import RENAME_USERDB

    def prepare(d):
        with open(os.path.join(d.tmp, "users"), "a") as f:
            f.write("alias2@example.com:%s::::::\n" % doveadm_pw("x"))
        d._replace(os.path.join(d.tmp, "users-rename"),
                   "alias2@example.com:::::::userdb_user=%s\n" % OTHER)
        d.deliver(OTHER, "Other's INBOX")
    d = ldap_dovecot(make_dovecot, slapd, "master",
                     extra=RENAME_USERDB.format(tmp="@TMP@"), prepare=prepare)
    mark = d.log_mark()
    assert d.imap_login(TARGET + "*scoped", PW)[0] == "OK"
    status, data = d.imap_login("alias2@example.com*scoped", PW)
    assert status == "NO" and "Other's INBOX" not in str(data), data
    assert d.wait_log(mark, "Master scoped refused by rule allow: Master "
                      "login not allowed for this user (target="
                      "alias2@example.com user=%s" % OTHER)
    # the policy's field is the module's own: not passed to mail processes
    assert "dms_master_policy" not in d.log_since(mark)


# -- hostile and malformed entries ----------------------------------------

HOSTILE = {
    # one policy value smuggling another option into the line
    "smuggle": dict(dmsAllow="nobody@example.com dms_allow=*"),
    "twopw": dict(userPassword=["{SHA512-CRYPT}$6$a$b", "@HASH@"]),
    "ctrl": dict(dmsServices="imap\tpop3"),
    "pipe": dict(dmsAllow="user@example.com|x"),
}


@pytest.fixture(scope="module")
def hostile(slapd):
    for name, attrs in HOSTILE.items():
        attrs = {k: ([x.replace("@HASH@", slapd.hashed) for x in v]
                     if isinstance(v, list) else v) for k, v in attrs.items()}
        pw = None if "userPassword" in attrs else slapd.hashed
        slapd.add_master(name, pw, **attrs)
    # two entries for one name, in the base and below it
    slapd.add_master("dup", slapd.hashed)
    slapd.add("dn: ou=team,%s\nobjectClass: organizationalUnit\nou: team\n\n"
              "dn: uid=dup,ou=team,%s\nobjectClass: account\n"
              "objectClass: dmsMasterAccount\nuid: dup\nuserPassword: %s\n"
              % (MASTERS_OU, MASTERS_OU, slapd.hashed))
    # no password at all
    slapd.add_master("nopw", None)
    return slapd


@pytest.mark.parametrize("name", sorted(HOSTILE) + ["dup", "nopw"])
def test_malformed_entry_fails_closed(make_dovecot, hostile, name):
    d = ldap_dovecot(make_dovecot, hostile, "master")
    mark = d.log_mark()
    result = d.imap_login(TARGET + "*" + name, PW)
    assert result[0] == "NO", result
    assert_tempfail(result)
    assert d.wait_log_re(mark, r"auth-worker\(.*master %s: .*(LDAP entry|"
                         r"LDAP search)" % name), d.log_since(mark)
    log = d.log_since(mark)
    # never a secret in the log
    assert PW not in log and hostile.hashed not in log
    assert "reader-secret" not in d.log()


def test_uid_case_must_match(make_dovecot, slapd):
    """LDAP matches uid case-insensitively; the store's names are exact
    (Dovecot lowercases the login, auth_username_format = %Lu)."""
    slapd.add_master("Boss", slapd.hashed)
    d = ldap_dovecot(make_dovecot, slapd, "master")
    mark = slapd.log_mark()
    assert_auth_failure(d.imap_login(TARGET + "*boss", PW))
    assert "uid=boss" in slapd.log_since(mark)


def imap_plain(d, user, password):
    """AUTHENTICATE PLAIN: the name goes as it is, no IMAP quoting."""
    import base64
    import imaplib
    imap = imaplib.IMAP4("127.0.0.1", d.imap_port, timeout=TIMEOUT)
    blob = b"\0" + user.encode() + b"\0" + password.encode()
    try:
        imap.authenticate("PLAIN", lambda _: blob)
    except imaplib.IMAP4.error as e:
        imap.shutdown()
        return "NO", str(e)
    imap.logout()
    return "OK", ""


@pytest.mark.parametrize("name", ["*", "adm*", "admin)(uid=*",
                                  "*)(|(uid=*", "ad\\2amin", "admin\\",
                                  "(admin"])
def test_filter_injection(make_dovecot, slapd, name):
    """The login name goes into the filter escaped (RFC 4515): a wildcard
    or a parenthesis matches nothing, and slapd's log shows the filter
    as escaped."""
    # Dovecot's default auth_username_chars would refuse most of these
    # names before any passdb: an operator may allow every character
    d = ldap_dovecot(make_dovecot, slapd, "master",
                     extra="auth_username_chars =\n")
    mark = slapd.log_mark()
    assert_auth_failure(imap_plain(d, TARGET + "*" + name, PW))
    log = slapd.log_since(mark)
    # the masters' searches (not the schema's, at each new connection)
    filters = [f for f in re.findall(r'filter="([^"]*)"', log)
               if "uid=" in f]
    assert filters, log
    for f in filters:
        assert "uid=admin)" not in f and "(uid=*)" not in f, f
        assert re.search(r"\\(2a|5c|28|29)", f, re.I), f
    # and the right name still works the same way
    assert imap_plain(d, TARGET + "*admin", PW)[0] == "OK"


def test_filter_injection_nul(make_dovecot, slapd):
    """A NUL cannot reach the filter: SASL PLAIN splits at it, and
    Dovecot refuses the name before any passdb."""
    import base64
    import imaplib
    d = ldap_dovecot(make_dovecot, slapd, "selfsplit")
    mark = slapd.log_mark()
    imap = imaplib.IMAP4("127.0.0.1", d.imap_port, timeout=TIMEOUT)
    blob = b"\0" + TARGET.encode() + b"*ad\0min\0" + PW.encode()
    try:
        with pytest.raises(imaplib.IMAP4.error):
            imap.authenticate("PLAIN", lambda _: blob)
    finally:
        imap.shutdown()
    assert "uid=ad" not in slapd.log_since(mark)


# -- revocation, outages, a slow directory -----------------------------------

def revocation(servers, login, deadline_s):
    """Poll every server with LOGIN until each has refused it twice in a
    row. Returns (seconds after the start at which the last login that
    was accepted began, seconds at which the first refusal of the last
    server to refuse began); None past DEADLINE_S."""
    start = time.monotonic()
    last_ok, refused = 0.0, {}
    while time.monotonic() - start < deadline_s:
        for d in servers:
            t = time.monotonic() - start
            if d.imap_login(*login)[0] == "OK":
                last_ok = max(last_ok, t)
                refused.pop(d, None)
            else:
                refused.setdefault(d, []).append(t)
        if all(len(refused.get(d, [])) >= 2 for d in servers):
            return last_ok, max(refused[d][0] for d in servers)
    return None


def test_revocation_within_the_bound_on_two_servers(make_dovecot, slapd):
    """Default settings (cache_ttl 5 s): a master deleted in LDAP is
    refused by two Dovecots sharing the directory within 5 s: no login
    that begins later than that is accepted."""
    hashed = slapd.hashed
    slapd.add_master("leaver", hashed)
    a = ldap_dovecot(make_dovecot, slapd, "master", ports=(143, 110))
    b = ldap_dovecot(make_dovecot, slapd, "selfsplit", ports=(10143, 10110))
    login = (TARGET + "*leaver", PW)
    for d in (a, b):
        assert d.imap_login(*login)[0] == "OK"
        assert d.imap_login(*login)[0] == "OK"
    slapd.delete(dn("leaver"))
    result = revocation([a, b], login, 5 + 5)
    assert result is not None
    last_ok, first_refused = result
    assert last_ok < 5, result
    print("revocation: last login accepted %.2f s after the delete, "
          "refused on both servers from %.2f s (bound 5 s)" % result)
    for d in (a, b):
        assert_auth_failure(d.imap_login(*login))


def test_disable_without_cache(make_dovecot, slapd):
    """cache_ttl = 0: a master disabled in LDAP is refused at once."""
    slapd.add_master("flip", slapd.hashed)
    d = ldap_dovecot(make_dovecot, slapd, "master", cache_ttl="0")
    assert d.imap_login(TARGET + "*flip", PW)[0] == "OK"
    slapd.modify("dn: %s\nchangetype: modify\nreplace: dmsDisabled\n"
                 "dmsDisabled: TRUE\n" % dn("flip"))
    status, text = d.imap_login(TARGET + "*flip", PW)
    assert status == "NO" and "AUTHORIZATIONFAILED" in text, text


def test_slapd_stopped_during_a_login_load(make_dovecot, slapd):
    """Master logins while slapd is stopped and started again: never a
    wrong answer (an authentication failure for the right password);
    past the cache's bound only temporary failures; ordinary logins go
    on; master logins work again once slapd is back."""
    # 2.4 holds each temporary failure for auth_internal_failure_delay
    # (2 s): with two clients that can leave the window checked below
    # without a login in it
    d = ldap_dovecot(make_dovecot, slapd, "master", cache_ttl="2",
                     timeout="1", extra=pick(
                         "", "auth_internal_failure_delay = 0\n"))
    login = (TARGET + "*admin", PW)
    assert d.imap_login(*login)[0] == "OK"
    results = []
    stop = threading.Event()

    def load():
        for _ in range(2000):
            if stop.is_set():
                break
            start = time.monotonic()
            result = d.imap_login(*login)
            results.append((start, time.monotonic(), result))
    threads = [threading.Thread(target=load) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        stopped = time.monotonic()
        slapd.stop()
        time.sleep(5)
        # ordinary logins do not need the directory of masters
        assert d.imap_login(TARGET, "secret")[0] == "OK"
        restarted = time.monotonic()
        slapd.start()
        time.sleep(3)
    finally:
        stop.set()
        for t in threads:
            t.join(TIMEOUT * 3)
    assert results
    # each login judged by when it started and when it ended: a success
    # is stale only when the whole login lay between the cache's bound
    # (cache_ttl, 2 s, after the stop, and the login's own time, up to
    # 1 s) and the restart; one that ended after slapd was back may have
    # asked it
    for start, end, (status, text) in results:
        if status == "OK":
            assert start < stopped + 2 + 1 or end > restarted, \
                (start - stopped, end - restarted, text)
        else:
            assert_tempfail((status, text))
    during = [r for start, end, r in results
              if stopped + 3 < start and end < restarted]
    print("logins while slapd was down past the bound: %d" % len(during))
    assert during and all(s == "NO" for s, _ in during)
    assert d.imap_login(*login)[0] == "OK"
    assert d.wait_log(0, "LDAP answers again"), d.log()


def test_slow_slapd(make_dovecot, slapd):
    """A slapd that accepts and never answers: master logins fail as
    temporary failures within the timeout, the auth process goes on
    serving ordinary logins (the lookups run in auth-workers)."""
    # 2.4 tells the client of a temporary failure only after
    # auth_internal_failure_delay (2 s); the module's part is measured
    d = ldap_dovecot(make_dovecot, slapd, "master", cache_ttl="0",
                     timeout="1", extra=pick(
                         "", "auth_internal_failure_delay = 0\n"))
    assert d.imap_login(TARGET + "*admin", PW)[0] == "OK"
    slapd.pause()
    try:
        box = {}

        def master():
            t = time.monotonic()
            box["result"] = d.imap_login(TARGET + "*admin", PW)
            box["took"] = time.monotonic() - t
        th = threading.Thread(target=master)
        th.start()
        time.sleep(0.2)
        t = time.monotonic()
        assert d.imap_login(TARGET, "secret")[0] == "OK"
        assert time.monotonic() - t < 1
        th.join(TIMEOUT)
        assert_tempfail(box["result"])
        # timeout 1 s for the whole lookup (plus Dovecot's own work)
        assert box["took"] < 1 + 1, box
        print("a master login against a silent slapd failed after %.2f s"
              % box["took"])
    finally:
        slapd.resume()
    assert d.imap_login(TARGET + "*admin", PW)[0] == "OK"


def test_late_answer_within_the_timeout(make_dovecot, slapd):
    """A slapd that answers late, but within the timeout: the login
    waits for it and succeeds."""
    d = ldap_dovecot(make_dovecot, slapd, "master", cache_ttl="0",
                     timeout="3")
    assert d.imap_login(TARGET + "*admin", PW)[0] == "OK"
    slapd.pause()
    box = {}

    def master():
        t = time.monotonic()
        box["result"] = d.imap_login(TARGET + "*admin", PW)
        box["took"] = time.monotonic() - t
    th = threading.Thread(target=master)
    th.start()
    try:
        time.sleep(1)
    finally:
        slapd.resume()
    th.join(TIMEOUT)
    assert box["result"][0] == "OK", box
    assert box["took"] >= 0.9, box


def test_ldap_masters_for_ldap_targets(make_dovecot, ldap_users):
    """Both in LDAP: masters from the dms schema, accounts as
    docker-mailserver's LDAP mode keeps them, one slapd."""
    s = ldap_users
    s.add_master("admin", doveadm_pw(PW))
    s.add_master("scoped", doveadm_pw(PW), dmsAllow="*@example.com")
    for mode in ("master", "selfsplit"):
        for auth_bind in ("no", "yes"):
            d = make_dovecot(mode, args="store=ldap audit_file=@AUDIT_FILE@",
                             users=s.users_conf(auth_bind, "mail"),
                             extra=policy_extra())
            if not DOVECOT24:
                s.write_args23(d.tmp, auth_bind, "mail")
            with open(s.master_conf(d.tmp)) as f:
                d.write_store(f.read())
            d.start()
            status, subjects = d.imap_login(TARGET + "*admin", PW)
            assert status == "OK", (mode, auth_bind, subjects)
            assert subjects == ["Subject: LDAP mailbox of user"]
            assert d.pop3_login(TARGET + "*scoped", PW) == ("OK", 1)
            status, text = d.imap_login("other@example.org*scoped", PW)
            assert status == "NO" and NOT_ALLOWED_USER in text, text
            assert_auth_failure(d.imap_login(TARGET + "*admin", "x"))
            assert_auth_failure(d.imap_login("nobody@example.com*admin",
                                             PW))
            assert d.imap_login(TARGET, "secret")[0] == "OK"
            d.cleanup()


# -- settings, TLS, the schema ----------------------------------------------

def auth_fatal(d, text):
    """The auth process refuses to start, with one Fatal line."""
    d.start()
    assert d.wait_auth_fatal(login=(TARGET + "*admin", PW)), d.log()
    assert text in d.log(), d.log()


def test_bad_settings_file_stops_auth(make_dovecot, slapd):
    d = make_dovecot("master", args="store=ldap")
    d.write_store("uris = ldap://127.0.0.1:1\nbase = %s\nfilter = (uid=*)\n"
                  % MASTERS_OU)
    auth_fatal(d, "no %u: every master would match")


def test_reader_password_file_readable_by_others(make_dovecot, slapd):
    d = make_dovecot("master", args="store=ldap")
    path = slapd.master_conf(d.tmp)
    os.chmod(os.path.join(d.tmp, "ldap-reader.secret"), 0o644)
    with open(path) as f:
        d.write_store(f.read())
    auth_fatal(d, "may be read by everyone")
    assert "reader-secret" not in d.log()


@pytest.fixture(scope="module")
def tls_slapd():
    from ldap_env import Slapd
    s = Slapd(tls=True)
    s.add_master("admin", doveadm_pw(PW))
    try:
        yield s
    finally:
        s.cleanup()


@pytest.mark.parametrize("how", ["starttls", "ldaps"])
def test_tls(make_dovecot, tls_slapd, how):
    s = tls_slapd
    d0 = make_dovecot("master")
    ca = os.path.join(d0.tmp, "ca.pem")
    with open(s.ca) as src, open(ca, "w") as dst:
        dst.write(src.read())
    settings = {"tls_ca_file": ca}
    if how == "starttls":
        settings.update(uris=s.uri, starttls="yes")
    else:
        settings.update(uris=s.ldaps_uri)
    d = ldap_dovecot(make_dovecot, s, "master", **settings)
    assert d.imap_login(TARGET + "*admin", PW)[0] == "OK"
    # the system's CAs do not know the test CA: refused, never in clear
    settings.pop("tls_ca_file")
    d2 = ldap_dovecot(make_dovecot, s, "master", ports=(10143, 10110),
                      **settings)
    mark = d2.log_mark()
    assert_tempfail(d2.imap_login(TARGET + "*admin", PW))
    assert re.search(r"LDAP (StartTLS|bind as|search).*failed",
                     d2.log_since(mark)), d2.log_since(mark)


def test_ldif_says_what_the_schema_says():
    def defs(text, kinds):
        out = []
        for m in re.finditer(r"(?:%s):? (\(.*?\))\s*(?=$|\n\S|\n#)"
                             % "|".join(kinds), text, re.S | re.I):
            out.append(re.sub(r"\s+", " ", m.group(1)).replace("\\$", "$"))
        return out
    with open(os.path.join(TOP, "ldap", "dms-master.schema")) as f:
        schema = defs(f.read(), ["attributetype", "objectclass"])
    with open(os.path.join(TOP, "ldap", "dms-master.ldif")) as f:
        ldif = defs(f.read(), ["olcAttributeTypes", "olcObjectClasses"])
    assert len(schema) == 16 and schema == ldif


# -- the setup CLI against LDAP ---------------------------------------------

SETUP = os.environ.get("DMS_SETUP") or os.path.join(TOP, "src", "setup")


@pytest.fixture
def cli(slapd, tmp_path):
    """setup with --ldap: the module's settings file plus the admin's
    bind (admin_bind_dn), which the module never reads."""
    from ldap_env import ROOT_DN, ROOT_PW
    adminpw = tmp_path / "admin.secret"
    adminpw.write_text(ROOT_PW + "\n")
    adminpw.chmod(0o600)
    conf = slapd.master_conf(str(tmp_path), admin_bind_dn=ROOT_DN,
                             admin_bind_password_file=str(adminpw))
    env = dict(os.environ, DMS_MASTERS_LDAP=conf,
               DMS_MASTERS_FILE=str(tmp_path / "unused.cf"))

    def run(*args, stdin=None, use_env=True):
        import subprocess
        p = subprocess.run([SETUP, *args], env=env if use_env else
                           dict(os.environ), input=stdin,
                           capture_output=True, text=True, timeout=TIMEOUT)
        return p.returncode, p.stdout, p.stderr
    run.conf = conf
    return run


def test_cli_add_list_update_del(cli, slapd, make_dovecot):
    assert cli("dovecot-master", "add", "cliadm", "cli-pw",
               "--allow", "*@example.com", "--services", "imap")[0] == 0
    # the same options and exit codes as with the file
    rc, _, err = cli("dovecot-master", "add", "cliadm", "x")
    assert rc == 1 and "already exists" in err, err
    rc, out, _ = cli("dovecot-master", "list")
    assert rc == 0
    assert "* cliadm dms_allow=*@example.com dms_services=imap" in out, out
    entry = slapd.search(MASTERS_OU, "(uid=cliadm)")
    assert "objectClass: dmsMasterAccount" in entry
    assert "userPassword:: " in entry or "userPassword: {SHA512-CRYPT}" \
        in entry, entry
    assert "cli-pw" not in entry
    # the module reads what setup wrote
    d = ldap_dovecot(make_dovecot, slapd, "master", cache_ttl="0")
    assert d.imap_login(TARGET + "*cliadm", "cli-pw")[0] == "OK"
    status, text = d.imap_login(OTHER + "*cliadm", "cli-pw")
    assert status == "NO" and NOT_ALLOWED_USER in text
    # an update changes only what it names
    assert cli("dovecot-master", "update", "cliadm", "--read-only",
               "--expires", "2099-01-01")[0] == 0
    rc, out, _ = cli("dovecot-master", "list")
    assert ("* cliadm dms_allow=*@example.com dms_services=imap "
            "dms_read_only=yes dms_expires=2099-01-01T00:00:00Z") in out, out
    assert d.imap_login(TARGET + "*cliadm", "cli-pw")[0] == "OK"
    assert cli("dovecot-master", "update", "cliadm", "new-pw",
               "--no-allow", "--disable")[0] == 0
    status, text = d.imap_login(OTHER + "*cliadm", "new-pw")
    assert status == "NO" and "AUTHORIZATIONFAILED" in text, text
    assert cli("dovecot-master", "update", "cliadm", "--enable")[0] == 0
    assert d.imap_login(OTHER + "*cliadm", "new-pw")[0] == "OK"
    assert_auth_failure(d.imap_login(OTHER + "*cliadm", "cli-pw"))
    assert cli("dovecot-master", "del", "cliadm")[0] == 0
    assert_auth_failure(d.imap_login(OTHER + "*cliadm", "new-pw"))
    rc, _, err = cli("dovecot-master", "del", "cliadm")
    assert rc == 1 and "does not exist" in err
    rc, _, err = cli("dovecot-master", "update", "cliadm", "--disable")
    assert rc == 1 and "does not exist" in err
    # usage errors stay usage errors
    assert cli("dovecot-master", "add")[0] == 2
    rc, _, err = cli("dovecot-master", "add", "bad", "pw", "--expires",
                     "tomorrow")
    assert rc == 1 and "--expires" in err, err


def test_cli_concurrent_admins_keep_both_changes(cli, slapd):
    """Two admins change different attributes of one master at the same
    time: single modify operations, so neither change is lost."""
    assert cli("dovecot-master", "add", "shared", "pw")[0] == 0
    import concurrent.futures
    with concurrent.futures.ThreadPoolExecutor(2) as ex:
        futures = [ex.submit(cli, "dovecot-master", "update", "shared",
                             "--allow", "*@example.com"),
                   ex.submit(cli, "dovecot-master", "update", "shared",
                             "--services", "imap,pop3")]
        assert [f.result()[0] for f in futures] == [0, 0]
    out = cli("dovecot-master", "list")[1]
    assert ("* shared dms_allow=*@example.com dms_services=imap,pop3"
            in out), out
    assert cli("dovecot-master", "del", "shared")[0] == 0


def test_cli_option_and_errors(cli, slapd, tmp_path):
    # --ldap FILE as an option (no environment)
    rc, out, _ = cli("--ldap", cli.conf, "dovecot-master", "list",
                     use_env=False)
    assert rc == 0 and "* admin" in out, out
    rc, out, _ = cli("dovecot-master", "list", "--ldap=" + cli.conf,
                     use_env=False)
    assert rc == 0 and "* admin" in out, out
    # hostile entries are named, not listed as masters
    bad = tmp_path / "bad.conf"
    bad.write_text("uris = ldap://127.0.0.1:1\nbase = o=x\ntimeout = 1\n")
    rc, _, err = cli("--ldap", str(bad), "dovecot-master", "list",
                     use_env=False)
    assert rc == 1 and "Can't contact LDAP server" in err, err
    bad.write_text("uris = ldap://127.0.0.1:1\n")
    rc, _, err = cli("--ldap", str(bad), "dovecot-master", "list",
                     use_env=False)
    assert rc == 1 and "base is not set" in err, err
    # a long (valid) attribute name for the master's name: the DN of a
    # new entry is sized for it (the sanitizer run sees any overflow);
    # slapd refuses the entry (the attribute, in the test's schema, is in
    # none of its classes), the whole DN in the error
    text = open(cli.conf).read()
    long_attr = LONG_ATTR
    longconf = tmp_path / "long.conf"
    longconf.write_text(text + "attr_name = %s\n" % long_attr)
    longconf.chmod(0o640)
    rc, _, err = cli("--ldap", str(longconf), "dovecot-master", "add",
                     "longname", "pw", use_env=False)
    assert rc == 1 and ("LDAP add of %s=longname,%s failed" % (
        long_attr, MASTERS_OU)) in err, (rc, err)


# -- as shipped -------------------------------------------------------------

def test_shipped_snippet_and_settings_file(make_dovecot, tls_slapd):
    """conf.d's auth-dms-master-ldap.conf.ext and ldap/dms-master-ldap.conf
    as they are, but for the paths, the directory's address and its CA:
    ldaps://, no warning about clear text."""
    from ldap_env import READER_DN
    slapd = tls_slapd
    snippet = pick("auth-dms-master-ldap.conf.ext",
                   "2.4/auth-dms-master-ldap.conf.ext")
    with open(os.path.join(TOP, "conf.d", snippet)) as f:
        text = f.read()
    with open(os.path.join(TOP, "ldap", "dms-master-ldap.conf")) as f:
        settings = f.read()
    d0 = make_dovecot("master")
    pwfile = os.path.join(slapd.master_conf(d0.tmp), "..",
                          "ldap-reader.secret")
    ca = os.path.join(d0.tmp, "ca.pem")
    shutil.copy(slapd.ca, ca)
    for old, new in (("ldaps://ldap.example.com", slapd.ldaps_uri),
                     ("cn=dovecot,dc=example,dc=com", READER_DN),
                     ("/etc/dovecot/dms-master-ldap.secret",
                      os.path.normpath(pwfile)),
                     ("#tls_ca_file = /etc/ssl/certs/ca-certificates.crt",
                      "tls_ca_file = " + ca)):
        assert old in settings
        settings = settings.replace(old, new)
    assert "/etc/dovecot/dms-master-ldap.conf" in text
    d = make_dovecot("master", auth=text.replace("{", "{{").replace(
        "}", "}}").replace("/etc/dovecot/dms-master-ldap.conf", "{store}"))
    d.write_store(settings)
    d.start()
    assert d.imap_login(TARGET + "*admin", PW)[0] == "OK"
    assert_auth_failure(d.imap_login(TARGET + "*admin", "wrong"))
    assert d.pop3_login(TARGET + "*admin", PW)[0] == "OK"
    assert "without starttls" not in d.log()


# -- memory ----------------------------------------------------------------

@pytest.mark.parametrize("ttl", ["5", "0"])
def test_auth_worker_under_valgrind(make_dovecot, slapd, hostile, ttl):
    """The auth-workers, where LDAP lookups run, under valgrind: found,
    unknown and hostile masters, the cache, a lost connection, shutdown.
    Zero memory errors and no definite leak (--keep-debuginfo: the
    module's frames stay named after Dovecot unloads it), but for the
    libraries' one-time global state in valgrind-ldap.supp."""
    import glob
    import shutil
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        pytest.skip("valgrind not installed")

    def prepare(d):
        logdir = os.path.join(d.tmp, "valgrind")
        os.makedirs(logdir)
        os.chmod(logdir, 0o777)
        d.valgrind_logs = logdir
        supp = os.path.join(d.tmp, "valgrind-ldap.supp")
        shutil.copy(os.path.join(TOP, "tests", "integration",
                                 "valgrind-ldap.supp"), supp)
        with open(d.conf, "a") as f:
            f.write("""
service auth-worker {
  executable = %s --log-file=%s/worker-%%p.log --leak-check=full --show-leak-kinds=definite,indirect --keep-debuginfo=yes --suppressions=%s --num-callers=30 /usr/lib/dovecot/auth -w
}
""" % (valgrind, logdir, supp))
    d = ldap_dovecot(make_dovecot, slapd, "master", cache_ttl=ttl,
                     timeout="5", prepare=prepare)
    for _ in range(3):
        if d.imap_login(TARGET + "*admin", PW)[0] == "OK":
            break
    else:
        assert False, d.log()
    assert d.imap_login(TARGET + "*admin", PW)[0] == "OK"
    assert_auth_failure(d.imap_login(TARGET + "*admin", "wrong"))
    assert_auth_failure(d.imap_login(TARGET + "*nobody", PW))
    assert d.imap_login(TARGET + "*scoped", PW)[0] == "OK"
    for name in ("twopw", "dup", "smuggle"):
        assert_tempfail(d.imap_login(TARGET + "*" + name, PW))
    # the directory restarts: the kept connection is found closed
    slapd.stop()
    slapd.start()
    time.sleep(float(ttl) + 0.2)
    assert d.imap_login(TARGET + "*admin", PW)[0] == "OK"
    d.stop()
    logs = glob.glob(os.path.join(d.valgrind_logs, "worker-*.log"))
    assert logs, "valgrind wrote no log"
    for path in logs:
        text = open(path).read()
        m = re.search(r"ERROR SUMMARY: (\d+) errors", text)
        assert m, text[-3000:]
        assert m.group(1) == "0", text[-8000:]
        assert "definitely lost: 0 bytes" in text or \
            "definitely lost" not in text, text[-8000:]


# -- open sessions (issue 21) --------------------------------------------------

def test_sessions_end_when_ldap_access_ends(make_dovecot, slapd):
    """A master disabled in the directory has its open IDLE session
    ended by the dms-session service, which reads the directory as the
    passdb does: within cache_ttl (5 s, the default) and the service's
    own bound (5 s). Another master's session goes on. The access review
    lists the directory's masters."""
    from test_session_end import idle, still_open, wait_closed
    import json
    import subprocess
    slapd.add_master("ender", slapd.hashed)
    d = ldap_dovecot(make_dovecot, slapd, "master")
    ender = idle(d, (TARGET + "*ender", PW))
    admin = idle(d, (TARGET + "*admin", PW))
    changed = time.monotonic()
    slapd.modify("dn: %s\nchangetype: modify\nreplace: dmsDisabled\n"
                 "dmsDisabled: TRUE\n" % dn("ender"))
    data = wait_closed(ender, 5 + 5 + TIMEOUT)
    elapsed = time.monotonic() - changed
    assert b"BYE" in data
    assert elapsed < 5 + 5, elapsed
    print("LDAP: session ended %.2f s after the change (bound: cache_ttl "
          "5 s + 5 s)" % elapsed)
    records = d.wait_session_records(lambda rs: any(
        r["event"] == "dms_master_session_finished" and
        r["master"] == "ender" for r in rs))
    end = [r for r in records if r["master"] == "ender"][-1]
    assert (end["how"], end["reason"]) == ("revoked", "disabled")
    still_open(admin)
    out = subprocess.run([SETUP, "--ldap",
                          d.store, "dovecot-master", "report",
                          "--audit-file", d.audit, "--json"],
                         capture_output=True, text=True, timeout=TIMEOUT)
    assert out.returncode == 4, out.stderr
    report = json.loads(out.stdout)
    assert "ender" in report["no_expiry"] and "admin" in report["no_expiry"]
    assert {m["name"] for m in report["masters"]} >= {"ender", "admin"}


def test_session_choices_kept_in_ldap(make_dovecot, slapd, cli):
    """--record and --notify-owner write the optional dmsRecord and
    dmsNotifyOwner; the session gets the level; the "default" choices
    remove them (the site's settings again)."""
    slapd.add_master("chooser", slapd.hashed)
    d = ldap_dovecot(make_dovecot, slapd, "master")
    rc, _, err = cli("dovecot-master", "update", "chooser",
                     "--record=messages", "--notify-owner")
    assert rc == 0, err
    listed = [line for line in cli("dovecot-master", "list")[1].splitlines()
              if line.startswith("* chooser")]
    assert listed == ["* chooser dms_record=messages dms_notify_owner=yes"]
    assert d.imap_login(TARGET + "*chooser", PW)[0] == "OK"
    records = d.wait_session_records(lambda rs: any(
        r["event"] == "dms_master_session_started" and
        r["master"] == "chooser" for r in rs))
    assert [r["level"] for r in records
            if r["master"] == "chooser" and
            r["event"] == "dms_master_session_started"] == ["messages"]
    rc, _, err = cli("dovecot-master", "update", "chooser", "--no-record",
                     "--default-notify-owner")
    assert rc == 0, err
    listed = [line for line in cli("dovecot-master", "list")[1].splitlines()
              if line.startswith("* chooser")]
    assert listed == ["* chooser"]
    attrs = slapd.search(dn("chooser"), "(objectClass=*)", "dmsRecord",
                         "dmsNotifyOwner")
    assert "dmsRecord" not in attrs and "dmsNotifyOwner" not in attrs


def test_deny_and_ports_kept_in_ldap(make_dovecot, slapd, cli):
    """dmsDeny and dmsPorts as --deny and --ports write them; the module
    refuses what they refuse; an entry without them (hidden by an ACL, or
    0.3.0's) is refused, never read as "no limit"."""
    slapd.add_master("guard", slapd.hashed)
    d = ldap_dovecot(make_dovecot, slapd, "master", cache_ttl="0")
    rc, _, err = cli("dovecot-master", "update", "guard", "--deny",
                     OTHER + ",boss@*", "--ports", "%d" % d.imap_port)
    assert rc == 0, err
    listed = [line for line in cli("dovecot-master", "list")[1].splitlines()
              if line.startswith("* guard")]
    assert listed == ["* guard dms_deny=%s,boss@* dms_ports=%d" % (
        OTHER, d.imap_port)], listed
    attrs = slapd.search(dn("guard"), "(objectClass=*)", "dmsDeny",
                         "dmsPorts")
    assert "dmsDeny: boss@*" in attrs and "dmsPorts: %d" % d.imap_port \
        in attrs, attrs
    assert d.imap_login(TARGET + "*guard", PW)[0] == "OK"
    status, text = d.imap_login(OTHER + "*guard", PW)
    assert status == "NO" and NOT_ALLOWED_USER in text, text
    mark = d.log_mark()
    status, text = d.pop3_login(TARGET + "*guard", PW)
    assert status == "NO" and "not allowed on this port" in text, text
    assert d.wait_log(mark, "Master guard refused by rule ports")
    rc, _, err = cli("dovecot-master", "update", "guard", "--no-deny",
                     "--no-ports")
    assert rc == 0, err
    attrs = slapd.search(dn("guard"), "(objectClass=*)", "dmsDeny",
                         "dmsPorts")
    assert "dmsDeny: none" in attrs and "dmsPorts: default" in attrs, attrs
    assert d.imap_login(OTHER + "*guard", PW)[0] == "OK"
    assert d.pop3_login(TARGET + "*guard", PW)[0] == "OK"
    # without them: refused, with the attribute named
    slapd.add_master("bare", slapd.hashed, dmsDeny=None, dmsPorts=None)
    mark = d.log_mark()
    assert_tempfail(d.imap_login(TARGET + "*bare", PW))
    assert d.wait_log(mark, "no dmsDeny attribute (attr_deny)"), \
        d.log_since(mark)


def test_totp_kept_in_ldap_spent_once_across_servers(make_dovecot, slapd,
                                                     cli):
    """setup --ldap ... totp NAME writes dmsTotpSecret and dmsTotp; a code
    accepted by one server is refused by another that shares the
    directory (the last step is kept with the entry, written by one
    modify that fails if another server wrote first)."""
    from test_totp import step_now, totp
    slapd.add_master("otp", slapd.hashed)
    rc, out, err = cli("dovecot-master", "totp", "otp")
    assert rc == 0, err
    secret = out.split("secret=")[1].split("&")[0]
    attrs = slapd.search(dn("otp"), "(objectClass=*)", "dmsTotp")
    assert "dmsTotp: TRUE" in attrs, attrs
    one = ldap_dovecot(make_dovecot, slapd, "master")
    two = ldap_dovecot(make_dovecot, slapd, "selfsplit",
                       ports=(10143, 10110))
    # every code below within the window, on a busy machine too
    step = step_now(margin=20)
    code = PW + totp(secret, step)
    assert_auth_failure(one.imap_login(TARGET + "*otp", PW))
    assert one.imap_login(TARGET + "*otp", code)[0] == "OK"
    mark = two.log_mark()
    assert_auth_failure(two.imap_login(TARGET + "*otp", code))
    assert two.wait_log(mark, "Master otp: TOTP code already used (replay)")
    assert_auth_failure(one.imap_login(TARGET + "*otp", code))
    # the next step works on the other server, then not on the first
    code = PW + totp(secret, step + 1)
    assert two.imap_login(TARGET + "*otp", code)[0] == "OK"
    assert_auth_failure(one.imap_login(TARGET + "*otp", code))
    attrs = slapd.search(dn("otp"), "(objectClass=*)", "dmsTotpStep")
    assert "dmsTotpStep: %d" % (step + 1) in attrs, attrs
    # a wrong code, and a right code with a wrong password
    assert_auth_failure(one.imap_login(TARGET + "*otp", PW + "000000"))
    assert_auth_failure(one.imap_login(TARGET + "*otp",
                                       "wrong" + totp(secret, step + 1)))
    # an expired step, and one too far ahead
    assert_auth_failure(one.imap_login(TARGET + "*otp",
                                       PW + totp(secret, step - 3)))
    assert_auth_failure(two.imap_login(TARGET + "*otp",
                                       PW + totp(secret, step + 3)))
    # skew: a fresh master, a client clock one step behind, then ahead
    slapd.add_master("skew", slapd.hashed)
    rc, out, err = cli("dovecot-master", "totp", "skew")
    assert rc == 0, err
    skew = out.split("secret=")[1].split("&")[0]
    assert one.imap_login(TARGET + "*skew",
                          PW + totp(skew, step - 1))[0] == "OK"
    assert two.imap_login(TARGET + "*skew",
                          PW + totp(skew, step + 1))[0] == "OK"


def test_totp_without_secret_fails_closed(make_dovecot, slapd):
    """dmsTotp TRUE and no dmsTotpSecret (or one the reader may not read):
    refused, with the entry named; never let in on the password alone."""
    slapd.add_master("nosecret", slapd.hashed, dmsTotp="TRUE")
    d = ldap_dovecot(make_dovecot, slapd, "master")
    mark = d.log_mark()
    assert_auth_failure(d.imap_login(TARGET + "*nosecret", PW + "123456"))
    assert_auth_failure(d.imap_login(TARGET + "*nosecret", PW))
    assert d.wait_log(mark, "master nosecret has dms_totp=yes: LDAP entry")


def test_grants_kept_in_ldap(make_dovecot, slapd, cli):
    """Grants of masters in LDAP are dmsGrant values of their entries:
    written by setup --ldap grant/revoke/approve, read by the module with
    the entry (within cache_ttl), and their sessions end when they end."""
    from test_session_end import BOUND, idle, wait_closed
    slapd.add_master("jit", slapd.hashed, dmsRequireGrant="TRUE")
    slapd.add_master("pair", slapd.hashed, dmsRequireGrant="TRUE",
                     dmsGrantApproval="TRUE")
    d = ldap_dovecot(make_dovecot, slapd, "master", cache_ttl="0")
    status, text = d.imap_login(TARGET + "*jit", PW)
    assert status == "NO" and NOT_ALLOWED_USER in text, text
    rc, out, err = cli("dovecot-master", "grant", "jit", TARGET, "--for",
                       "1h", "--reason", "ticket 7")
    assert rc == 0, err
    gid = out.strip()
    attrs = slapd.search(dn("jit"), "(objectClass=*)", "dmsGrant")
    assert "dmsGrant: %s|jit|%s|" % (gid, TARGET) in attrs, attrs
    assert d.imap_login(TARGET + "*jit", PW)[0] == "OK"
    status, text = d.imap_login(OTHER + "*jit", PW)
    assert status == "NO" and NOT_ALLOWED_USER in text, text
    records = [r for r in d.audit_records() if r["master"] == "jit" and
               r["result"] in ("authenticated", "ok")]
    assert {r["stage"] for r in records} == {"auth", "check", "session"}
    assert all(r["grant"] == gid and r["reason"] == "ticket 7"
               for r in records), records
    rc, out, _ = cli("dovecot-master", "grants", "jit")
    assert rc == 0 and out.startswith(gid + " jit " + TARGET), out
    # revoked: the open session ends, new logins are refused
    imap = idle(d, (TARGET + "*jit", PW))
    rc, _, err = cli("dovecot-master", "revoke", gid)
    assert rc == 0, err
    assert b"BYE" in wait_closed(imap, BOUND)
    status, _ = d.imap_login(TARGET + "*jit", PW)
    assert status == "NO"
    rc, out, _ = cli("dovecot-master", "grants", "--prune")
    assert rc == 0 and out == "1 ended grant pruned\n", out
    assert "dmsGrant" not in slapd.search(dn("jit"), "(objectClass=*)",
                                          "dmsGrant")
    # two people
    rc, out, err = cli("dovecot-master", "grant", "pair", TARGET, "--for",
                       "1h", "--reason", "audit")
    assert rc == 0, err
    gid = out.strip()
    assert d.imap_login(TARGET + "*pair", PW)[0] == "NO"
    rc, _, err = cli("dovecot-master", "approve", gid, "--by", "pair",
                     "--password-stdin", stdin=PW + "\n")
    assert rc == 1 and "cannot approve its own grant" in err, err
    rc, _, err = cli("dovecot-master", "approve", gid, "--by", "admin",
                     "--password-stdin", stdin="wrong\n")
    assert rc == 1 and "not approved" in err, err
    rc, _, err = cli("dovecot-master", "approve", gid, "--by", "admin",
                     "--password-stdin", stdin=PW + "\n")
    assert rc == 0, err
    assert d.imap_login(TARGET + "*pair", PW)[0] == "OK"
    # dmsDeny wins over a grant
    slapd.add_master("fenced", slapd.hashed, dmsRequireGrant="TRUE",
                     dmsDeny=OTHER)
    rc, out, err = cli("dovecot-master", "grant", "fenced", "*", "--for",
                       "1h", "--reason", "all but one")
    assert rc == 0, err
    assert d.imap_login(TARGET + "*fenced", PW)[0] == "OK"
    mark = d.log_mark()
    status, text = d.imap_login(OTHER + "*fenced", PW)
    assert status == "NO" and NOT_ALLOWED_USER in text, text
    assert d.wait_log(mark, "Master fenced refused by rule deny")
