"""The masters' second factor (issue 22, item 5), against a real Dovecot
with real IMAP and POP3 clients, in both ways of use: a master with
dms_totp=yes logs in with its password followed by a current RFC 6238
code; a right code is accepted once, a replayed one refused, also when
the auth-worker processes race with the same code; a wrong code, an
expired step, a wrong password and an unknown master all get the same
answer; one step of clock skew either way is accepted. The codes are
computed here with Python's hmac, independently of liboath."""

import base64
import concurrent.futures
import hashlib
import hmac
import os
import struct
import subprocess
import time

import pytest

from dovecot_env import DOVECOT_GID, TIMEOUT, Dovecot, doveadm_pw
from test_logins import TARGET, assert_auth_failure
from test_policy import POLICY_USERS, PW, SETUP, store_text

MASTERS = {"admin": "", "otp": "", "fresh": ""}


def totp(secret, step):
    """RFC 6238 with SHA-1, 6 digits (RFC 4226's dynamic truncation)."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 15
    code = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7fffffff
    return "%06d" % (code % 1000000)


def step_now(margin=8):
    """The current 30 s step, waiting (at most MARGIN s) for the next one
    when this one ends within MARGIN seconds, so that a test's codes stay
    within the window while it runs."""
    now = time.time()
    if 30 - now % 30 < margin:
        time.sleep(30 - now % 30 + 0.1)
    return int(time.time() // 30)


def make_server(mode, args="", ports=(16143, 16110)):
    s = Dovecot(mode, args="audit_file=@AUDIT_FILE@ "
                "totp_state=@TMP@/state/totp-state " + args,
                imap_port=ports[0], pop3_port=ports[1])
    state = os.path.join(s.tmp, "state")
    os.mkdir(state)
    os.chown(state, 0, DOVECOT_GID)
    os.chmod(state, 0o770)
    s.hashed = doveadm_pw(PW)
    s.write_users(POLICY_USERS)
    s.write_store(store_text(MASTERS, s.hashed))
    # the harness fills @TMP@ in its own configuration only
    with open(s.conf) as f:
        conf = f.read()
    with open(s.conf, "w") as f:
        f.write(conf.replace("@TMP@", s.tmp))
    return s


def enrol(server, name):
    p = subprocess.run([SETUP, "--masters-file", server.store,
                        "dovecot-master", "totp", name],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert p.returncode == 0, p.stderr
    uri = p.stdout.splitlines()[0]
    assert uri.startswith("otpauth://totp/auth-master-dms:%s?secret=" % name)
    assert "&digits=6&period=30" in uri
    # and a QR code, in block characters
    assert "\u2588" in p.stdout
    return uri.split("secret=")[1].split("&")[0]


@pytest.fixture(scope="module", params=["master", "selfsplit"])
def server(request):
    s = make_server(request.param)
    try:
        s.start()
        s.secret = enrol(s, "otp")
        yield s
    finally:
        s.cleanup()


def login(server, password, master="otp"):
    return server.imap_login(TARGET + "*" + master, password)


def test_enrolment_writes_secret_and_option(server):
    with open(server.store) as f:
        assert "otp|%s|dms_totp=yes\n" % server.hashed in f.read()
    st = os.stat(server.store + ".totp")
    assert (st.st_mode & 0o777, st.st_gid) == (0o640, DOVECOT_GID)
    # the password alone is no longer enough
    assert_auth_failure(login(server, PW))


def test_codes_skew_and_replay(server):
    step = step_now()
    secret = server.secret
    # one step of skew either way, each accepted once, in order
    assert login(server, PW + totp(secret, step - 1))[0] == "OK"
    assert login(server, PW + totp(secret, step))[0] == "OK"
    mark = server.log_mark()
    # a replay, and an older step after a newer one, are refused
    assert_auth_failure(login(server, PW + totp(secret, step)))
    assert server.wait_log(mark, "Master otp: TOTP code already used "
                           "(replay)")
    assert_auth_failure(login(server, PW + totp(secret, step - 1)))
    # the next step (a client clock ahead by one) is still fine
    assert server.pop3_login(TARGET + "*otp",
                             PW + totp(secret, step + 1))[0] == "OK"
    # an expired step and one too far ahead are not
    assert_auth_failure(login(server, PW + totp(secret, step - 3)))
    assert_auth_failure(login(server, PW + totp(secret, step + 3)))
    rules = [r["rule"] for r in server.audit_records()
             if r["master"] == "otp" and r["stage"] == "auth"]
    assert "totp_replay" in rules and "totp" in rules, rules


def test_failures_look_the_same(server):
    # a master of its own: the codes of the test above are spent
    secret = enrol(server, "fresh")
    step = step_now()
    good = totp(secret, step)
    wrong = "%06d" % ((int(good) + 1) % 1000000)
    answers = {
        "wrong code": login(server, PW + wrong, master="fresh"),
        "no code": login(server, PW, master="fresh"),
        "wrong password": login(server, "wrong" + good, master="fresh"),
        "unknown master": login(server, PW + good, master="nobody"),
    }
    texts = {k: v for k, v in answers.items()}
    assert all(v[0] == "NO" for v in texts.values()), texts
    assert len({v[1] for v in texts.values()}) == 1, texts
    # the right code after a wrong password was not spent
    assert login(server, PW + good, master="fresh")[0] == "OK"


def test_other_masters_unchanged(server):
    assert login(server, PW, master="admin")[0] == "OK"
    # a password that ends with digits is a password
    assert_auth_failure(login(server, PW + "123456", master="admin"))


def test_cram_md5_refused(server):
    status, _ = server.imap_cram_md5(TARGET + "*otp", PW)
    assert status == "NO"


def test_replay_refused_across_auth_workers(make_dovecot):
    """blocking=yes: the codes are checked in several auth-worker
    processes at once; the same code is accepted exactly once."""
    s = make_server("master", "blocking=yes", ports=(16243, 16210))
    make_dovecot.servers.append(s)
    s.start()
    secret = enrol(s, "otp")
    step = step_now(margin=12)
    code = PW + totp(secret, step)

    def attempt(_):
        try:
            return login(s, code)[0]
        except Exception as e:     # a refused login may close early
            return "NO " + str(e)

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(attempt, range(8)))
    assert results.count("OK") == 1, results
    workers = {line.split("auth-worker(")[1].split(")")[0]
               for line in s.log().splitlines() if "auth-worker(" in line}
    print("auth-worker processes: %d" % len(workers))


def test_secrets_and_state_fail_closed(make_dovecot):
    s = make_server("selfsplit", ports=(16343, 16310))
    make_dovecot.servers.append(s)
    s.start()
    # dms_totp=yes without a secret: refused, with the reason logged
    s.write_store(store_text(dict(MASTERS, otp="dms_totp=yes"), s.hashed))
    mark = s.log_mark()
    assert_auth_failure(login(s, PW + "000000"))
    assert s.wait_log(mark, "master otp has dms_totp=yes but no secret")
    secret = enrol(s, "otp")
    step = step_now()
    assert login(s, PW + totp(secret, step))[0] == "OK"
    # a secrets file others may write: no TOTP master logs in
    os.chmod(s.store + ".totp", 0o666)
    status, text = login(s, PW + totp(secret, step + 1))
    assert status == "NO" and "UNAVAILABLE" in text, text
    os.chmod(s.store + ".totp", 0o640)
    # a state file that cannot be written: the same
    state = os.path.join(s.tmp, "state")
    os.chmod(state, 0o700)
    os.chmod(os.path.join(state, "totp-state"), 0o600)
    status, text = login(s, PW + totp(secret, step + 1))
    assert status == "NO" and "UNAVAILABLE" in text, text
    assert s.wait_log(mark, "TOTP state: ")
    os.chmod(state, 0o770)
    os.chmod(os.path.join(state, "totp-state"), 0o660)
    # the code was not spent
    assert login(s, PW + totp(secret, step + 1))[0] == "OK"
