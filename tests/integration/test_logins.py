"""Every outcome a user sees, in both ways of use (the dovecot fixture is
parametrized over the master-passdb and the self-splitting way)."""

import time

import pytest

TARGET = "user@example.com"


def assert_auth_failure(result):
    """An authentication or authorization failure, never a temporary or
    internal one."""
    status, text = result
    assert status == "NO", result
    assert "UNAVAILABLE" not in text and "Temporary" not in text, text
    assert ("AUTHENTICATIONFAILED" in text or
            "AUTHORIZATIONFAILED" in text or
            "Authentication failed" in text), text


def test_master_login_imap(dovecot):
    mark = dovecot.log_mark()
    status, subjects = dovecot.imap_login(TARGET + "*admin", "top-secret")
    assert status == "OK", subjects
    assert subjects == ["Subject: Hello from the INBOX"]
    assert dovecot.wait_log(mark, "Master user logging in as " + TARGET)
    # %{master_user} is set in the mail process of the target
    assert dovecot.wait_log(mark, "imap(%s)<master=admin>" % TARGET)


def test_master_login_pop3(dovecot):
    mark = dovecot.log_mark()
    status, count = dovecot.pop3_login(TARGET + "*backup", "backup-pass")
    assert (status, count) == ("OK", 1)
    assert dovecot.wait_log(mark, "pop3(%s)<master=backup>" % TARGET)


def test_master_login_doveadm(dovecot):
    rc, out = dovecot.doveadm_auth_test(TARGET + "*admin", "top-secret")
    assert rc == 0, out
    assert "passdb: %s*admin auth succeeded" % TARGET in out, out
    # Dovecot hands the session to the target, admin as the master
    assert "  user=%s\n" % TARGET in out, out
    assert "  auth_user=admin\n" in out, out
    # %{master_user} as the target's passdb sees it
    assert "  seen_master=admin\n" in out, out


def test_master_login_testsaslauthd(dovecot, saslauthd):
    if dovecot.imap_port != 143:
        pytest.skip("rimap talks to port 143")
    rc, out = saslauthd.test(TARGET + "*admin", "top-secret")
    assert out == '0: OK "Success."', out
    rc, out = saslauthd.test(TARGET + "*admin", "wrong")
    assert out.startswith("0: NO"), out


@pytest.mark.parametrize("user,password", [
    (TARGET + "*admin", "wrong"),               # wrong password
    (TARGET + "*admin", ""),                    # empty password
    (TARGET + "*admin", "secret"),              # the target's password
    (TARGET + "*nobody", "top-secret"),         # unknown master
    ("nobody@example.com*admin", "top-secret"),  # unknown target
    ("admin", "top-secret"),                    # a master is no mail account
    ("*admin", "top-secret"),                   # empty target
    (TARGET + "*", "top-secret"),               # empty master
    (TARGET + "*", "secret"),
    ("*", "top-secret"),
    (TARGET + "*admin*admin", "top-secret"),    # master "admin*admin"
    (TARGET + "*backup", "top-secret"),         # another master's password
])
def test_refused(dovecot, user, password):
    assert_auth_failure(dovecot.imap_login(user, password))
    status, text = dovecot.pop3_login(user, password)
    assert status == "NO" and "[SYS/TEMP]" not in text, text
    rc, out = dovecot.doveadm_auth_test(user, password)
    assert rc != 0 and "auth failed" in out, out


def test_upper_case_master_follows_auth_username_format(dovecot):
    """Dovecot's default auth_username_format = %Lu lower-cases the whole
    name before any passdb runs, so ADMIN is admin, as with passwd-file."""
    assert dovecot.imap_login(TARGET + "*ADMIN", "top-secret")[0] == "OK"


def test_unknown_master_logged(dovecot):
    mark = dovecot.log_mark()
    dovecot.imap_login(TARGET + "*nobody", "top-secret")
    assert dovecot.wait_log(mark, "unknown user")
    assert "Internal error" not in dovecot.log_since(mark)


def test_wrong_password_logged(dovecot):
    mark = dovecot.log_mark()
    dovecot.imap_login(TARGET + "*admin", "wrong")
    assert dovecot.wait_log(mark, "Password mismatch")
    # the password never reaches the log
    assert "wrong" not in dovecot.log_since(mark).replace("wrong password", "")


def test_ordinary_logins_untouched(dovecot):
    status, subjects = dovecot.imap_login(TARGET, "secret")
    assert status == "OK" and len(subjects) == 1
    assert dovecot.pop3_login(TARGET, "secret") == ("OK", 1)
    assert_auth_failure(dovecot.imap_login(TARGET, "top-secret"))
    assert_auth_failure(dovecot.imap_login(TARGET, "wrong"))
    # the other user sees their own (empty) mailbox, not the target's
    assert dovecot.imap_login("other@example.org", "other-secret") == ("OK", [])


def test_cram_md5(dovecot):
    """lookup_credentials: SHA512-CRYPT cannot answer CRAM-MD5; Dovecot's
    usual refusal, no crash, and the next logins are still answered."""
    mark = dovecot.log_mark()
    assert_auth_failure(dovecot.imap_cram_md5(TARGET + "*admin", "top-secret"))
    assert_auth_failure(dovecot.imap_cram_md5(TARGET + "*nobody", "x"))
    log = dovecot.log_since(mark)
    assert "Fatal" not in log and "Panic" not in log, log
    assert dovecot.imap_login(TARGET + "*admin", "top-secret")[0] == "OK"


def test_store_change_picked_up(dovecot):
    try:
        # a new master works at once, without a restart
        dovecot.write_masters({"admin": "top-secret", "newbie": "fresh"})
        assert dovecot.imap_login(TARGET + "*newbie", "fresh")[0] == "OK"
        # a changed password: the old one is refused at once
        dovecot.write_masters({"admin": "changed", "newbie": "fresh"})
        assert_auth_failure(dovecot.imap_login(TARGET + "*admin", "top-secret"))
        assert dovecot.imap_login(TARGET + "*admin", "changed")[0] == "OK"
        # a removed master is refused at once
        dovecot.write_masters({"admin": "changed"})
        assert_auth_failure(dovecot.imap_login(TARGET + "*newbie", "fresh"))
    finally:
        from dovecot_env import MASTERS
        dovecot.write_masters(MASTERS)
    assert dovecot.imap_login(TARGET + "*admin", "top-secret")[0] == "OK"


def test_store_missing_is_temporary_failure(dovecot):
    import os
    backup = dovecot.store + ".away"
    os.rename(dovecot.store, backup)
    try:
        mark = dovecot.log_mark()
        status, text = dovecot.imap_login(TARGET + "*admin", "top-secret")
        assert status == "NO" and "UNAVAILABLE" in text, text
        assert dovecot.wait_log(mark, "stat(%s) failed" % dovecot.store)
        # ordinary logins go on
        assert dovecot.imap_login(TARGET, "secret")[0] == "OK"
    finally:
        os.rename(backup, dovecot.store)
    assert dovecot.imap_login(TARGET + "*admin", "top-secret")[0] == "OK"


def test_malformed_lines_logged_and_skipped(dovecot):
    from dovecot_env import MASTERS, doveadm_pw
    mark = dovecot.log_mark()
    try:
        dovecot.write_store("# comment\r\n"
                            "garbage line without a delimiter\r\n"
                            "admin|%s\r\n"
                            "plain|{PLAIN}secret\r\n" % doveadm_pw("top-secret"))
        assert dovecot.imap_login(TARGET + "*admin", "top-secret")[0] == "OK"
        assert dovecot.wait_log(mark, "%s:2: missing '|' or ':'" % dovecot.store)
        assert dovecot.wait_log(mark, "%s:4: plain: unknown or unsupported "
                                "password scheme" % dovecot.store)
        # the unknown scheme is refused, with a clear error
        mark = dovecot.log_mark()
        assert_auth_failure(dovecot.imap_login(TARGET + "*plain", "secret"))
        assert dovecot.wait_log(mark, "%s:4: master plain: unknown or "
                                "unsupported password scheme" % dovecot.store)
    finally:
        dovecot.write_masters(MASTERS)
