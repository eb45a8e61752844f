import filecmp
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from dovecot_env import Dovecot, Saslauthd  # noqa: E402

MODULE_DIR = "/usr/lib/dovecot/modules/auth"


def pytest_sessionstart(session):
    top = os.environ.get("DMS_TOP")
    built = os.path.join(top or ".", "src/.libs/auth_master_dms.so")
    loaded = os.path.join(MODULE_DIR, "auth_master_dms.so")
    # never test a stale or system-installed copy by mistake
    if not (top and os.path.exists(loaded) and
            filecmp.cmp(built, loaded, shallow=False)):
        pytest.exit("run the integration tests through "
                    "tests/integration/run.sh", returncode=2)


@pytest.fixture(scope="module", params=["master", "selfsplit"])
def dovecot(request):
    server = Dovecot(request.param)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def make_dovecot():
    """A Dovecot of the test's own configuration, always cleaned up."""
    servers = []

    def make(*args, **kwargs):
        server = Dovecot(*args, **kwargs)
        servers.append(server)
        return server
    make.servers = servers
    yield make
    for s in servers:
        s.cleanup()


@pytest.fixture(scope="module")
def sink():
    """An SMTP server that keeps what Dovecot's submission relays."""
    from protocols import SmtpSink
    s = SmtpSink()
    yield s
    s.close()


@pytest.fixture(scope="module")
def saslauthd():
    s = Saslauthd()
    yield s
    s.cleanup()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    # every failure shows the Dovecot log of the servers the test used
    if report.failed and hasattr(item, "funcargs"):
        servers = []
        for name in ("dovecot", "server"):
            if item.funcargs.get(name) is not None:
                servers.append(item.funcargs[name])
        if item.funcargs.get("make_dovecot") is not None:
            servers.extend(item.funcargs["make_dovecot"].servers)
        for server in servers:
            report.sections.append(("dovecot log " + server.tmp,
                                    server.log()[-20000:]))
