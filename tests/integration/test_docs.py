"""Every command the documentation quotes (README.md, docs/, the man page,
debian/README.Debian, contrib/*/README.md) is run by a test and does what
its text says (second security review, item 1: README.Debian's read-only
command made a writable master with a published password).

The commands are read out of the documents, not copied here: a command
that is added, changed or removed without its entry in COMMANDS fails
test_every_documented_command_is_covered. Each entry says how it is
covered:
  - run: run here, verbatim (`sh -c` on the text as written), in a
    private mount namespace where /etc/dovecot is a test directory, with
    the built CLI under both its names; prompts are answered on a
    terminal; the result is checked;
  - by: run by another part of the test command, named with the text
    there that runs it (checked to be there);
  - synopsis / mention: not a command to type as it is (a usage line, a
    name in a sentence), with the test that covers what it stands for."""

import glob
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from dovecot_env import TIMEOUT, TOP, Dovecot, run_on_terminal

SETUP = os.environ.get("DMS_SETUP") or os.path.join(TOP, "src", "setup")

WORDS = {"setup", "auth-master-dms-setup", "doveadm", "doveconf",
         "testsaslauthd", "sh", "apt-get", "adduser", "install", "systemctl",
         "ldapadd", "ldapsearch", "autoreconf", "echo", "make", "curl", "dpkg",
         "saslauthd", "git", "bash", "python3", "dovecot", "cp", "chmod",
         "chown", "mv", "openssl"}


# -- reading the documents ---------------------------------------------------

def _is_command(text):
    words = text.split()
    return bool(words) and words[0] in WORDS


def _strip_comment(cmd):
    """A shell comment after two or more blanks."""
    return re.split(r"\s{2,}#", cmd)[0].rstrip()


def _joined(lines):
    """Lines of a block with their backslash continuations joined."""
    out, cur = [], ""
    for line in lines:
        s = line.strip()
        cur = cur + " " + s if cur else s
        if cur.endswith("\\"):
            cur = cur[:-1].rstrip()
            continue
        out.append(cur)
        cur = ""
    if cur:
        out.append(cur)
    return out


def _spans(prose):
    """Inline code spans of a paragraph, a span broken across lines
    joined."""
    text = re.sub(r"\s*\n\s*", " ", "\n".join(prose))
    return [s for s in re.findall(r"`([^`]+)`", text) if " " in s]


def _markdown(text):
    cmds, block, prose, fenced = [], [], [], False
    for line in text.splitlines():
        if line.strip().startswith("```"):
            fenced = not fenced
            continue
        if fenced or (re.match(r"^(    |\t)", line) and line.strip() and
                      not line.lstrip().startswith(("- ", "* ", "| "))
                      and not prose):
            block.append(line)
            continue
        if block:
            cmds += _joined(block)
            block = []
        if line.strip():
            prose.append(line)
        else:
            cmds += _spans(prose)
            prose = []
    return cmds + _joined(block) + _spans(prose)


def _readme_debian(text):
    cmds, block = [], []
    for line in text.splitlines():
        if line.startswith("     ") and line.strip():
            block.append(line)
            continue
        if block:
            cmds += _joined(block)
            block = []
        cmds += [s for s in re.findall(r'"([^"]+)"', line) if " " in s]
    return cmds + _joined(block)


def _man(text):
    cmds, inside = [], False
    for line in text.splitlines():
        if line in (".nf", ".fi"):
            inside = line == ".nf"
        elif inside:
            cmds.append(line.replace("\\-", "-"))
    return cmds


def documented_commands():
    """{command: [documents]} of every command the documents quote."""
    found = {}
    sources = [(p, _markdown) for p in
               ["README.md"] + sorted(glob.glob(os.path.join(TOP, "docs",
                                                             "*.md"))) +
               sorted(glob.glob(os.path.join(TOP, "contrib", "*",
                                             "README.md")))]
    sources += [("debian/README.Debian", _readme_debian),
                ("docs/setup.8", _man)]
    for path, reader in sources:
        full = path if os.path.isabs(path) else os.path.join(TOP, path)
        with open(full) as f:
            for cmd in reader(f.read()):
                cmd = _strip_comment(cmd.strip())
                if _is_command(cmd):
                    found.setdefault(cmd, []).append(
                        os.path.relpath(full, TOP))
    return found


# -- how each is covered ------------------------------------------------------

def by(path, needle):
    return ("by", path, needle)


RUN = ("run",)
# the page's example, run verbatim by scripts/demo.sh (the README's run
# command), whose output test_setup_cli checks line by line
PAGE = by("tests/integration/test_setup_cli.py", 'assert "+ setup email add '
          'user@example.com secret" in out')

COMMANDS = {
    # README: the two commands, and what the test command runs
    "sh scripts/demo.sh": by("tests/integration/test_setup_cli.py",
                             '"scripts/demo.sh"'),
    "sh tests/run-all.sh": by(".ci/run", "exec sh tests/run-all.sh"),
    "sh scripts/deps.sh": by(".ci/run", "sh scripts/deps.sh"),
    "make distcheck": by("tests/run-all.sh", "make -s distcheck"),
    "make install": by("tests/run-all.sh", "make -s distcheck"),
    "autoreconf -fi && ./configure && make && make install":
        by("scripts/build.sh", "autoreconf -fi"),
    "sh fuzz/run.sh [SECONDS]": by("tests/run-all.sh", "sh fuzz/run.sh 10"),
    "sh fuzz/run.sh 600": by("tests/run-all.sh", "sh fuzz/run.sh 10"),
    "sh tests/sanitizers.sh": by("tests/run-all.sh", "sh tests/sanitizers.sh"),
    "sh tests/dovecot24/run.sh": by("tests/run-all.sh",
                                    "sh tests/dovecot24/run.sh"),
    "sh tests/dovecot24/run.sh [PYTEST ARGS]":
        by("tests/run-all.sh", "sh tests/dovecot24/run.sh -q"),
    "sh scripts/build-deb.sh OUTDIR": by("tests/packages/run.sh",
                                         "scripts/build-deb.sh"),
    "apt-get install ./dovecot-auth-master-dms_*.deb":
        by("tests/packages/clean-root.sh", 'apt_install "$pkg"'),
    # the benchmark: minutes of load, not a test; its harness runs in
    # smoke mode in the test command
    "sh bench/run.sh": by("tests/integration/test_bench_smoke.py",
                          '"bench/bench.py"'),
    "sh bench/run-2.4.sh": by("tests/integration/test_bench_smoke.py",
                              '"bench/bench.py"'),
    # the policy example
    "setup dovecot-master add admin --allow '*@example.com' --services imap "
    "--read-only --expires 2027-01-01": RUN,
    "setup dovecot-master update admin --no-read-only": RUN,
    "setup dovecot-master update admin --disable": RUN,
    "setup dovecot-master list": RUN,
    "setup help": RUN,
    "doveconf -n": RUN,
    "doveadm stats dump": by("tests/integration/test_policy.py",
                             '"stats", "dump"'),
    "doveadm reload": RUN,
    # the page's example
    "setup email add user@example.com secret": PAGE,
    "setup dovecot-master add admin top-secret": PAGE,
    "testsaslauthd -u 'user@example.com*admin' -p 'top-secret'":
        by("tests/integration/test_setup_cli.py", "'0: OK \"Success.\"'"),
    # the man page
    'echo "$PW" | setup --password-stdin dovecot-master update admin': RUN,
    "setup dovecot-master add auditor --allow '*@example.com' --services "
    "imap --read-only --expires 2027-01-01": RUN,
    "setup dovecot-master update auditor --no-read-only --disable": RUN,
    "setup --ldap /etc/dovecot/dms-master-ldap.conf dovecot-master add "
    "admin": RUN,
    # docs/ldap-masters.md
    "ldapadd -Y EXTERNAL -H ldapi:/// -f dms-master.ldif": RUN,
    "auth-master-dms-setup --ldap /etc/dovecot/dms-master-ldap.conf "
    "dovecot-master add admin --allow '*@example.com' --read-only": RUN,
    "auth-master-dms-setup --ldap /etc/dovecot/dms-master-ldap.conf "
    "dovecot-master list": RUN,
    # debian/README.Debian; the package's own steps in a clean root
    "apt-get install dovecot-imapd dovecot-pop3d":
        by("tests/packages/clean-root.sh", "apt-get install dovecot-imapd"),
    "adduser --system --group --uid 5000 --home /var/mail/vhosts vmail":
        by("tests/packages/clean-root.sh", "grep '^adduser '"),
    "install -d -o dovecot -g dovecot -m 0750 /var/log/dovecot-dms":
        by("tests/packages/clean-root.sh", "grep '^install -d '"),
    "systemctl restart dovecot":
        by("tests/packages/clean-root.sh", "systemctl restart dovecot"),
    "auth-master-dms-setup email add user@example.com": RUN,
    "auth-master-dms-setup dovecot-master add admin": RUN,
    "auth-master-dms-setup dovecot-master add auditor --read-only": RUN,
    "doveadm auth test -x service=imap 'user@example.com*admin'": RUN,
    # contrib/docker-mailserver
    "setup dovecot-master add|update|del|list":
        ("synopsis", "tests/integration/test_setup_cli.py"),
    # usage lines and names in sentences
    "setup dovecot-master ...": ("synopsis",
                                 "tests/integration/test_setup_cli.py"),
    "setup dovecot-master add|update NAME [PASSWORD] [POLICY]":
        ("synopsis", "tests/integration/test_setup_cli.py"),
    "doveadm pw -s SCHEME": ("synopsis", "tests/integration/dovecot_env.py"),
    "setup dovecot-master": ("synopsis", "tests/integration/test_setup_cli.py"),
    "setup email": ("synopsis", "tests/integration/test_setup_cli.py"),
    "saslauthd -a rimap": ("mention", "tests/integration/dovecot_env.py"),
    "git clone": ("mention", "README.md: who owns docker-mailserver's config "
                  "folder"),
    "setup --ldap": ("synopsis", "tests/integration/test_ldap_trust.py"),
    "setup --ldap FILE dovecot-master list":
        ("synopsis", "tests/integration/test_ldap_trust.py"),
    "auth-master-dms-setup --version": RUN,
    # master sessions (README)
    "setup dovecot-master update admin --record messages": RUN,
    "setup dovecot-master update admin --notify-owner": RUN,
    "setup dovecot-master update backup --no-notify-owner": RUN,
    "setup dovecot-master kick NAME":
        ("synopsis", "tests/integration/test_session_end.py"),
    "setup dovecot-master kick":
        ("synopsis", "tests/integration/test_session_end.py"),
    "setup dovecot-master report [--since DATE] [--json] [--unused-days N] "
    "[--audit-file FILE]":
        ("synopsis", "tests/integration/test_session_report.py"),
    "doveadm save": ("mention", "src/dms-session-notice.c"),
    "doveadm kick": ("mention", "tests/integration/test_session_end.py"),
    "doveadm kick USER": ("mention", "tests/integration/test_session_end.py"),
    "doveadm kick -f user_...":
        ("mention", "tests/integration/test_session_end.py"),
    "install -d -o root -g dovecot -m 770 /var/log/dovecot-dms": RUN,
    # deny rules, ports and grants
    "doveadm auth test": ("mention",
                          "tests/integration/test_deny_ports.py"),
    "setup dovecot-master update NAME":
        ("synopsis", "tests/integration/test_ldap_trust.py"),
    "setup dovecot-master add helpdesk --require-grant": RUN,
    "setup dovecot-master grant helpdesk user@example.com --for 2h --reason "
    "'ticket 4711: restore the Archive folder'": RUN,
    "setup dovecot-master grants helpdesk": RUN,
    "setup dovecot-master revoke ID":
        ("synopsis", "tests/integration/test_grants.py"),
    "setup dovecot-master approve ID --by admin":
        ("synopsis", "tests/integration/test_grants.py"),
    # the second factor
    "setup dovecot-master totp admin": RUN,
    # grants and TOTP of masters in LDAP
    "setup --ldap ... grant|revoke|approve":
        ("synopsis", "tests/integration/test_ldap_masters.py"),
    "setup --ldap FILE dovecot-master grant|revoke|approve|grants --prune":
        ("synopsis", "tests/integration/test_ldap_masters.py"),
    "setup --ldap FILE dovecot-master totp NAME":
        ("synopsis", "tests/integration/test_ldap_masters.py"),
    "setup ... grant": ("synopsis", "tests/integration/test_grants.py"),
    "setup ... totp": ("synopsis", "tests/integration/test_totp.py"),
    "install -d -o root -g dovecot -m 770 /var/lib/dovecot-dms": RUN,
    # contrib/roundcube: the packages the test command installs, and the
    # install script the webmail tests install the plugin with
    "apt-get install roundcube-core roundcube-sqlite3 roundcube-plugins "
    "postfix": by("scripts/deps.sh", "roundcube-core roundcube-sqlite3 "
                  "roundcube-plugins php-cli postfix"),
    "sh contrib/roundcube/install.sh":
        by("tests/integration/test_webmail.py",
           'cmd = "sh contrib/roundcube/install.sh"'),
}


def test_every_documented_command_is_covered():
    documented = documented_commands()
    missing = sorted(c for c in documented if c not in COMMANDS)
    assert not missing, "documented, not covered by a test: %s" % [
        (c, documented[c]) for c in missing]
    stale = sorted(c for c in COMMANDS if c not in documented)
    assert not stale, "covered, no longer documented: %s" % stale


@pytest.mark.parametrize("cmd", sorted(c for c, how in COMMANDS.items()
                                       if how[0] == "by"))
def test_run_elsewhere(cmd):
    """The part of the test command that runs it does run it."""
    _, path, needle = COMMANDS[cmd]
    with open(os.path.join(TOP, path)) as f:
        assert needle in f.read(), (cmd, path, needle)


def test_covered_here_are_run_here():
    """Every RUN entry is run by a test below (the list is theirs)."""
    assert sorted(c for c, how in COMMANDS.items() if how == RUN) == \
        sorted(RUN_HERE), sorted(set(RUN_HERE) ^ set(
            c for c, how in COMMANDS.items() if how == RUN))


# -- running them verbatim ------------------------------------------------------

RUN_HERE = []


def runs(*cmds):
    RUN_HERE.extend(cmds)
    return cmds


@pytest.fixture
def etc():
    """A directory that is /etc/dovecot for the commands (the auth
    process, as dovecot, reads it: not under pytest's 0700 directories),
    and a bin directory with the CLI under both its names."""
    top = tempfile.mkdtemp(prefix="dms-docs-")
    os.chmod(top, 0o755)
    etc = os.path.join(top, "etc-dovecot")
    os.mkdir(etc, 0o755)
    bindir = os.path.join(top, "bin")
    os.mkdir(bindir)
    for name in ("setup", "auth-master-dms-setup"):
        os.symlink(os.path.abspath(SETUP), os.path.join(bindir, name))
    yield etc, bindir
    shutil.rmtree(top, ignore_errors=True)


def verbatim(cmd, etc, answers=(), env=None, cwd=None):
    """Run CMD with sh -c, /etc/dovecot being ETC's directory, on a
    terminal answering each "Password:" prompt in turn. Returns (exit
    status, output)."""
    etc_dir, bindir = etc
    environ = dict(os.environ, PATH=bindir + ":" + os.environ["PATH"],
                   **(env or {}))
    for key in ("DMS_MASTERS_FILE", "DMS_USERS_FILE", "DMS_MASTERS_LDAP",
                "DMS_SCHEME"):
        environ.pop(key, None)
    argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            'mount --bind "$1" /etc/dovecot && cd "$2" && exec sh -c "$3"',
            "sh", etc_dir, cwd or "/", cmd]
    return run_on_terminal(argv, environ, answers)


def verify(hashed, password):
    out = subprocess.run(["doveadm", "pw", "-t", hashed, "-p", password],
                         capture_output=True, text=True, timeout=TIMEOUT)
    return "(verified)" in out.stdout


def store(etc, name="dovecot-masters.cf"):
    with open(os.path.join(etc[0], name)) as f:
        return {line.split("|")[0]: line for line in f.read().splitlines()
                if line}


def readme_block_after(cmd):
    """The README lines of the block that has CMD, after it."""
    with open(os.path.join(TOP, "README.md")) as f:
        lines = f.read().splitlines()
    i = next(n for n, line in enumerate(lines) if line.strip() == cmd)
    out = []
    for line in lines[i + 1:]:
        if not line.startswith("    "):
            break
        out.append(line.strip())
    return out


README_POLICY = runs(
    "setup dovecot-master add admin --allow '*@example.com' --services imap "
    "--read-only --expires 2027-01-01",
    "setup dovecot-master update admin --no-read-only",
    "setup dovecot-master update admin --disable",
    "setup dovecot-master list")


def expect_expired(line):
    """The listing adds " (expired)" once an expiry has passed."""
    m = re.search(r"dms_expires=(\S+)", line)
    if m and time.time() >= time.mktime(time.strptime(
            m.group(1), "%Y-%m-%dT%H:%M:%SZ")) - time.timezone:
        return line + " (expired)"
    return line


def test_readme_policy_example(etc):
    rc, out = verbatim(README_POLICY[0], etc, ["pw-1", "pw-1"])
    assert rc == 0, out
    line = store(etc)["admin"]
    assert verify(line.split("|")[1], "pw-1"), line
    assert line.endswith("|dms_allow=*@example.com dms_services=imap "
                         "dms_read_only=yes dms_expires=2027-01-01T00:00:00Z")
    for cmd in README_POLICY[1:3]:
        rc, out = verbatim(cmd, etc)
        assert rc == 0, out
    # "only the options given change": the password too stays
    assert verify(store(etc)["admin"].split("|")[1], "pw-1")
    rc, out = verbatim(README_POLICY[3], etc)
    shown = [line for line in readme_block_after(README_POLICY[3])
             if line.startswith("* admin")]
    assert len(shown) == 1
    assert rc == 0 and out.strip() == expect_expired(shown[0]), out


README_SESSIONS = runs(
    "setup dovecot-master update admin --record messages",
    "setup dovecot-master update admin --notify-owner",
    "setup dovecot-master update backup --no-notify-owner")


def test_readme_session_options(etc):
    with open(os.path.join(etc[0], "dovecot-masters.cf"), "w") as f:
        f.write("admin|{PLAIN}x|dms_read_only=yes\nbackup|{PLAIN}y\n")
    for cmd in README_SESSIONS:
        rc, out = verbatim(cmd, etc)
        assert rc == 0, out
    lines = store(etc)
    assert lines["admin"] == ("admin|{PLAIN}x|dms_read_only=yes "
                              "dms_record=messages dms_notify_owner=yes")
    assert lines["backup"] == "backup|{PLAIN}y|dms_notify_owner=no"


README_GRANTS = runs(
    "setup dovecot-master add helpdesk --require-grant",
    "setup dovecot-master grant helpdesk user@example.com --for 2h --reason "
    "'ticket 4711: restore the Archive folder'",
    "setup dovecot-master grants helpdesk")


def test_readme_grants(etc, tmp_path):
    env = {"DMS_AUDIT_FILE": str(tmp_path / "audit.json")}
    rc, out = verbatim(README_GRANTS[0], etc, ["pw-1", "pw-1"], env=env)
    assert rc == 0, out
    assert store(etc)["helpdesk"].endswith("|dms_require_grant=yes")
    rc, out = verbatim(README_GRANTS[1], etc, env=env)
    assert rc == 0, out
    grant_id = out.splitlines()[0].strip()
    assert re.fullmatch(r"[0-9a-f]{16}", grant_id), out
    rc, out = verbatim(README_GRANTS[2], etc, env=env)
    assert rc == 0, out
    assert re.match(r"%s helpdesk user@example.com until \S+Z active: "
                    r"ticket 4711: restore the Archive folder" % grant_id,
                    out.strip()), out
    # granted, and audited
    with open(env["DMS_AUDIT_FILE"]) as f:
        assert '"grant":"%s"' % grant_id in f.read()


SETUP_HELP = runs("setup help")
DOVECONF = runs("doveconf -n")
RELOAD = runs("doveadm reload")


VERSION = runs("auth-master-dms-setup --version")
AUDIT_DIR = runs("install -d -o root -g dovecot -m 770 /var/log/dovecot-dms")


def test_version(etc):
    with open(os.path.join(TOP, "configure.ac")) as f:
        version = re.search(r"AC_INIT\(\[[^]]*\], *\[([^]]*)\]",
                            f.read()).group(1)
    rc, out = verbatim(VERSION[0], etc)
    assert rc == 0 and out.strip() == "auth-master-dms-setup " + version, out


README_TOTP = runs("setup dovecot-master totp admin")
TOTP_DIR = runs("install -d -o root -g dovecot -m 770 /var/lib/dovecot-dms")


def test_readme_totp(etc):
    with open(os.path.join(etc[0], "dovecot-masters.cf"), "w") as f:
        f.write("admin|{PLAIN}x\n")
    rc, out = verbatim(README_TOTP[0], etc)
    assert rc == 0, out
    assert out.startswith("otpauth://totp/auth-master-dms:admin?secret="), out
    assert "\u2588" in out
    assert store(etc)["admin"] == "admin|{PLAIN}x|dms_totp=yes"
    secret = out.split("secret=")[1].split("&")[0]
    assert store(etc, "dovecot-masters.cf.totp")["admin"] == \
        "admin|" + secret


def made_directory(tmp_path, under, cmd):
    """Run CMD with UNDER (/var/log, /var/lib) a directory of the test's
    own; the owner, group and mode of the dovecot-dms it made there."""
    import grp
    top = tmp_path / "top"
    top.mkdir()
    out = subprocess.run(["unshare", "--mount", "--propagation", "private",
                          "sh", "-c", 'mount --bind "$1" "$2" && '
                          'exec sh -c "$3"', "sh", str(top), under, cmd],
                         capture_output=True, text=True, timeout=TIMEOUT)
    assert out.returncode == 0, out.stderr
    st = os.stat(str(top / "dovecot-dms"))
    return st.st_uid, grp.getgrgid(st.st_gid).gr_name, st.st_mode & 0o7777


def test_totp_state_directory(tmp_path):
    """README's TOTP state directory: as the audit directory."""
    assert made_directory(tmp_path, "/var/lib", TOTP_DIR[0]) == \
        (0, "dovecot", 0o770)


def test_audit_directory(tmp_path):
    """README's audit directory: root's, group dovecot may write it, no
    one else (/var/log a directory of the test's own)."""
    assert made_directory(tmp_path, "/var/log", AUDIT_DIR[0]) == \
        (0, "dovecot", 0o770)


def test_setup_help(etc):
    rc, out = verbatim(SETUP_HELP[0], etc)
    assert rc == 0 and "dovecot-master add NAME" in out, out
    assert "--read-only" in out


MAN = runs('echo "$PW" | setup --password-stdin dovecot-master update admin',
           "setup dovecot-master add auditor --allow '*@example.com' "
           "--services imap --read-only --expires 2027-01-01",
           "setup dovecot-master update auditor --no-read-only --disable")


def test_man_page_examples(etc):
    rc, out = verbatim("setup dovecot-master add admin top-secret", etc)
    assert rc == 0, out
    rc, out = verbatim(MAN[0], etc, env={"PW": "from-stdin"})
    assert rc == 0, out
    assert verify(store(etc)["admin"].split("|")[1], "from-stdin")
    rc, out = verbatim(MAN[1], etc, ["au-pw", "au-pw"])
    assert rc == 0, out
    assert store(etc)["auditor"].endswith(
        "|dms_allow=*@example.com dms_services=imap dms_read_only=yes "
        "dms_expires=2027-01-01T00:00:00Z")
    rc, out = verbatim(MAN[2], etc)
    assert rc == 0, out
    assert store(etc)["auditor"].endswith(
        "|dms_allow=*@example.com dms_services=imap "
        "dms_expires=2027-01-01T00:00:00Z dms_disabled=yes")


@pytest.fixture
def dovecot_in_etc(etc):
    """A test Dovecot whose configuration, users and masters files are
    in /etc/dovecot for the commands, empty of accounts."""
    from test_policy import policy_extra
    # README.Debian: read-only masters need dms-master-read-only.conf.ext
    d = Dovecot("master", args="audit_file=@AUDIT_FILE@",
                extra=policy_extra())
    try:
        # moved, not copied: owners and modes as the harness made them
        os.rmdir(etc[0])
        os.rename(d.tmp, etc[0])
        os.symlink(etc[0], d.tmp)
        d.write_store("")
        d.write_users({})
        d.start()
        yield d
    finally:
        d.stop()
        os.unlink(d.tmp)


README_DEBIAN = runs(
    "auth-master-dms-setup email add user@example.com",
    "auth-master-dms-setup dovecot-master add admin",
    "doveadm auth test -x service=imap 'user@example.com*admin'",
    "auth-master-dms-setup dovecot-master add auditor --read-only")


def test_readme_debian_commands(etc, dovecot_in_etc):
    d = dovecot_in_etc
    rc, out = verbatim(README_DEBIAN[0], etc, ["user-pw", "user-pw"])
    assert rc == 0, out
    rc, out = verbatim(README_DEBIAN[1], etc, ["admin-pw", "admin-pw"])
    assert rc == 0, out
    rc, out = verbatim(README_DEBIAN[2], etc, ["admin-pw"])
    assert rc == 0 and "auth succeeded" in out, out + d.log()
    assert d.imap_login("user@example.com*admin", "admin-pw")[0] == "OK"
    rc, out = verbatim(README_DEBIAN[3], etc, ["au-pw", "au-pw"])
    assert rc == 0, out
    assert store(etc)["auditor"].endswith("|dms_read_only=yes")
    # what README.Debian says of it: read-only, IMAP and POP3 only
    import imaplib
    imap = imaplib.IMAP4("127.0.0.1", d.imap_port, timeout=TIMEOUT)
    try:
        imap.login("user@example.com*auditor", "au-pw")
        assert imap.append("INBOX", None, None, b"Subject: x\r\n\r\nx\r\n")[0] \
            == "NO"
    finally:
        imap.logout()


def test_readme_debian_old_read_only_line_refused(etc):
    """The line README.Debian used to give: "dms_read_only=yes" where the
    password goes made a writable master with that password. It is a
    usage error now, and nothing is written."""
    rc, out = verbatim("auth-master-dms-setup dovecot-master add auditor "
                       "dms_read_only=yes", etc)
    assert rc == 2, out
    assert "'dms_read_only=yes' is a policy option, not a password" in out
    assert not os.path.exists(os.path.join(etc[0], "dovecot-masters.cf"))


def test_doveconf_and_reload(etc, dovecot_in_etc):
    d = dovecot_in_etc
    rc, out = verbatim(DOVECONF[0], etc)
    assert rc == 0 and "driver = dms_master" in out, out
    mark = d.log_mark()
    rc, out = verbatim(RELOAD[0], etc)
    assert rc == 0, out
    assert d.wait_log(mark, "SIGHUP received - reloading configuration"), \
        d.log_since(mark)
    # and it still serves
    d.write_users({"user@example.com": "secret"})
    deadline = time.monotonic() + TIMEOUT
    while d.imap_login("user@example.com", "secret")[0] != "OK":
        assert time.monotonic() < deadline
        time.sleep(0.2)


# -- LDAP: the settings file at /etc/dovecot, a cn=config slapd -------------

LDAP_CLI = runs(
    "setup --ldap /etc/dovecot/dms-master-ldap.conf dovecot-master add admin",
    "auth-master-dms-setup --ldap /etc/dovecot/dms-master-ldap.conf "
    "dovecot-master add admin --allow '*@example.com' --read-only",
    "auth-master-dms-setup --ldap /etc/dovecot/dms-master-ldap.conf "
    "dovecot-master list")


def test_ldap_cli_examples(etc):
    from ldap_env import ROOT_DN, ROOT_PW, Slapd
    s = Slapd()
    try:
        pwfile = os.path.join(etc[0], "admin.secret")
        with open(pwfile, "w") as f:
            f.write(ROOT_PW + "\n")
        os.chmod(pwfile, 0o600)
        conf = s.master_conf(etc[0], admin_bind_dn=ROOT_DN,
                             admin_bind_password_file=pwfile)
        # the settings file's own paths, as they are at /etc/dovecot
        text = open(conf).read().replace(etc[0], "/etc/dovecot")
        with open(conf, "w") as f:
            f.write(text)
        rc, out = verbatim(LDAP_CLI[0], etc, ["a-pw", "a-pw"])
        assert rc == 0, out
        rc, out = verbatim(LDAP_CLI[1], etc, ["b-pw", "b-pw"])
        assert rc == 1 and "already exists in LDAP" in out, out
        s.delete("uid=admin,ou=masters,dc=example,dc=com")
        rc, out = verbatim(LDAP_CLI[1], etc, ["b-pw", "b-pw"])
        assert rc == 0, out
        rc, out = verbatim(LDAP_CLI[2], etc)
        assert rc == 0, out
        assert "* admin dms_allow=*@example.com dms_read_only=yes" in out, out
    finally:
        s.cleanup()


LDAPADD = runs("ldapadd -Y EXTERNAL -H ldapi:/// -f dms-master.ldif")

CN_CONFIG = """dn: cn=config
objectClass: olcGlobal
cn: config

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by dn.exact=gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth manage by * none
"""


def test_ldif_loads_with_the_documented_ldapadd(tmp_path):
    """A cn=config slapd on the default ldapi:/// socket (a /run of its
    own), as Debian's slapd is set up, and the documented command."""
    confdir = tmp_path / "slapd.d"
    confdir.mkdir()
    (tmp_path / "init.ldif").write_text(CN_CONFIG)
    subprocess.run(["slapadd", "-n0", "-F", str(confdir), "-l",
                    str(tmp_path / "init.ldif")], check=True,
                   capture_output=True, timeout=TIMEOUT)
    shutil.copy(os.path.join(TOP, "ldap", "dms-master.ldif"), str(tmp_path))
    script = """
        set -e
        mount -t tmpfs tmpfs /run
        mkdir -p /run/slapd
        slapd -F "$1" -h ldapi:/// -d 0 >"$2/slapd.log" 2>&1 &
        pid=$!
        trap 'kill $pid; wait $pid || true' EXIT
        i=0
        until [ -S /run/slapd/ldapi ]; do
            i=$((i + 1)); [ $i -lt 100 ] || exit 3; sleep 0.1
        done
        cd "$2"
        %s
        ldapsearch -LLL -Q -Y EXTERNAL -H ldapi:/// -b cn=schema,cn=config \
            olcObjectClasses | tr -d '\\n ' | grep -o dmsMasterAccount
    """ % LDAPADD[0]
    out = subprocess.run(["unshare", "--mount", "--propagation", "private",
                          "sh", "-c", script, "sh", str(confdir),
                          str(tmp_path)], capture_output=True, text=True,
                         timeout=6 * TIMEOUT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert 'adding new entry "cn=dms-master,cn=schema,cn=config"' in \
        out.stdout, out.stdout
    assert "dmsMasterAccount" in out.stdout
