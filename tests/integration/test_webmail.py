"""Webmail as the user, end to end (issue 23): Debian's Roundcube with
contrib/roundcube's dms_master plugin, against a real Dovecot (IMAP,
submission, Pigeonhole's ManageSieve) and a real Postfix (SMTP AUTH
through Dovecot, smtpd_sender_login_maps), driven over HTTP as a browser
does, and once in headless Chromium for a screenshot of the banner.

Two Roundcubes share the Dovecot: one sends through Dovecot's submission
service (which relays to Postfix with XCLIENT LOGIN), the other straight
through Postfix with SMTP AUTH. Postfix relays everything to the test's
SMTP sink, where the tests read what went out.

Skipped, with the reason, where Debian's roundcube-core, php-cli or
postfix are not installed (scripts/deps.sh installs them)."""

import base64
import imaplib
import json
import os
import re
import smtplib
import subprocess
import time
import urllib.parse

import pytest

from dovecot_env import DOVECOT_VERSION, TIMEOUT, TOP, Dovecot, \
    doveadm_pw, pick
from protocols import SmtpSink, services_conf
from test_policy import PW, policy_extra, store_text
from webmail_env import Browser, Postfix, Roundcube, free_port, \
    have_chromium, have_postfix, have_roundcube, recipe

if not have_roundcube():
    pytest.skip("Debian's roundcube-core and php-cli are not installed: "
                "the webmail tests are skipped", allow_module_level=True)
if not have_postfix():
    pytest.skip("Debian's postfix is not installed: the webmail tests are "
                "skipped", allow_module_level=True)

TARGET = "user@example.com"
OWNER_PW = "secret"
MASTERS = {
    "admin": "dms_services=*",
    "auditor": "dms_services=* dms_read_only=yes",
    # IMAP only: no sending, no filters
    "reader": "dms_services=imap",
    # may open other@example.org only
    "narrow": "dms_services=* dms_allow=other@example.org",
    # removed by test_access_ends_in_webmail
    "temp": "dms_services=*",
}
# the browser's address, as a reverse proxy in front of Roundcube
# forwards it (X-Forwarded-For)
CLIENT_IP = "192.0.2.44"
OUTSIDE = "someone@outside.example"
REDIRECT = 'require "fileinto";\nif header :contains "subject" "x" ' \
    '{ fileinto "INBOX"; }\n'

# submission and ManageSieve on the test's ports (protocols.py), then the
# recipe's lines (contrib/roundcube/dovecot-webmail.conf) with this
# Postfix's socket and port
def dovecot_recipe(postfix):
    text = recipe("dovecot-webmail.conf")
    for old, new in (("/var/spool/postfix/private/auth",
                      postfix.auth_socket()),
                     ("submission_relay_port = 25",
                      "submission_relay_port = %d" % postfix.port)):
        assert old in text
        text = text.replace(old, new)
    return text


SIEVE = pick("""
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
  dms_session_record = summary
}
""", """
sieve_script personal {
  driver = file
  path = ~/sieve
  active_path = ~/.dovecot.sieve
}
dms_session_record = summary
""")


@pytest.fixture(scope="module")
def stack():
    sink = SmtpSink()
    ports = dict(submission_port=free_port(), sieve_port=free_port(),
                 imap_port=free_port())
    server = Dovecot("master", args="audit_file=@AUDIT_FILE@",
                     imap_port=ports["imap_port"], pop3_port=free_port(),
                     extra=policy_extra() + SIEVE)
    parts = [server]
    try:
        postfix = Postfix(server.tmp, sink.port,
                          {TARGET: TARGET,
                           "other@example.org": "other@example.org"})
        parts.append(postfix)
        with open(server.conf, "a") as f:
            f.write(services_conf(ports["submission_port"], None,
                                  ports["sieve_port"]) +
                    dovecot_recipe(postfix))
        server.write_store(store_text(MASTERS, doveadm_pw(PW)))
        # Dovecot's auth socket first: Postfix's smtpd needs it
        server.start()
        postfix.start()
        # one Roundcube sends through Dovecot's submission service, the
        # other through Postfix
        rc_sub = Roundcube(os.path.join(server.tmp, "sub"),
                           ports["imap_port"], ports["submission_port"],
                           ports["sieve_port"])
        parts.append(rc_sub)
        rc_pf = Roundcube(os.path.join(server.tmp, "pf"),
                          ports["imap_port"], postfix.port,
                          ports["sieve_port"])
        parts.append(rc_pf)
        rc_sub.start()
        rc_pf.start()
        yield dict(server=server, sink=sink, postfix=postfix, sub=rc_sub,
                   pf=rc_pf, **ports)
    finally:
        for part in reversed(parts):
            part.stop()
        server.cleanup()
        sink.close()


def login(rc, user, password=PW):
    web = rc.session(CLIENT_IP)
    page = web.login(user, password)
    return web, page


def banner(page):
    m = re.search(r'<div id="dms-master-banner"[^>]*>(.*?)</div>', page.text,
                  re.S)
    return m.group(1) if m else None


def message_to(sink, subject):
    for mail_from, rcpts, data in sink.messages:
        if "Subject: " + subject in data:
            return mail_from, rcpts, data
    return None


def wait_message(stack, subject):
    """What the sink got with SUBJECT, once Postfix delivered it."""
    server = stack["server"]
    deadline = time.monotonic() + 3 * TIMEOUT
    while time.monotonic() < deadline:
        with stack["sink"].lock:
            found = message_to(stack["sink"], subject)
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("%s never reached the sink; postfix: %s; "
                         "dovecot: %s" % (subject, stack["postfix"].log(),
                                          server.log()[-3000:]))


# -- logging in and reading -------------------------------------------------

def test_install_script_installs_the_plugin(stack):
    out = stack["sub"].install_out
    assert "/plugins/dms_master" in out
    assert os.path.isfile(os.path.join(stack["sub"].rc, "plugins",
                                       "dms_master", "dms_master.php"))


def test_install_script_verbatim(tmp_path):
    """README's command as it stands, into Debian's plugin directory (a
    directory of the test's bind-mounted over it, in a namespace of its
    own), twice: a second install keeps the operator's config.inc.php."""
    cmd = "sh contrib/roundcube/install.sh"
    script = ("set -e; mount --bind %s /var/lib/roundcube/plugins; cd %s; "
              "%s; echo x > /var/lib/roundcube/plugins/dms_master/"
              "config.inc.php; %s" % (tmp_path, TOP, cmd, cmd))
    r = subprocess.run(["unshare", "--mount", "--propagation", "private",
                        "sh", "-c", script], capture_output=True, text=True,
                       timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    assert "installed /var/lib/roundcube/plugins/dms_master" in r.stdout
    assert (tmp_path / "dms_master" / "dms_master.php").is_file()
    assert (tmp_path / "dms_master" / "config.inc.php").read_text() == "x\n"
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]


def test_master_login_opens_the_target_with_a_banner(stack):
    rc = stack["sub"]
    web, page = login(rc, TARGET + "*admin")
    assert page.status == 200, rc.errors()
    text = banner(page)
    assert text is not None, page.text[:3000] + rc.errors()
    assert "admin" in text and TARGET in text and "read-only" not in text
    assert any("Master admin logged in as %s from %s" % (TARGET, CLIENT_IP)
               in line for line in rc.log_lines("dms_master.log"))
    # Roundcube's own record is the target's: no stray "user*admin"
    assert TARGET in rc.user_rows()
    assert not any("*" in u for u in rc.user_rows()), rc.user_rows()


def test_master_reads_the_mailbox(stack):
    web, page = login(stack["sub"], TARGET + "*admin")
    listing = web.list()
    assert "Hello from the INBOX" in listing.text, listing.text[:2000]
    uid = re.search(r'this\.add_message_row\((\d+)', listing.text)
    assert uid, listing.text[:2000]
    shown = web.show(uid.group(1))
    assert "Hello from the INBOX" in shown.text
    assert banner(shown) is not None


def test_audit_names_the_browser_address(stack):
    """login_trusted_networks and the plugin's IMAP ID: Dovecot's audit
    and session record name the browser, not the webmail."""
    server = stack["server"]
    login(stack["sub"], TARGET + "*admin")
    recs = [r for r in server.audit_records()
            if r.get("master") == "admin" and r.get("service") == "imap"]
    assert any(r.get("remote_ip") == CLIENT_IP for r in recs), \
        json.dumps(recs[-3:])
    # the session record (dms-session service), once the session ended
    assert server.wait_session_records(
        lambda rs: any(r.get("master") == "admin" and
                       r.get("remote_ip") == CLIENT_IP for r in rs)), \
        server.session_records("admin")[-3:]


def test_allow_refusal_shows_at_the_login_form(stack):
    rc = stack["sub"]
    web, page = login(rc, TARGET + "*narrow")
    assert "Master login refused: Master login not allowed for this user" \
        in page.text, page.text[:3000] + rc.errors()
    assert banner(page) is None
    # a wrong password is only "Login failed."
    web, page = login(rc, TARGET + "*admin", "wrong")
    assert "Login failed." in page.text
    assert "Master login refused" not in page.text


# -- sending as the target ---------------------------------------------------

def sent_ok(resp):
    return "sent_successfully" in resp.text


@pytest.mark.parametrize("rc, sasl", [("sub", "XCLIENT"), ("pf", "PLAIN")])
def test_send_as_the_target(stack, rc, sasl):
    """Through Dovecot's submission service (which logs the user in to
    Postfix with XCLIENT) and straight through Postfix (SMTP AUTH through
    Dovecot): the login name Postfix gets is the target's."""
    subject = "sent via " + rc
    web, _ = login(stack[rc], TARGET + "*admin")
    resp = web.send(OUTSIDE, subject)
    assert sent_ok(resp), resp.text[:3000] + stack[rc].errors()
    mail_from, rcpts, data = wait_message(stack, subject)
    assert TARGET in mail_from
    assert re.search(r"^From: .*%s" % re.escape(TARGET), data, re.M), data
    assert re.search(r"^X-Impersonated-By: admin\r?$", data, re.M), data
    assert "sasl_method=%s, sasl_username=%s" % (sasl, TARGET) in \
        stack["postfix"].log()
    # the plugin's XCLIENT before AUTH: Dovecot's audit names the browser
    service = {"sub": "submission", "pf": "smtp"}[rc]
    recs = [r for r in stack["server"].audit_records()
            if r.get("master") == "admin" and r.get("service") == service]
    assert recs and recs[-1].get("remote_ip") == CLIENT_IP, \
        json.dumps(recs[-2:])
    # the plugin's own AUTH PLAIN is hidden in Roundcube's SMTP debug log
    # (smtp_debug is on here) as Roundcube's is
    secret = base64.b64encode(("\0%s*admin\0%s" % (TARGET, PW)).encode())
    smtp_log = "".join(stack[rc].log_lines("smtp.log"))
    assert "Send: AUTH PLAIN" in smtp_log
    assert secret.decode() not in smtp_log and PW not in smtp_log


def test_sent_copy_carries_the_header(stack):
    """The owner sees in Sent that a master sent it."""
    web, _ = login(stack["sub"], TARGET + "*admin")
    assert sent_ok(web.send(OUTSIDE, "for the sent folder"))
    imap = imaplib.IMAP4("127.0.0.1", stack["imap_port"], timeout=TIMEOUT)
    try:
        imap.login(TARGET, OWNER_PW)
        assert imap.select("Sent", readonly=True)[0] == "OK"
        typ, data = imap.search(None, "HEADER", "X-Impersonated-By", "admin",
                                "SUBJECT", '"for the sent folder"')
        assert typ == "OK" and data[0].split(), data
    finally:
        imap.logout()


@pytest.mark.parametrize("path", ["postfix", "submission"])
def test_envelope_of_another_address_rejected(stack, path):
    """The attack: a master sends as someone else than the target. Postfix
    maps the login name Dovecot returns (the target) to its addresses."""
    port = stack["postfix"].port if path == "postfix" else \
        stack["submission_port"]
    smtp = smtplib.SMTP("127.0.0.1", port, timeout=TIMEOUT)
    try:
        smtp.ehlo("client.test")
        smtp.login(TARGET + "*admin", PW)
        with pytest.raises(smtplib.SMTPException) as e:
            smtp.sendmail("other@example.org", [OUTSIDE],
                          "From: other@example.org\r\nSubject: forged %s"
                          "\r\n\r\nx\r\n" % path)
        assert "not owned by user " + TARGET in str(e.value), e.value
    finally:
        smtp.close()
    # refused in the SMTP dialogue: never queued, never relayed
    assert message_to(stack["sink"], "forged " + path) is None


def test_webmail_cannot_send_from_another_address(stack):
    """Roundcube with identities_level 3 keeps the identity's address the
    target's (the name changes, the address does not); a From typed
    around the form reaches Postfix, which refuses the envelope."""
    web, _ = login(stack["pf"], TARGET + "*admin")
    save = web.form("settings", "save-identity", {
        "_iid": "1", "_name": "Changed Name", "_email": "other@example.org"})
    assert "Successfully saved" in save.text, save.text[:1000]
    ident = web.request({"_task": "settings", "_action": "edit-identity",
                         "_iid": "1", "_framed": "1"})
    assert 'value="Changed Name"' in ident.text
    assert "other@example.org" not in ident.text
    page, compose_id, _ = web.compose()
    resp = web.form("mail", "send", {
        "_id": compose_id, "_from": "other@example.org", "_to": OUTSIDE,
        "_subject": "forged from", "_message": "x"})
    assert not sent_ok(resp)
    assert "not owned by user " + TARGET in resp.text, resp.text[-1000:]
    assert message_to(stack["sink"], "forged from") is None


# -- policy through webmail ---------------------------------------------------

def test_read_only_master_reads_but_changes_nothing(stack):
    rc = stack["sub"]
    stack["server"].deliver(TARGET, "For the auditor")
    web, page = login(rc, TARGET + "*auditor")
    assert "(read-only)" in (banner(page) or ""), page.text[:2000]
    listing = web.list()
    uid = re.search(r'add_message_row\((\d+),\{"subject":"For the auditor"',
                    listing.json()["exec"])
    assert uid, listing.text[:3000]
    uid = uid.group(1)
    # reading it does not mark it read
    assert "For the auditor" in web.show(uid).text
    for action, data in (("mark", {"_uid": uid, "_flag": "flagged"}),
                         ("mark", {"_uid": uid, "_flag": "read"}),
                         ("delete", {"_uid": uid}),
                         ("send", {"_to": OUTSIDE, "_subject": "ro send"}),
                         ("move", {"_uid": uid, "_target_mbox": "Trash"})):
        resp = web.action("mail", action, dict(data, _mbox="INBOX"))
        assert "Read-only master session: nothing may be changed" in \
            resp.text, (action, resp.text[:1000])
    # sending: the compose page is refused with the reason
    page, compose_id, _ = web.compose()
    assert compose_id is None
    assert "Read-only master session" in page.text
    # the message is where it was, unflagged and unseen (as the owner
    # sees it)
    imap = imaplib.IMAP4("127.0.0.1", stack["imap_port"], timeout=TIMEOUT)
    try:
        imap.login(TARGET, OWNER_PW)
        imap.select("INBOX", readonly=True)
        typ, data = imap.search(None, "SUBJECT", '"For the auditor"')
        nums = data[0].split()
        assert nums
        typ, flags = imap.fetch(nums[0], "FLAGS")
        assert b"Flagged" not in flags[0] and b"Deleted" not in flags[0]
        assert b"Seen" not in flags[0], flags
    finally:
        imap.logout()


def test_read_only_master_changes_no_settings(stack):
    """Roundcube's own data of the owner: the plugin is what guards it."""
    web, _ = login(stack["sub"], TARGET + "*auditor")
    resp = web.form("settings", "save-prefs", {
        "_section": "general", "_timezone": "Europe/Paris"})
    assert "Read-only master session" in resp.text, resp.text[:500]
    assert "Europe/Paris" not in stack["sub"].preferences(TARGET)
    # the control: the same request by a master that may change things
    web, _ = login(stack["sub"], TARGET + "*admin")
    resp = web.form("settings", "save-prefs", {
        "_section": "general", "_timezone": "Europe/Paris"})
    assert "Successfully saved" in resp.text, resp.text[:1000]
    assert "Europe/Paris" in stack["sub"].preferences(TARGET)


def test_master_without_submission_told_why(stack):
    web, _ = login(stack["pf"], TARGET + "*reader")
    resp = web.send(OUTSIDE, "reader tries")
    assert not sent_ok(resp)
    assert "may not send mail" in resp.text, resp.text[:2000]
    # refused at SMTP AUTH: never queued
    assert message_to(stack["sink"], "reader tries") is None


# -- Sieve ------------------------------------------------------------------

def sieve_dir(stack):
    return os.path.join(stack["server"].tmp, "mail", "example.com", "user",
                        "sieve")


def test_filters_listed_and_edited(stack):
    web, _ = login(stack["sub"], TARGET + "*admin")
    page = web.request({"_task": "settings",
                        "_action": "plugin.managesieve"})
    assert page.status == 200
    assert "Unable to connect" not in page.text
    assert "may not use the filters" not in page.text
    resp = web.action("settings", "plugin.managesieve-saveraw", {
        "_set": "roundcube", "_content": REDIRECT})
    assert "Unable" not in resp.text, resp.text[:1000]
    listed = [n for n in os.listdir(sieve_dir(stack))
              if n.endswith(".sieve")] if os.path.isdir(
                  sieve_dir(stack)) else []
    assert listed, resp.text[:1000] + stack["sub"].errors()


@pytest.mark.parametrize("master", ["reader", "auditor"])
def test_master_without_sieve_told_why(stack, master):
    """No sieve in dms_services, or read-only: Dovecot refuses the
    ManageSieve login, and the filters page says why."""
    web, _ = login(stack["sub"], TARGET + "*" + master)
    page = web.request({"_task": "settings",
                        "_action": "plugin.managesieve"})
    assert "may not use the filters" in page.text, page.text[:3000]
    rule = {"reader": "services", "auditor": "read_only"}[master]
    assert any(r.get("master") == master and r.get("service") == "sieve" and
               r.get("result") == "refused" and r.get("rule") == rule
               for r in stack["server"].audit_records())


# -- a real browser ---------------------------------------------------------

SCREENSHOT_DIR = os.environ.get("DMS_TEST_OUTPUT", "/tmp/dms-test-output")


@pytest.mark.skipif(not have_chromium(),
                    reason="Debian's chromium-driver is not installed")
def test_banner_in_a_browser(stack):
    """Headless Chromium logs in at the form and opens a message: the
    banner is on the screen."""
    rc = stack["sub"]
    browser = Browser(stack["server"].tmp)
    try:
        refused = rc.refusals()
        browser.get(rc.url + "?_task=login")
        browser.type("#rcmloginuser", TARGET + "*auditor")
        browser.type("#rcmloginpwd", PW)
        browser.click("#rcmloginsubmit")
        browser.find("#messagelist tbody tr")
        text = browser.text("#dms-master-banner")
        assert "auditor" in text and TARGET in text and "read-only" in text
        browser.get(rc.url + "?_task=mail&_mbox=INBOX&_action=show&_uid=1")
        browser.find("#messagebody")
        assert "auditor" in browser.text("#dms-master-banner")
        os.makedirs(SCREENSHOT_DIR, exist_ok=True)
        path = os.path.join(SCREENSHOT_DIR, "webmail-banner-%s.png" %
                            DOVECOT_VERSION.split()[0])
        browser.screenshot(path)
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
        print("screenshot: %s" % path)
        # reading in the browser asked for nothing the plugin refuses (a
        # refusal is a red message on the screen)
        assert rc.refusals() == refused, rc.refusals()
    finally:
        browser.close()


def test_access_ends_in_webmail(stack):
    """A master removed from the store: its next webmail request ends the
    Roundcube session, and the login form says why."""
    rc, server = stack["sub"], stack["server"]
    web, page = login(rc, TARGET + "*temp")
    assert banner(page) is not None
    assert "Hello from the INBOX" in web.list().text
    server.write_store(store_text(
        {k: v for k, v in MASTERS.items() if k != "temp"}, doveadm_pw(PW)))
    try:
        resp = web.list()
        assert "this.session_error(" in resp.text, resp.text[:2000]
        assert "Hello from the INBOX" not in resp.text
        # Roundcube's JavaScript goes to the URL session_error names
        url = re.search(r'session_error\("([^"]+)"\)', resp.json()["exec"])
        assert url, resp.text
        url = url.group(1).replace("\\/", "/")
        page = web.request(dict(urllib.parse.parse_qsl(
            urllib.parse.urlsplit(url).query)))
        assert "The master session has ended" in page.text, page.text[:2000]
        # the session is gone: the mailbox is not shown
        again = web.mail()
        assert banner(again) is None and 'id="rcmloginuser"' in again.text
    finally:
        server.write_store(store_text(MASTERS, doveadm_pw(PW)))
