"""Faults against a real Dovecot: what is done to the store, reloads and
killed auth-workers. Expected every time: clear log lines, no crash, no
stale credentials, every other login still answered correctly."""

import imaplib
import os
import random
import re
import shutil
import signal
import subprocess
import threading
import time

import pytest

from dovecot_env import DOVECOT_GID, MASTERS, TIMEOUT, doveadm_pw
from test_logins import TARGET, assert_auth_failure


@pytest.fixture(scope="module")
def server():
    from dovecot_env import Dovecot
    d = Dovecot("master")
    d.start()
    yield d
    d.cleanup()


def assert_healthy(d):
    """The auth process is alive and answers master and ordinary logins."""
    d.write_masters(MASTERS)
    assert d.imap_login(TARGET + "*admin", "top-secret")[0] == "OK"
    assert d.imap_login(TARGET, "secret")[0] == "OK"
    log = d.log()
    assert "Panic" not in log and "auth: Fatal" not in log, log[-3000:]
    assert "killed with signal" not in log, log[-3000:]


def assert_tempfail(d):
    status, text = d.imap_login(TARGET + "*admin", "top-secret")
    assert status == "NO" and "UNAVAILABLE" in text, text
    # ordinary logins are not touched
    assert d.imap_login(TARGET, "secret")[0] == "OK"


def swap_in(d, make):
    """Replace the store by what MAKE(path) creates, atomically."""
    tmp = d.store + ".fault"
    if os.path.lexists(tmp):
        if os.path.isdir(tmp) and not os.path.islink(tmp):
            shutil.rmtree(tmp)
        else:
            os.unlink(tmp)
    make(tmp)
    if os.path.isdir(d.store) and not os.path.islink(d.store):
        shutil.rmtree(d.store)
    elif os.path.isdir(tmp) and os.path.lexists(d.store):
        os.unlink(d.store)  # rename() cannot put a directory over a file
    os.rename(tmp, d.store)


def test_store_is_a_directory(server):
    mark = server.log_mark()
    swap_in(server, os.mkdir)
    assert_tempfail(server)
    assert server.wait_log(mark, "%s is not a regular file" % server.store)
    shutil.rmtree(server.store)
    assert_healthy(server)


def test_store_symlinks(server):
    real = os.path.join(server.tmp, "real-masters.cf")
    with open(real, "w") as f:
        f.write("admin|%s\n" % doveadm_pw("via-link"))
    os.chown(real, 0, DOVECOT_GID)
    os.chmod(real, 0o640)
    # a symlink to a good store is followed (ConfigMaps and the like)
    swap_in(server, lambda p: os.symlink(real, p))
    assert server.imap_login(TARGET + "*admin", "via-link")[0] == "OK"
    # dangling, and a loop: temporary failures with the reason logged
    mark = server.log_mark()
    swap_in(server, lambda p: os.symlink(real + ".missing", p))
    assert_tempfail(server)
    assert server.wait_log(mark, "No such file or directory")
    mark = server.log_mark()
    swap_in(server, lambda p: os.symlink(server.store, p))
    assert_tempfail(server)
    assert server.wait_log(mark, "Too many levels of symbolic links")
    os.unlink(server.store)
    assert_healthy(server)


def test_store_unreadable(server):
    """root:root 0600: the auth process (user dovecot) cannot read it."""
    server.write_masters(MASTERS)
    os.chown(server.store, 0, 0)
    os.chmod(server.store, 0o600)
    mark = server.log_mark()
    assert_tempfail(server)
    assert server.wait_log(mark, "open(%s) failed: Permission denied"
                           % server.store)
    assert_healthy(server)


def test_store_owned_by_another_user(server):
    mark = server.log_mark()
    server.write_masters(MASTERS)
    os.chown(server.store, 65534, DOVECOT_GID)  # readable, not trusted
    assert_tempfail(server)
    assert server.wait_log(mark, "untrusted path: %s is not owned by root "
                           "or the trusted user (uid 65534" % server.store)
    os.chown(server.store, 0, DOVECOT_GID)
    os.chmod(server.store, 0o646)
    mark = server.log_mark()
    assert_tempfail(server)
    assert server.wait_log(mark, "untrusted path: %s is writable by others "
                           "(uid 0, gid %d, mode 0646)"
                           % (server.store, DOVECOT_GID))
    assert_healthy(server)


def test_store_readable_by_everyone_warns(server):
    server.write_masters(MASTERS)
    os.chmod(server.store, 0o644)
    mark = server.log_mark()
    assert server.imap_login(TARGET + "*admin", "top-secret")[0] == "OK"
    assert server.wait_log(mark, "readable by everyone (mode 0644)")
    assert_healthy(server)


def _with_good_line(garbage):
    good = ("admin|%s\n" % doveadm_pw("still-works")).encode()
    def make(path):
        with open(path, "wb") as f:
            f.write(garbage)
            f.write(b"\n" + good)
        os.chown(path, 0, DOVECOT_GID)
        os.chmod(path, 0o640)
    return make


@pytest.mark.parametrize("what,garbage,expect_log", ids=["binary", "1MB-line", "1MB-password"], argvalues=[
    ("binary garbage and NUL bytes",
     random.Random(1).randbytes(1 << 20).replace(b"\n", b"\x00"),
     "NUL byte in line"),
    ("a 1 MB line", b"x" * (1 << 20) + b"|{SHA512-CRYPT}$6$x",
     "name longer than 255 bytes"),
    ("a 1 MB password field", b"longpw|" + b"p" * (1 << 20),
     "password field longer than 1024 bytes"),
])
def test_garbage_is_skipped(server, what, garbage, expect_log):
    mark = server.log_mark()
    swap_in(server, _with_good_line(garbage))
    # the good line after the garbage still works, the old password not
    assert server.imap_login(TARGET + "*admin", "still-works")[0] == "OK", what
    assert_auth_failure(server.imap_login(TARGET + "*admin", "top-secret"))
    assert server.wait_log(mark, expect_log), what
    assert_healthy(server)


def test_100_mb_file(server):
    def make(path):
        block = random.Random(2).randbytes(1 << 20)
        with open(path, "wb") as f:
            for _ in range(100):
                f.write(block)
            f.write(b"\nadmin|" + doveadm_pw("big").encode() + b"\n")
        os.chown(path, 0, DOVECOT_GID)
        os.chmod(path, 0o640)
    mark = server.log_mark()
    swap_in(server, make)
    assert server.imap_login(TARGET + "*admin", "big")[0] == "OK"
    assert server.wait_log(mark, "more malformed lines skipped")
    assert_healthy(server)


def test_million_masters(server):
    h = doveadm_pw("m-pass")
    def make(path):
        with open(path, "w") as f:
            for i in range(1000000):
                f.write("m%d|%s\n" % (i, h))
        os.chown(path, 0, DOVECOT_GID)
        os.chmod(path, 0o640)
    mark = server.log_mark()
    swap_in(server, make)
    assert server.imap_login(TARGET + "*m999999", "m-pass")[0] == "OK"
    assert server.imap_login(TARGET + "*m0", "m-pass")[0] == "OK"
    assert_auth_failure(server.imap_login(TARGET + "*m1000000", "m-pass"))
    assert server.wait_log(mark, "Loaded 1000000 master users")
    assert_healthy(server)


def _login_loop(d, stop, results, login, password, expect_ok):
    """Logins until STOP is set (bounded by the caller's timeout)."""
    while not stop.is_set():
        try:
            status, text = d.imap_login(login, password)
        except (OSError, imaplib.IMAP4.error) as e:
            # the connection dropped mid-restart, or a login process
            # that was shutting down greeted with "* BYE Shutting down"
            status, text = "ERR", str(e)
        results.append((expect_ok, status, str(text)))


def _run_under(d, fault, seconds=4.0):
    stop = threading.Event()
    results = []
    cases = [(TARGET + "*admin", "top-secret", True),
             (TARGET + "*admin", "wrong", False),
             (TARGET + "*nobody", "top-secret", False),
             (TARGET, "secret", True)]
    threads = [threading.Thread(target=_login_loop,
                                args=(d, stop, results, l, p, ok))
               for l, p, ok in cases]
    for t in threads:
        t.start()
    time.sleep(seconds / 2)
    fault()
    time.sleep(seconds / 2)
    stop.set()
    for t in threads:
        t.join(timeout=TIMEOUT * 2)
    return results


def _check_results(results):
    assert len(results) > 20, results
    # never a login accepted that should fail
    wrong = [r for r in results if not r[0] and r[1] == "OK"]
    assert wrong == []
    # a good login may fail only as a temporary failure while the auth
    # process restarts, never as a wrong password
    refused = [r for r in results if r[0] and r[1] != "OK"]
    assert all("AUTHENTICATIONFAILED" not in r[2] for r in refused), refused
    return refused


def test_doveadm_reload_during_logins(make_dovecot):
    d = make_dovecot("master", imap_port=1143, pop3_port=1110)
    d.start()
    # what doveadm reload does: SIGHUP to the master process
    results = _run_under(d, lambda: d.proc.send_signal(signal.SIGHUP))
    refused = _check_results(results)
    assert len(refused) <= 4, refused
    assert d.imap_login(TARGET + "*admin", "top-secret")[0] == "OK"
    assert "Panic" not in d.log()


def test_auth_worker_killed_during_logins(make_dovecot):
    d = make_dovecot("master", args="blocking=yes", imap_port=1143,
                     pop3_port=1110)
    d.start()
    def kill_workers():
        # the workers that answered so far, as the log names them
        pids = {int(p) for p in re.findall(r"auth-worker\((\d+)\)", d.log())}
        assert pids, "no auth-worker has logged yet"
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
    results = _run_under(d, kill_workers)
    _check_results(results)
    # the killed workers are replaced; logins go on
    assert d.imap_login(TARGET + "*admin", "top-secret")[0] == "OK"
    assert d.imap_login(TARGET + "*admin", "wrong")[0] == "NO"
    assert "Panic" not in d.log()
