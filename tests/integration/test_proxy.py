"""Master logins through a Dovecot proxy (second security review, item 9),
configured as README's "Proxies" says: the module on the proxy and on the
back-end, the target's passdb on the proxy returning proxy, host, port,
master=%{master_user} and the client's password. A proxied login meets no
userdb on the proxy, so read-only and the session record happen on the
back-end, which authenticates the master again; the proxy checks the
policy (auth and check records) before it proxies. Two real Dovecots in
one private network, both ways of use on the proxy."""

import imaplib
import os

import pytest

from dovecot_env import TIMEOUT, USERS_CONF, Dovecot, doveadm_pw, pick
from test_logins import TARGET
from test_policy import PW, policy_extra, store_text

BACKEND_PORTS = (11143, 11110)
MASTERS = {
    "admin": "",
    "ro": "dms_read_only=yes",
    "scoped": "dms_allow=*@example.com",
}
OTHER = "other@example.org"
# the fields README's "Proxies" gives the target's passdb on the proxy
PROXY_FIELDS = pick("proxy=y host=127.0.0.1 port=%d master=%%{master_user} "
                    "pass=%%w", "proxy=y host=127.0.0.1 port=%d "
                    "master=%%{master_user} pass=%%{password}") \
    % BACKEND_PORTS[0]


@pytest.fixture(scope="module")
def backend():
    b = Dovecot("master", args="audit_file=@AUDIT_FILE@",
                extra=policy_extra() + "login_trusted_networks = 127.0.0.1\n",
                imap_port=BACKEND_PORTS[0], pop3_port=BACKEND_PORTS[1])
    try:
        b.write_store(store_text(MASTERS, doveadm_pw(PW)))
        b.deliver(TARGET, "On the back-end")
        b.start()
        yield b
    finally:
        b.cleanup()


@pytest.fixture(scope="module", params=["master", "selfsplit"])
def proxy(request, backend):
    p = Dovecot(request.param, args="audit_file=@AUDIT_FILE@",
                users=USERS_CONF)
    try:
        p.write_store(store_text(MASTERS, doveadm_pw(PW)))
        # the target's passdb line says where its mailbox is
        users = os.path.join(p.tmp, "users")
        p._replace(users, "".join(
            "%s:%s::::::%s\n" % (u, doveadm_pw(pw), PROXY_FIELDS)
            for u, pw in (("user@example.com", "secret"),
                          (OTHER, "other-secret"))))
        p.start()
        yield p
    finally:
        p.cleanup()


def test_master_through_the_proxy(proxy, backend):
    status, subjects = proxy.imap_login(TARGET + "*admin", PW)
    assert status == "OK", subjects
    assert "Subject: On the back-end" in subjects, subjects


def test_read_only_holds_on_the_back_end(proxy, backend):
    imap = imaplib.IMAP4("127.0.0.1", proxy.imap_port, timeout=TIMEOUT)
    try:
        imap.login(TARGET + "*ro", PW)
        typ, data = imap.append("INBOX", None, None,
                                b"Subject: through the proxy\r\n\r\nx\r\n")
        assert typ == "NO", data
        # the back-end opens it [READ-ONLY]: imaplib refuses a SELECT so
        with pytest.raises(imaplib.IMAP4.readonly):
            imap.select("INBOX")
    finally:
        imap.shutdown()
    assert backend.wait_log(0, "stage=session master=ro target=%s" % TARGET)


def test_policy_refused_on_the_proxy(proxy, backend):
    mark = backend.log_mark()
    status, text = proxy.imap_login(OTHER + "*scoped", PW)
    assert status == "NO" and "[AUTHORIZATIONFAILED]" in text, text
    # never proxied
    assert "master=scoped target=%s" % OTHER not in backend.log_since(mark)


def test_records_on_both(proxy, backend):
    """The proxy writes auth and check records, the back-end the session
    record too, joined by the proxy's session id."""
    assert proxy.imap_login(TARGET + "*admin", PW)[0] == "OK"
    front = [r for r in proxy.audit_records() if r["master"] == "admin"][-2:]
    assert [r["stage"] for r in front] == ["auth", "check"], front
    assert not any(r["stage"] == "session" for r in proxy.audit_records())
    assert backend.wait_log(0, "stage=session master=admin target=%s"
                            % TARGET)
    back = [r for r in backend.audit_records() if r["master"] == "admin"]
    assert [r["stage"] for r in back[-3:]] == ["auth", "check", "session"]
    # the back-end sees the client's address through the trusted proxy
    assert back[-1]["remote_ip"] == "127.0.0.1"
