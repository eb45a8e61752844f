"""Configurations: passdb args, blocking, schemes, start-up checks."""

import os
import subprocess

import pytest

from dovecot_env import (AUTH_SELFSPLIT, DOVECOT24, MASTERS, TIMEOUT,
                         doveadm_pw, pick)
from test_logins import TARGET, assert_auth_failure

MODES = ["master", "selfsplit"]


@pytest.mark.parametrize("mode", MODES)
def test_blocking_auth_workers(make_dovecot, mode):
    """blocking=yes: verification runs in auth-worker processes, and the
    fields that hand the session over survive the trip back."""
    d = make_dovecot(mode, args="blocking=yes")
    d.start()
    mark = d.log_mark()
    status, subjects = d.imap_login(TARGET + "*admin", "top-secret")
    assert status == "OK", subjects
    assert subjects == ["Subject: Hello from the INBOX"]
    assert d.wait_log(mark, "imap(%s)<master=admin>" % TARGET)
    assert d.pop3_login(TARGET + "*backup", "backup-pass") == ("OK", 1)
    assert_auth_failure(d.imap_login(TARGET + "*admin", "wrong"))
    assert_auth_failure(d.imap_login("nobody@example.com*admin", "top-secret"))
    assert d.imap_login(TARGET, "secret")[0] == "OK"
    assert d.wait_log(mark, "auth-worker(")
    # the workers see store changes too
    d.write_masters({"admin": "rotated"})
    assert_auth_failure(d.imap_login(TARGET + "*admin", "top-secret"))
    assert d.imap_login(TARGET + "*admin", "rotated")[0] == "OK"


@pytest.mark.parametrize("mode", MODES)
def test_schemes_and_formats(make_dovecot, mode):
    """Every scheme, hashed by Dovecot's own doveadm pw, in both store
    formats (docker-mailserver's | and passwd-file's :)."""
    d = make_dovecot(mode)
    # a plain crypt(3) value under {CRYPT}: Dovecot's SHA512-CRYPT hash
    # without its own prefix
    crypt_value = doveadm_pw("p-yes").split("}", 1)[1]
    assert crypt_value.startswith("$6$"), crypt_value
    lines = [
        "m512|" + doveadm_pw("p-512", "SHA512-CRYPT"),
        "m256|" + doveadm_pw("p-256", "SHA256-CRYPT"),
        "mblf|" + doveadm_pw("p-blf", "BLF-CRYPT"),
        "mmd5|" + doveadm_pw("p-md5", "MD5-CRYPT"),
        "mcrypt|{CRYPT}" + crypt_value,
        "pwfile:" + doveadm_pw("p-pwf") + ":1000:1000::/nonexistent::",
    ]
    d.write_store("\n".join(lines) + "\n")
    # a yescrypt hash from libxcrypt itself, verified through {CRYPT}
    y = subprocess.run(["doveadm", "pw", "-s", "CRYPT", "-p", "unused"],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert y.returncode == 0
    d.start()
    for name, pw in [("m512", "p-512"), ("m256", "p-256"), ("mblf", "p-blf"),
                     ("mmd5", "p-md5"), ("mcrypt", "p-yes"),
                     ("pwfile", "p-pwf")]:
        assert d.imap_login(TARGET + "*" + name, pw)[0] == "OK", name
        assert_auth_failure(d.imap_login(TARGET + "*" + name, pw + "x"))
    assert "Warning" not in d.log(), d.log()


@pytest.mark.skipif(not DOVECOT24, reason="2.4's default_password_scheme")
@pytest.mark.parametrize("scheme_args", ["", "scheme=PLAIN"])
def test_plain_default_scheme_counts_as_unset(make_dovecot, scheme_args):
    """PLAIN, Dovecot's global default before 2.4.3 and what 2.4.3 on
    gives every passdb of a configuration with an older
    dovecot_config_version, means the module's default, SHA512-CRYPT:
    values without {SCHEME} verify as such, plaintext ones are refused as
    malformed lines, never compared as plaintext."""
    d = make_dovecot("master", args=scheme_args)
    bare = doveadm_pw("top-secret").split("}", 1)[1]
    d.write_store("admin|%s\nplain|top-secret\n" % bare)
    d.start()
    assert d.imap_login(TARGET + "*admin", "top-secret")[0] == "OK"
    assert_auth_failure(d.imap_login(TARGET + "*plain", "top-secret"))
    assert d.wait_log(0, "password hash is not of its scheme's form"), \
        d.log()
    assert "Fatal" not in d.log(), d.log()


def test_yescrypt_crypt_prefix(make_dovecot):
    """{CRYPT}$y$: yescrypt through libxcrypt, as the setup CLI writes it."""
    helper = os.path.join(os.environ["DMS_TOP"], "tests/integration/yescrypt.py")
    h = subprocess.run(["/usr/bin/python3", helper, "p-y"], capture_output=True,
                       text=True, timeout=TIMEOUT).stdout.strip()
    assert h.startswith("$y$"), h
    # Dovecot itself agrees it verifies
    out = subprocess.run(["doveadm", "pw", "-t", "{CRYPT}" + h, "-p", "p-y"],
                         capture_output=True, text=True, timeout=TIMEOUT)
    assert "(verified)" in out.stdout + out.stderr
    d = make_dovecot("master")
    d.write_store("yes|{CRYPT}%s\n" % h)
    d.start()
    assert d.imap_login(TARGET + "*yes", "p-y")[0] == "OK"
    assert_auth_failure(d.imap_login(TARGET + "*yes", "p-Y"))


@pytest.mark.parametrize("mode", MODES)
def test_username_format(make_dovecot, mode):
    """username_format=%n: "admin@corp" is looked up as "admin"."""
    d = make_dovecot(mode, args="username_format=%n")
    d.start()
    assert d.imap_login(TARGET + "*admin@corp", "top-secret")[0] == "OK"
    assert_auth_failure(d.imap_login(TARGET + "*admin@corp", "wrong"))


def test_separator_arg(make_dovecot):
    """separator=! in the self-splitting way."""
    auth = AUTH_SELFSPLIT.replace("@*\n", "@!\n")
    d = make_dovecot("selfsplit", args="separator=!", auth=auth)
    d.start()
    assert d.imap_login(TARGET + "!admin", "top-secret")[0] == "OK"
    assert_auth_failure(d.imap_login(TARGET + "!admin", "wrong"))
    # '*' is now an ordinary character: no master login through it
    assert_auth_failure(d.imap_login(TARGET + "*admin", "top-secret"))
    assert d.imap_login(TARGET, "secret")[0] == "OK"


@pytest.mark.parametrize("mode", MODES)
def test_store_missing_at_start(make_dovecot, mode):
    d = make_dovecot(mode)
    os.unlink(d.store)
    d.start()
    status, text = d.imap_login(TARGET + "*admin", "top-secret")
    assert status == "NO" and "UNAVAILABLE" in text, text
    assert d.wait_log(0, "master logins fail until the store can be read")
    assert d.imap_login(TARGET, "secret")[0] == "OK"
    d.write_masters(MASTERS)
    assert d.imap_login(TARGET + "*admin", "top-secret")[0] == "OK"
    assert d.wait_log(0, "(store readable again)"), d.log()


def _fatal(make_dovecot, mode, expected, **kwargs):
    d = make_dovecot(mode, **kwargs)
    d.start()
    assert d.wait_auth_fatal(), d.log()
    assert d.wait_log(0, expected), d.log()


# 2.3: passdb args; 2.4: the same mistakes as settings, which the harness
# writes from these args (dovecot_env.args24)
BAD_ARGS = pick([
    ("foo=bar", "Unknown parameter: foo"),
    ("scheme=PLAIN", "Unknown scheme=PLAIN"),
    ("separator=ab", "Invalid separator=ab"),
    ("blocking=maybe", "Invalid blocking=maybe"),
], [
    # Dovecot's own setting, which the config process cannot see from
    # the settings module: the module refuses it (PLAIN counts as unset
    # on 2.4, see test_plain_default_scheme_counts_as_unset)
    ("scheme=SSHA", "default_password_scheme SSHA: the module verifies"),
])


@pytest.mark.parametrize("args,expected", BAD_ARGS)
def test_bad_args_stop_startup(make_dovecot, args, expected):
    _fatal(make_dovecot, "master", expected, args=args)


@pytest.mark.skipif(not DOVECOT24, reason="2.4 settings")
@pytest.mark.parametrize("args,expected", [
    ("foo=bar", "Unknown setting: foo"),
    ("blocking=maybe", "use_worker: Invalid boolean value: maybe"),
    # the settings module's check, run by the config process
    ("separator=ab", "dms_master_separator ab: one printable character"),
    ("separator=@", "dms_master_separator @: one printable character"),
    ("username_format=%Ln", "dms_master_username_format %Ln: 2.3's "
     "%-variables are not expanded"),
    ("username_format=%{user}@%Ld", "dms_master_username_format "
     "%{user}@%Ld: 2.3's %-variables"),
    ("audit_file=relative.json", "dms_master_audit_file relative.json: "
     "not an absolute path"),
    # a second dms_master_path, after the harness's absolute one
    ("dms_master_path=masters.cf", "dms_master_path masters.cf: not an "
     "absolute path"),
    ("default_services=imap,bogus!", "dms_master_default_services imap "
     "bogus!: "),
])
def test_bad_settings_refused_by_doveconf(make_dovecot, args, expected):
    """2.4: Dovecot's parser, or the settings module's check that the
    config process runs, refuses these, and Dovecot does not start."""
    d = make_dovecot("master", args=args)
    out = subprocess.run(["doveconf", "-c", d.conf, "-n"],
                         capture_output=True, text=True, timeout=TIMEOUT)
    assert out.returncode != 0 and expected in out.stderr, out.stderr
    start = subprocess.run(["dovecot", "-c", d.conf], capture_output=True,
                           text=True, timeout=TIMEOUT)
    assert start.returncode != 0 and expected in start.stderr, start.stderr


def test_missing_path_stops_startup(make_dovecot):
    d = make_dovecot("master")
    missing = pick("args =  " + d.store, "dms_master_path = " + d.store)
    conf = open(d.conf).read()
    assert missing in conf
    open(d.conf, "w").write(conf.replace(missing, pick("args = ", "")))
    d.start()
    d.doveadm_auth_test(TARGET + "*admin", "top-secret")
    assert d.wait_log(0, pick("Missing the store's absolute path",
                              "dms_master_path is not set")), d.log()


def test_selfsplit_needs_username_chars(make_dovecot):
    auth = AUTH_SELFSPLIT.replace("auth_username_chars", "#auth_username_chars")
    _fatal(make_dovecot, "selfsplit",
           "auth_username_chars does not allow the separator '*': set "
           "auth_username_chars = ", auth=auth)


def test_selfsplit_refuses_core_separator(make_dovecot):
    auth = "auth_master_user_separator = *\n" + AUTH_SELFSPLIT
    _fatal(make_dovecot, "selfsplit",
           "auth_master_user_separator is also '*'", auth=auth)
