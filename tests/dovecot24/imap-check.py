"""IMAP logins for the Dovecot 2.4 smoke test (in the Debian 13 root):
  imap-check.py USER PASSWORD OK|NO [USER PASSWORD OK|NO ...]
logs in as each USER on 127.0.0.1:143, reads the INBOX's first subject
after a successful login, prints each outcome, and exits 1 at the first
one that is not the expected."""
import imaplib
import sys
import time


def login(user, password):
    for _ in range(50):
        try:
            imap = imaplib.IMAP4("127.0.0.1", 143)
            break
        except OSError:
            time.sleep(0.1)
    try:
        imap.login(user, password)
    except imaplib.IMAP4.error as e:
        return "NO", str(e)
    imap.select("INBOX", readonly=True)
    typ, data = imap.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    imap.logout()
    return "OK", data[0][1].decode().strip()


args = sys.argv[1:]
for i in range(0, len(args), 3):
    user, password, want = args[i:i + 3]
    got = login(user, password)
    print("smoke: IMAP %s: %s %s" % (user, got[0], got[1]))
    if got[0] != want:
        sys.exit(1)
