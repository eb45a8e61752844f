"""Release hygiene: the version is set in configure.ac only, and shows
in the CLI's --version, in the module's start-up log line (with the
Dovecot ABI it was built for), in debian/changelog and in NEWS."""

import os
import re
import subprocess

from dovecot_env import TIMEOUT, TOP

SETUP = os.path.join(TOP, "src", "setup")


def configure_version():
    text = open(os.path.join(TOP, "configure.ac")).read()
    m = re.search(r"^AC_INIT\(\[auth-master-dms\], \[([^]]+)\]", text, re.M)
    assert m, "no AC_INIT version in configure.ac"
    return m.group(1)


def test_cli_version():
    out = subprocess.run([SETUP, "--version"], capture_output=True,
                         text=True, timeout=TIMEOUT, check=True)
    assert out.stdout.split() == ["setup", configure_version()]


def test_debian_changelog_and_news_name_the_version():
    version = configure_version()
    first = open(os.path.join(TOP, "debian", "changelog")).readline()
    # a native package: the Debian version is the upstream one
    assert first.startswith("auth-master-dms (%s) " % version), first
    news = open(os.path.join(TOP, "NEWS")).read()
    assert re.search(r"^%s \(\d{4}-\d\d-\d\d\)$" % re.escape(version),
                     news, re.M), "NEWS has no entry for " + version


def test_module_logs_its_version_at_start_up(make_dovecot):
    d = make_dovecot("master")
    d.start()
    # the auth process starts with the first client
    assert d.imap_login("user@example.com*admin", "top-secret")[0] == "OK"
    assert d.wait_log(0, "passdb dms_master: auth-master-dms "), d.log()
    m = re.search(r"auth: Info: passdb dms_master: auth-master-dms (\S+) "
                  r"\(Dovecot ABI (\S+)\), masters from (\S+)", d.log())
    assert m, d.log()
    assert m.group(1) == configure_version()
    assert m.group(2).startswith(subprocess.run(
        ["dovecot", "--version"], capture_output=True, text=True,
        timeout=TIMEOUT).stdout[:3])
    assert m.group(3) == d.store
    # once, from the auth process: not again from each auth-worker
    assert d.log().count("passdb dms_master: auth-master-dms ") == 1
