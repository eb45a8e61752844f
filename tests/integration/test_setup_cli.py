"""The setup CLI: the page's example through the installed CLI, every
error path, hashing checked by Dovecot, locking, crash safety, prompts."""

import os
import random
import re
import signal
import subprocess
import tempfile
import time

import pytest

from dovecot_env import TIMEOUT, run_on_terminal
from test_logins import TARGET, assert_auth_failure

TOP = os.environ.get("DMS_TOP", ".")
# DMS_SETUP: the sanitizer build (tests/sanitizers.sh) runs these tests too
SETUP = os.environ.get("DMS_SETUP") or os.path.join(TOP, "src/setup")


@pytest.fixture
def files():
    d = tempfile.mkdtemp(prefix="dms-cli-")
    env = dict(os.environ, DMS_MASTERS_FILE=os.path.join(d, "masters.cf"),
               DMS_USERS_FILE=os.path.join(d, "users"))
    env.pop("DMS_SCHEME", None)
    yield d, env
    subprocess.run(["rm", "-rf", d], check=True)


def run(env, *args, stdin=None):
    p = subprocess.run([SETUP, *args], env=env, input=stdin,
                       capture_output=True, text=True, timeout=TIMEOUT)
    return p.returncode, p.stdout, p.stderr


def store_lines(path):
    with open(path) as f:
        return [l for l in f.read().splitlines() if l]


def test_page_example_verbatim_through_installed_cli():
    """The README's run command: installs into a staging directory, starts
    Dovecot with the shipped conf.d snippets and runs the page's three
    commands verbatim with the installed setup, then an IMAP login."""
    p = subprocess.run(["sh", os.path.join(TOP, "scripts/demo.sh"), "--check",
                        "--imap-port", "30143", "--pop3-port", "30110"],
                       capture_output=True, text=True, timeout=300)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    assert "+ setup email add user@example.com secret" in out
    assert "+ setup dovecot-master add admin top-secret" in out
    assert '0: OK "Success."' in out
    assert 'read the target\'s INBOX: "Subject: Welcome to user@example.com"' in out
    assert ("read-only master user@example.com*auditor read the INBOX, "
            "APPEND refused") in out
    assert "read-only master over POP3: refused (IMAP only)" in out
    assert re.search(r"dms_master_logins_refused_services +1\n", out), out
    assert "All checks passed." in out


def test_add_list_update_del(files):
    d, env = files
    masters = env["DMS_MASTERS_FILE"]
    assert run(env, "dovecot-master", "add", "admin", "top-secret")[0] == 0
    assert run(env, "dovecot-master", "add", "backup", "pw2")[0] == 0
    assert run(env, "dovecot-master", "list") == (0, "* admin\n* backup\n", "")
    st = os.stat(masters)
    assert st.st_mode & 0o7777 == 0o640
    import grp
    assert grp.getgrgid(st.st_gid).gr_name == "dovecot"
    assert store_lines(masters)[0].startswith("admin|{SHA512-CRYPT}$6$")
    old = store_lines(masters)[0]
    assert run(env, "dovecot-master", "update", "admin", "new")[0] == 0
    assert store_lines(masters)[0] != old
    assert run(env, "dovecot-master", "del", "admin", "backup")[0] == 0
    assert store_lines(masters) == []
    rc, out, err = run(env, "dovecot-master", "list")
    assert rc == 0 and out == "" and "no master accounts" in err
    # e-mail accounts: a passwd-file that Dovecot's passwd-file reads
    assert run(env, "email", "add", "user@example.com", "secret")[0] == 0
    assert store_lines(env["DMS_USERS_FILE"])[0].startswith(
        "user@example.com:{SHA512-CRYPT}$6$")
    assert run(env, "email", "list") == (0, "* user@example.com\n", "")


@pytest.mark.parametrize("args,status,message", [
    (["dovecot-master", "add", "admin", "x"], 1, "master account 'admin' already exists in"),
    (["dovecot-master", "update", "nobody", "x"], 1, "master account 'nobody' does not exist in"),
    (["dovecot-master", "del", "nobody"], 1, "master account 'nobody' does not exist in"),
    (["dovecot-master", "del", "nobody", "admin"], 1, "'nobody' does not exist"),
    (["dovecot-master", "add", "a*b", "x"], 1, "separator"),
    (["dovecot-master", "add", "a:b", "x"], 1, "':' or '|'"),
    (["dovecot-master", "add", "a|b", "x"], 1, "':' or '|'"),
    (["dovecot-master", "add", "a b", "x"], 1, "white space or a control character"),
    (["dovecot-master", "add", "a\x01b", "x"], 1, "white space or a control character"),
    (["dovecot-master", "add", "#a", "x"], 1, "starts with '#'"),
    (["dovecot-master", "add", "", "x"], 1, "empty"),
    (["dovecot-master", "add", "a" * 256, "x"], 1, "longer than 255"),
    (["dovecot-master", "add", "new", ""], 1, "the password is empty"),
    (["dovecot-master", "add", "new", "a\tb"], 1, "TAB, CR, LF or 0x01"),
    # README.Debian once said so: a writable master with that password
    (["dovecot-master", "add", "auditor", "dms_read_only=yes"], 2,
     "'dms_read_only=yes' is a policy option, not a password"),
    (["dovecot-master", "update", "admin", "dms_allow=*@example.com"], 2,
     "is a policy option, not a password"),
    (["email", "add", "user@example.com", "dms_disabled=yes"], 2,
     "is a policy option, not a password"),
    (["email", "add", "nodomain", "x"], 1, "not an e-mail address"),
    (["email", "add", "a@b@c", "x"], 1, "not an e-mail address"),
    (["email", "add", "user@example.com*admin", "x"], 1, "separator"),
    (["dovecot-master", "add"], 2, "Usage:"),
    (["dovecot-master", "add", "a", "b", "c"], 2, "Usage:"),
    (["dovecot-master", "frobnicate"], 2, "unknown dovecot-master command"),
    (["frobnicate"], 2, "unknown command 'frobnicate'"),
    (["--scheme", "PLAIN", "dovecot-master", "add", "new", "x"], 2, "unknown scheme 'PLAIN'"),
    (["--bogus"], 2, "Usage:"),
    ([], 2, "Usage:"),
])
def test_errors(files, args, status, message):
    d, env = files
    assert run(env, "dovecot-master", "add", "admin", "top-secret")[0] == 0
    before = open(env["DMS_MASTERS_FILE"]).read()
    rc, out, err = run(env, *args)
    assert rc == status, (rc, out, err)
    assert message in err, err
    if "del" not in args:
        # a refused command changes nothing
        assert open(env["DMS_MASTERS_FILE"]).read() == before


def test_del_goes_on_after_a_missing_name(files):
    d, env = files
    run(env, "dovecot-master", "add", "admin", "x")
    rc, out, err = run(env, "dovecot-master", "del", "nobody", "admin")
    assert rc == 1 and "'nobody' does not exist" in err
    assert store_lines(env["DMS_MASTERS_FILE"]) == []


def test_upper_case_lowered_with_warning(files):
    d, env = files
    rc, out, err = run(env, "dovecot-master", "add", "Admin", "x")
    assert rc == 0 and "Warning: 'Admin' lower-cased to 'admin'" in err
    assert run(env, "dovecot-master", "list")[1] == "* admin\n"


@pytest.mark.parametrize("args", [["help"], ["--help"], ["help", "email"],
                                  ["help", "dovecot-master"],
                                  ["dovecot-master", "help"], ["email", "help"],
                                  ["--version"]])
def test_help(files, args):
    rc, out, err = run(files[1], *args)
    assert rc == 0 and ("Usage:" in out or "setup " in out), out


@pytest.mark.parametrize("scheme,prefix", [
    ("SHA512-CRYPT", "{SHA512-CRYPT}$6$"), ("SHA256-CRYPT", "{SHA256-CRYPT}$5$"),
    ("BLF-CRYPT", "{BLF-CRYPT}$2y$"), ("YESCRYPT", "{CRYPT}$y$")])
def test_hashes_verify_with_doveadm(files, scheme, prefix):
    d, env = files
    assert run(env, "--scheme", scheme, "dovecot-master", "add", "m",
               "p\u00e4ss w:rd|!")[0] == 0
    value = store_lines(env["DMS_MASTERS_FILE"])[0].split("|", 1)[1]
    assert value.startswith(prefix), value
    ok = subprocess.run(["doveadm", "pw", "-t", value, "-p", "p\u00e4ss w:rd|!"],
                        capture_output=True, text=True, timeout=TIMEOUT)
    assert "(verified)" in ok.stdout + ok.stderr
    bad = subprocess.run(["doveadm", "pw", "-t", value, "-p", "wrong"],
                         capture_output=True, text=True, timeout=TIMEOUT)
    assert bad.returncode != 0


def test_scheme_from_environment(files):
    d, env = files
    env["DMS_SCHEME"] = "SHA256-CRYPT"
    assert run(env, "dovecot-master", "add", "m", "x")[0] == 0
    assert "|{SHA256-CRYPT}$5$" in open(env["DMS_MASTERS_FILE"]).read()


def test_options_override_environment(files):
    d, env = files
    other = os.path.join(d, "other.cf")
    assert run(env, "--masters-file", other, "dovecot-master", "add", "m", "x")[0] == 0
    assert store_lines(other)[0].startswith("m|")
    assert not os.path.exists(env["DMS_MASTERS_FILE"])


def test_password_stdin(files):
    d, env = files
    assert run(env, "--password-stdin", "dovecot-master", "add", "m",
               stdin="from-stdin\n")[0] == 0
    value = store_lines(env["DMS_MASTERS_FILE"])[0].split("|", 1)[1]
    ok = subprocess.run(["doveadm", "pw", "-t", value, "-p", "from-stdin"],
                        capture_output=True, text=True, timeout=TIMEOUT)
    assert "(verified)" in ok.stdout
    rc, _, err = run(env, "--password-stdin", "dovecot-master", "add", "n", stdin="")
    assert rc == 1 and "no password on standard input" in err
    rc, _, err = run(env, "--password-stdin", "dovecot-master", "add", "n", stdin="\n")
    assert rc == 1 and "empty" in err
    rc, _, err = run(env, "dovecot-master", "add", "n", stdin="x\n")
    assert rc == 1 and "not a terminal" in err


def _pty_run(env, args, answers):
    """Run setup on a pseudo-terminal, answering its prompts in turn.
    Returns (exit status, everything it printed)."""
    return run_on_terminal([SETUP, *args], env, answers, timeout=TIMEOUT)


def test_prompt_twice_without_echo(files):
    d, env = files
    rc, out = _pty_run(env, ["dovecot-master", "add", "m"],
                       ["typed-secret", "typed-secret"])
    assert rc == 0, out
    assert "Enter Password:" in out and "Confirm Password:" in out
    assert "typed-secret" not in out  # never echoed
    value = store_lines(env["DMS_MASTERS_FILE"])[0].split("|", 1)[1]
    ok = subprocess.run(["doveadm", "pw", "-t", value, "-p", "typed-secret"],
                        capture_output=True, text=True, timeout=TIMEOUT)
    assert "(verified)" in ok.stdout


@pytest.mark.parametrize("answers,message", [
    (["one", "two"], "the passwords do not match"),
    ([""], "the password is empty"),
])
def test_prompt_refusals(files, answers, message):
    d, env = files
    rc, out = _pty_run(env, ["dovecot-master", "add", "m"], answers)
    assert rc == 1 and message in out, out
    assert not os.path.exists(env["DMS_MASTERS_FILE"])


def test_fifty_concurrent_adds(files):
    d, env = files
    procs = [subprocess.Popen([SETUP, "dovecot-master", "add", "m%d" % i, "pw%d" % i],
                              env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE) for i in range(50)]
    for p in procs:
        assert p.wait(timeout=60) == 0, p.stderr.read()
    names = sorted(l.split("|")[0] for l in store_lines(env["DMS_MASTERS_FILE"]))
    assert names == sorted("m%d" % i for i in range(50))


def test_killed_mid_write_never_truncates(files):
    """SIGKILL at random moments while updates run: the store is always
    the old or the new file, whole."""
    d, env = files
    for i in range(20):
        assert run(env, "dovecot-master", "add", "m%d" % i, "x")[0] == 0
    rng = random.Random(1234)
    killed = 0
    for round_ in range(40):
        p = subprocess.Popen([SETUP, "--scheme", "BLF-CRYPT", "dovecot-master",
                              "update", "m%d" % (round_ % 20), "y%d" % round_],
                             env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0, 0.01))
        p.send_signal(signal.SIGKILL)
        if p.wait(timeout=TIMEOUT) == -signal.SIGKILL:
            killed += 1
        lines = store_lines(env["DMS_MASTERS_FILE"])
        assert sorted(l.split("|")[0] for l in lines) == \
            sorted("m%d" % i for i in range(20)), lines
        assert all(l.count("|") == 1 and l.split("|")[1].startswith("{")
                   for l in lines), lines
    assert killed > 0  # the test did kill writers
    # and the next writer is not blocked by a dead one's lock
    assert run(env, "dovecot-master", "update", "m0", "final")[0] == 0


def test_running_dovecot_sees_cli_changes(make_dovecot):
    d = make_dovecot("master")
    d.start()
    env = dict(os.environ, DMS_MASTERS_FILE=d.store)
    assert run(env, "dovecot-master", "add", "support", "s-pass")[0] == 0
    assert d.imap_login(TARGET + "*support", "s-pass")[0] == "OK"
    assert run(env, "dovecot-master", "update", "support", "s-new")[0] == 0
    assert_auth_failure(d.imap_login(TARGET + "*support", "s-pass"))
    assert d.imap_login(TARGET + "*support", "s-new")[0] == "OK"
    assert run(env, "dovecot-master", "del", "support")[0] == 0
    assert_auth_failure(d.imap_login(TARGET + "*support", "s-new"))
    # the masters written before by the tests' own helper are still there
    assert d.imap_login(TARGET + "*admin", "top-secret")[0] == "OK"


@pytest.mark.parametrize("scheme,prefix", [
    ("yescrypt", "{CRYPT}$y$"), ("BLF-CRYPT", "{BLF-CRYPT}$2y$"),
    ("SHA256-CRYPT", "{SHA256-CRYPT}$5$"), ("SHA512-CRYPT", "{SHA512-CRYPT}$6$"),
])
def test_global_options_after_the_command(files, scheme, prefix):
    d, env = files
    env = dict(env)
    env.pop("DMS_MASTERS_FILE")
    env.pop("DMS_USERS_FILE")
    masters = os.path.join(d, "elsewhere.cf")
    users = os.path.join(d, "users-elsewhere")
    rc, _, err = run(env, "dovecot-master", "add", "--scheme", scheme,
                     "admin", "pw", "--masters-file", masters)
    assert rc == 0, err
    assert store_lines(masters)[0].startswith("admin|" + prefix)
    rc, out, err = run(env, "dovecot-master", "list",
                       "--masters-file=" + masters)
    assert (rc, out) == (0, "* admin\n"), err
    rc, _, err = run(env, "email", "add", "user@example.com", "pw",
                     "--users-file", users, "--scheme=" + scheme)
    assert rc == 0, err
    assert store_lines(users)[0].startswith("user@example.com:" + prefix)
    # after "--" it is a password, not an option
    rc, _, err = run(env, "dovecot-master", "update", "admin",
                     "--masters-file", masters, "--", "--scheme")
    assert rc == 0, err
    rc, _, err = run(env, "dovecot-master", "add", "x", "pw", "--scheme")
    assert rc == 2 and "--scheme needs a value" in err, err
