"""The security review's findings (issue 11), each reproduced as the attack
against a real Dovecot, in both ways of use where both apply."""

import os

import pytest

from dovecot_env import Dovecot, doveadm_pw
from test_logins import TARGET, assert_auth_failure

PW = "top-secret"


# -- 11: a failed master login never reaches the next passdb -------------

# A passdb after the module that looks the name up by %n, as
# docker-mailserver's LDAP passdb does: for "user@example.com*admin" %n is
# "user", whose password is the target's own.
N_PASSDB = """
passdb {{
  driver = passwd-file
  args = scheme=SHA512-CRYPT username_format=%n {tmp}/users-n
}}
"""


@pytest.fixture(params=["master", "selfsplit"])
def fallthrough(request, make_dovecot):
    server = make_dovecot(request.param, extra="auth_debug = yes\n")
    with open(server.conf, "a") as f:
        f.write(N_PASSDB.format(tmp=server.tmp))
    server._replace(os.path.join(server.tmp, "users-n"),
                    "user:%s\n" % doveadm_pw("secret"))
    server.start()
    return server


def n_passdb_asked(server, mark):
    return "passwd-file(%s*" % TARGET in server.log_since(mark)


@pytest.mark.parametrize("master,password", [
    ("admin", "secret"),        # the target's own password
    ("admin", "wrong"),         # a mistyped master password
    ("nobody", PW),             # an unknown master
    ("", "secret"),             # an empty master
])
def test_failed_master_login_stays_with_dms_master(fallthrough, master,
                                                   password):
    mark = fallthrough.log_mark()
    assert_auth_failure(fallthrough.imap_login(TARGET + "*" + master,
                                               password))
    rc, out = fallthrough.doveadm_auth_test(TARGET + "*" + master, password)
    assert rc != 0, out
    assert not n_passdb_asked(fallthrough, mark), fallthrough.log_since(mark)


def test_failed_master_cram_md5_stays_with_dms_master(fallthrough):
    mark = fallthrough.log_mark()
    status, text = fallthrough.imap_cram_md5(TARGET + "*nobody", "secret")
    assert status == "NO", text
    assert not n_passdb_asked(fallthrough, mark), fallthrough.log_since(mark)


def test_store_tempfail_stays_with_dms_master(fallthrough):
    os.chmod(fallthrough.store, 0o666)       # untrusted: tempfail
    mark = fallthrough.log_mark()
    status, text = fallthrough.imap_login(TARGET + "*admin", "secret")
    assert status == "NO", text
    assert not n_passdb_asked(fallthrough, mark), fallthrough.log_since(mark)
    if fallthrough.mode == "selfsplit":
        assert "UNAVAILABLE" in text, text    # still a temporary failure


def test_ordinary_logins_still_reach_later_passdbs(fallthrough):
    # the control: the %n passdb does answer names without the separator
    status, _ = fallthrough.imap_login("user@example.com", "secret")
    assert status == "OK"
    status, _ = fallthrough.imap_login(TARGET + "*admin", PW)
    assert status == "OK"
