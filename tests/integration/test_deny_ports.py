"""Deny rules and internal-only ports (issue 22, items 3 and 4), against
a real Dovecot with real IMAP and POP3 clients and doveadm, in both ways
of use: a master's dms_deny and the site's protected list win over
dms_allow, also after a rename; a master login is accepted only on the
listeners dms_ports (or the site's ports) name, and refused, as dms_allow
refusals are, everywhere else, while the users' own logins work on every
listener."""

import os
import subprocess

import pytest

from dovecot_env import DOVECOT24, TIMEOUT, Dovecot, doveadm_pw, pick
from test_logins import TARGET
from test_policy import (NOT_ALLOWED_USER, POLICY_USERS, PW, SETUP,
                         refused, store_text)
from test_security_review import RENAME_USERDB

# the listeners: the public ones the harness makes, and internal ones
PUBLIC = (14143, 14110)
INTERNAL = (14993, 14995)
NOT_ON_PORT = "Master login not allowed on this port"
MASTERS = {
    "admin": "",
    "scoped": "dms_allow=*@example.com,*@example.org "
              "dms_deny=boss@example.org",
    "everywhere": "dms_ports=%d,%d,%d,%d" % (PUBLIC + INTERNAL),
    "hr": "dms_allow=*@example.org",
}
# listeners of their own, on 127.0.0.1
INTERNAL_LISTENERS = """
service imap-login {{
  inet_listener imap_internal {{
    {listen} = 127.0.0.1
    port = {imap}
  }}
}}
service pop3-login {{
  inet_listener pop3_internal {{
    {listen} = 127.0.0.1
    port = {pop3}
  }}
}}
"""
# the servers of single tests, beside the module's: ports + OWN
OWN = 1000


def make_server(mode, args, extra="", own=False):
    shift = OWN if own else 0
    server = Dovecot(mode, args="audit_file=@AUDIT_FILE@ " + args,
                     extra=INTERNAL_LISTENERS.format(
                         listen=pick("address", "listen"),
                         imap=INTERNAL[0] + shift,
                         pop3=INTERNAL[1] + shift) + extra,
                     imap_port=PUBLIC[0] + shift,
                     pop3_port=PUBLIC[1] + shift)
    server.hashed = doveadm_pw(PW)
    server.write_users(POLICY_USERS)
    server.write_store(store_text(MASTERS, server.hashed))
    return server


@pytest.fixture(scope="module", params=["master", "selfsplit"])
def server(request):
    # the board's mailbox is protected; master logins on the internal
    # listeners only, unless a master says otherwise
    s = make_server(request.param, "protected=boss@example.org,ceo@* "
                    "ports=%d,%d" % INTERNAL)
    try:
        s.start()
        yield s
    finally:
        s.cleanup()


def audit_rules(server, master):
    return [(r["target"], r["result"], r["rule"], r["pattern"])
            for r in server.audit_records() if r["master"] == master]


# -- deny and protected -------------------------------------------------------

def test_protected_mailbox_refused_to_every_master(server):
    imap = INTERNAL[0]
    assert server.imap_login(TARGET + "*admin", PW, port=imap)[0] == "OK"
    for master in ("admin", "scoped", "hr", "everywhere"):
        mark = server.log_mark()
        refused(server.imap_login("boss@example.org*" + master, PW,
                                  port=imap), NOT_ALLOWED_USER)
        assert server.wait_log(mark, "Master %s refused by rule protected"
                               % master), server.log_since(mark)
    refused(server.pop3_login("boss@example.org*admin", PW,
                              port=INTERNAL[1]), NOT_ALLOWED_USER)
    # the owner's own login is not a master login
    assert server.imap_login("boss@example.org", "boss-secret")[0] == "OK"
    assert ("boss@example.org", "refused", "protected",
            "boss@example.org") in audit_rules(server, "admin")


def test_deny_wins_over_allow(server):
    imap = INTERNAL[0]
    # scoped: dms_allow=*@example.com,*@example.org dms_deny=boss@...
    assert server.imap_login("other@example.org*scoped", PW,
                             port=imap)[0] == "OK"
    # support-1 is allowed, not denied, not protected
    assert server.imap_login("support-1@example.org*scoped", PW,
                             port=imap)[0] == "OK"


def test_deny_of_a_master_without_allow(make_dovecot):
    s = make_server("master", "", own=True)
    make_dovecot.servers.append(s)
    s.write_store(store_text({"admin": "dms_deny=*@example.org"},
                             s.hashed))
    s.start()
    assert s.imap_login(TARGET + "*admin", PW)[0] == "OK"
    mark = s.log_mark()
    refused(s.imap_login("other@example.org*admin", PW), NOT_ALLOWED_USER)
    assert s.wait_log(mark, "Master admin refused by rule deny")
    refused(s.pop3_login("OTHER@example.org*admin", PW), NOT_ALLOWED_USER)
    rc, out = s.doveadm_auth_test("other@example.org*admin", PW)
    assert rc != 0, out
    assert ("other@example.org", "refused", "deny", "*@example.org") in \
        audit_rules(s, "admin")


@pytest.mark.parametrize("mode", ["master", "selfsplit"])
@pytest.mark.parametrize("alias,stage", [("alias@example.com", "check"),
                                         ("alias2@example.com", "session")])
def test_deny_after_rename(make_dovecot, mode, alias, stage):
    """A target the passdb or a userdb renames into a denied or protected
    mailbox is refused with the name it ends up with."""
    s = make_server(mode, "protected=other@example.org",
                    RENAME_USERDB.format(tmp="@TMP@"), own=True)
    make_dovecot.servers.append(s)
    with open(os.path.join(s.tmp, "users"), "a") as f:
        f.write("alias@example.com:%s::::::user=other@example.org\n"
                % doveadm_pw("alias-secret"))
        f.write("alias2@example.com:%s::::::\n" % doveadm_pw("alias-secret"))
    s._replace(os.path.join(s.tmp, "users-rename"),
               "alias2@example.com:::::::userdb_user=other@example.org\n")
    s.deliver("other@example.org", "Other's INBOX")
    s.start()
    mark = s.log_mark()
    status, data = s.imap_login(alias + "*admin", PW)
    assert status == "NO" and "Other's INBOX" not in str(data), data
    assert s.wait_log(mark, "Master admin refused by rule protected: "
                      "Master login not allowed for this user "
                      "(target=%s user=other@example.org" % alias), \
        s.log_since(mark)
    assert s.wait_log(mark, "stage=%s master=admin target=%s "
                      "user=other@example.org" % (stage, alias))
    assert "imap(other@example.org)" not in s.log_since(mark)


# -- ports ---------------------------------------------------------------------

def test_master_login_only_on_internal_listeners(server):
    imap_pub, pop3_pub = PUBLIC
    imap_int, pop3_int = INTERNAL
    mark = server.log_mark()
    refused(server.imap_login(TARGET + "*admin", PW, port=imap_pub),
            NOT_ON_PORT)
    refused(server.pop3_login(TARGET + "*admin", PW, port=pop3_pub),
            NOT_ON_PORT)
    assert server.wait_log(mark, "Master admin refused by rule ports")
    assert server.imap_login(TARGET + "*admin", PW, port=imap_int)[0] == \
        "OK"
    assert server.pop3_login(TARGET + "*admin", PW, port=pop3_int)[0] == \
        "OK"
    # a wrong password on the public port says nothing of the rule
    status, text = server.imap_login(TARGET + "*admin", "wrong",
                                     port=imap_pub)
    assert status == "NO" and NOT_ON_PORT not in text, text
    # the users' own logins work on every listener
    for port in (imap_pub, imap_int):
        assert server.imap_login(TARGET, "secret", port=port)[0] == "OK"
    assert server.pop3_login(TARGET, "secret", port=pop3_pub)[0] == "OK"


def test_masters_own_ports_replace_the_sites(server):
    # everywhere: dms_ports names the public listeners too
    assert server.imap_login(TARGET + "*everywhere", PW,
                             port=PUBLIC[0])[0] == "OK"
    assert server.pop3_login(TARGET + "*everywhere", PW,
                             port=PUBLIC[1])[0] == "OK"


def test_unknown_listener_refused(server):
    """doveadm auth test has no listener unless told: a master limited to
    some ports is refused, as everywhere else the port is not known."""
    rc, out = server.doveadm_auth_test(TARGET + "*admin", PW)
    assert rc != 0, out
    rc, out = server.doveadm_auth_test(TARGET + "*admin", PW, fields=(
        "lip=127.0.0.1", "lport=%d" % INTERNAL[0]))
    assert rc == 0, out
    rc, out = server.doveadm_auth_test(TARGET + "*admin", PW, fields=(
        "lip=127.0.0.1", "lport=%d" % PUBLIC[0]))
    assert rc != 0, out
    assert ("user@example.com", "refused", "ports", None) in \
        audit_rules(server, "admin")


def test_address_items(make_dovecot):
    """ADDRESS and ADDRESS:PORT items: 127.0.0.1 is every listener here,
    127.0.0.2 none."""
    s = make_server("master", "ports=127.0.0.2", own=True)
    make_dovecot.servers.append(s)
    s.write_store(store_text({"admin": "", "local": "dms_ports=127.0.0.1",
                              "one": "dms_ports=127.0.0.1:%d" % (INTERNAL[0] + OWN)},
                             s.hashed))
    s.start()
    refused(s.imap_login(TARGET + "*admin", PW), NOT_ON_PORT)
    for port in (PUBLIC[0] + OWN, INTERNAL[0] + OWN):
        assert s.imap_login(TARGET + "*local", PW, port=port)[0] == "OK"
    assert s.imap_login(TARGET + "*one", PW,
                        port=INTERNAL[0] + OWN)[0] == "OK"
    refused(s.imap_login(TARGET + "*one", PW), NOT_ON_PORT)


# -- settings: bad values stop the auth process ----------------------------------

@pytest.mark.parametrize("args,text", [
    ("ports=imap", pick("Invalid ports=imap: not a port",
                        "dms_master_ports=imap: not a port")),
    ("protected=a,,b", pick("Invalid protected=a,,b",
                            "dms_master_protected=a,,b")),
])
def test_bad_site_setting_fails_closed(make_dovecot, args, text):
    """2.3: the auth process stops with one Fatal line; 2.4: doveconf and
    Dovecot refuse the configuration."""
    s = make_server("master", args, own=True)
    make_dovecot.servers.append(s)
    if DOVECOT24:
        out = subprocess.run(["doveconf", "-c", s.conf, "-n"],
                             capture_output=True, text=True,
                             timeout=TIMEOUT)
        assert out.returncode != 0 and text in out.stderr, out.stderr
        return
    s.start()
    assert s.wait_auth_fatal(login=(TARGET + "*admin", PW)), s.log()
    assert text in s.log(), s.log()


def test_bad_master_option_fails_closed(server):
    """A master whose dms_ports or dms_deny cannot be read is no master
    at all: never a master without the limit."""
    masters = dict(MASTERS, bad="dms_ports=imap", bad2="dms_deny=a,,b")
    server.write_store(store_text(masters, server.hashed))
    try:
        for name in ("bad", "bad2"):
            status, _ = server.imap_login(TARGET + "*" + name, PW,
                                          port=INTERNAL[0])
            assert status == "NO"
        assert server.wait_log(0, "bad: dms_ports: not a port")
    finally:
        server.write_store(store_text(MASTERS, server.hashed))


# -- the CLI -------------------------------------------------------------------

def test_cli_sets_and_clears_deny_and_ports(make_dovecot):
    s = make_server("selfsplit", "", own=True)
    make_dovecot.servers.append(s)
    s.write_store("")
    s.start()
    env = dict(os.environ, DMS_MASTERS_FILE=s.store)
    imap_int = INTERNAL[0] + OWN

    def setup(*args, rc=0):
        p = subprocess.run([SETUP, "dovecot-master", *args], env=env,
                           capture_output=True, text=True, timeout=TIMEOUT)
        assert p.returncode == rc, p.stderr
        return p.stdout + p.stderr

    setup("add", "helper", PW, "--deny", "other@example.org", "--deny",
          "boss@*", "--ports", "%d,127.0.0.1:1" % imap_int)
    assert setup("list") == ("* helper dms_deny=other@example.org,boss@* "
                             "dms_ports=%d,127.0.0.1:1\n" % imap_int)
    assert s.imap_login(TARGET + "*helper", PW, port=imap_int)[0] == "OK"
    refused(s.imap_login(TARGET + "*helper", PW), NOT_ON_PORT)
    refused(s.imap_login("other@example.org*helper", PW, port=imap_int),
            NOT_ALLOWED_USER)
    refused(s.imap_login("boss@example.org*helper", PW, port=imap_int),
            NOT_ALLOWED_USER)

    setup("update", "helper", "--no-deny", "--no-ports")
    assert setup("list") == "* helper\n"
    assert s.imap_login("other@example.org*helper", PW)[0] == "OK"

    # bad values are refused and change nothing
    out = setup("update", "helper", "--ports", "imap", rc=1)
    assert "dms_ports: not a port" in out, out
    out = setup("update", "helper", "--deny", "a b", rc=1)
    assert "white space" in out, out
    assert setup("list") == "* helper\n"
