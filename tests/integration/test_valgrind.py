"""The auth process, with the module loaded, under valgrind: logins of
every kind, a store reload, then a clean shutdown. Zero memory errors, and
no leak whose stack passes through the module."""

import glob
import os
import re
import shutil

import pytest

from dovecot_env import MASTERS, doveadm_pw
from test_logins import TARGET, assert_auth_failure
from test_policy import policy_extra

VALGRIND = shutil.which("valgrind")


@pytest.mark.skipif(VALGRIND is None, reason="valgrind not installed")
@pytest.mark.parametrize("mode", ["master", "selfsplit"])
def test_auth_process_under_valgrind(make_dovecot, mode):
    # the read-only snippet: a read-only session without it is refused
    d = make_dovecot(mode, args="audit_file=@AUDIT_FILE@",
                     extra=policy_extra())
    logdir = os.path.join(d.tmp, "valgrind")
    os.makedirs(logdir)
    os.chmod(logdir, 0o777)  # the auth process runs as dovecot
    with open(d.conf, "a") as f:
        f.write("""
service auth {
  executable = %s --log-file=%s/auth-%%p.log --leak-check=full --show-leak-kinds=definite,indirect --num-callers=30 /usr/lib/dovecot/auth
}
""" % (VALGRIND, logdir))
    d.start()
    # valgrind makes the first login slow
    for _ in range(3):
        status, _ = d.imap_login(TARGET + "*admin", "top-secret")
        if status == "OK":
            break
    assert status == "OK"
    assert_auth_failure(d.imap_login(TARGET + "*admin", "wrong"))
    assert_auth_failure(d.imap_login(TARGET + "*nobody", "x"))
    assert_auth_failure(d.imap_login("*admin", "x"))
    assert d.imap_login(TARGET, "secret")[0] == "OK"
    d.imap_cram_md5(TARGET + "*admin", "top-secret")
    d.write_masters({"admin": "rotated", "extra": "x"})
    assert d.imap_login(TARGET + "*admin", "rotated")[0] == "OK"
    d.write_masters(MASTERS)
    assert d.imap_login(TARGET + "*admin", "top-secret")[0] == "OK"
    # the policy: a refusal with its reason, read-only fields, a bad line
    hashed = doveadm_pw("top-secret")
    d.write_store("scoped|%s|dms_allow=*@example.org dms_read_only=yes\n"
                  "typo|%s|dms_alow=x\n" % (hashed, hashed))
    assert d.imap_login(TARGET + "*scoped", "top-secret")[0] == "NO"
    assert d.imap_login("other@example.org*scoped", "top-secret")[0] == "OK"
    assert_auth_failure(d.imap_login(TARGET + "*typo", "top-secret"))
    d.stop()
    assert '"master":"scoped"' in open(d.audit).read()

    logs = glob.glob(os.path.join(logdir, "auth-*.log"))
    assert logs, "valgrind wrote no log"
    for path in logs:
        text = open(path).read()
        m = re.search(r"ERROR SUMMARY: (\d+) errors", text)
        assert m, text[-3000:]
        # leak records whose stack passes through the module's code
        records = re.split(r"\n==\d+== \n", text)
        ours = [r for r in records if "are definitely lost" in r and
                re.search(r"dms_|auth_master_dms|(passdb|userdb|auth)-dms-master",
                          r)]
        assert ours == [], "\n".join(ours)
        assert m.group(1) == "0", text[-5000:]
