"""Churn under load, and secrets kept out of the log."""

import os
import subprocess
import threading

from dovecot_env import TIMEOUT, doveadm_pw
from test_logins import TARGET

TOP = os.environ.get("DMS_TOP", ".")
SETUP = os.environ.get("DMS_SETUP") or os.path.join(TOP, "src/setup")


def test_churn_under_load(make_dovecot):
    """While clients log in continuously as a stable master and as an
    ordinary user, the CLI adds, updates and deletes masters (1,000
    changes). After every change the changed master is checked: no login
    accepted with an old or deleted password, none refused that should
    pass, and in the end no account lost from the store."""
    d = make_dovecot("master")
    d.start()
    env = dict(os.environ, DMS_MASTERS_FILE=d.store)
    stop = threading.Event()
    background = []

    def load(login, password):
        while not stop.is_set():
            background.append((login, d.imap_login(login, password)[0]))

    threads = [threading.Thread(target=load, args=a) for a in
               [(TARGET + "*admin", "top-secret"), (TARGET, "secret")]]
    for t in threads:
        t.start()

    def setup(*args):
        p = subprocess.run([SETUP, "--scheme", "SHA256-CRYPT", *args],
                           env=env, capture_output=True, text=True,
                           timeout=TIMEOUT)
        assert p.returncode == 0, p.stderr

    wrong = []

    def expect(login, password, ok):
        status = d.imap_login(TARGET + "*" + login, password)[0]
        if (status == "OK") != ok:
            wrong.append((login, password, ok, status))

    alive = {}
    changes = 0
    i = 0
    try:
        while changes < 1000:
            name = "churn%d" % i
            setup("dovecot-master", "add", name, "p%d" % i)
            changes += 1
            expect(name, "p%d" % i, True)
            if i % 3 == 1:
                setup("dovecot-master", "update", name, "q%d" % i)
                changes += 1
                expect(name, "p%d" % i, False)
                expect(name, "q%d" % i, True)
                alive[name] = "q%d" % i
            elif i % 3 == 2:
                setup("dovecot-master", "del", name)
                changes += 1
                expect(name, "p%d" % i, False)
            else:
                alive[name] = "p%d" % i
            i += 1
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=TIMEOUT * 2)

    assert wrong == []
    assert len(background) > 50
    assert [b for b in background if b[1] != "OK"] == []
    # no account lost: the store holds exactly the living masters
    names = {l.split("|")[0] for l in open(d.store).read().splitlines() if l}
    assert names == set(alive) | {"admin", "backup"}
    assert "Panic" not in d.log() and "Fatal" not in d.log()


def test_no_secrets_in_log_at_verbose_debug(make_dovecot):
    """auth_verbose, auth_debug, auth_verbose_passwords=no: neither the
    passwords nor the stored hashes reach the log."""
    d = make_dovecot("selfsplit", extra="auth_debug = yes\n"
                     "auth_verbose_passwords = no\n"
                     "auth_debug_passwords = no\n")
    secret = "Zq9-master-secret"
    h = doveadm_pw(secret)
    d.write_store("admin|%s\nbadscheme|{PLAIN}plain-stored-secret\n" % h)
    d.start()
    assert d.imap_login(TARGET + "*admin", secret)[0] == "OK"
    d.imap_login(TARGET + "*admin", "Wrong-guess-77")
    d.imap_login(TARGET + "*nobody", "Other-guess-88")
    d.imap_login(TARGET + "*badscheme", "plain-stored-secret")
    d.doveadm_auth_test(TARGET + "*admin", secret)
    log = d.log_settled()
    assert "auth: Debug:" in log  # debug logging was on
    for s in (secret, "Wrong-guess-77", "Other-guess-88",
              "plain-stored-secret", h.split("$")[-1], h.split("$")[2]):
        assert s not in log, s
