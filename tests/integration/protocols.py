"""The other protocols a master may reach: a ManageSieve client (RFC 5804)
speaking to Pigeonhole's managesieve, and an SMTP server that records
what Dovecot's submission service relays to it. Both talk over real
sockets on loopback; the tests drive Dovecot's own services with them."""

import base64
import socket
import socketserver
import threading

from dovecot_env import TIMEOUT, pick


def services_conf(submission_port, relay_port, sieve_port=None):
    """Dovecot's submission service (relaying to RELAY_PORT, a SmtpSink's;
    None: the relay set elsewhere) and, with SIEVE_PORT, Pigeonhole's
    managesieve, beside imap and pop3, on loopback: settings for the
    Dovecot under test."""
    listen = pick("address", "listen")
    text = "protocols = imap pop3 submission%s\n" % (
        " sieve" if sieve_port else "")
    listeners = [("submission-login", "submission", submission_port)]
    if sieve_port:
        listeners.append(("managesieve-login", "sieve", sieve_port))
    for service, name, port in listeners:
        text += ("service %s {\n  inet_listener %s {\n    %s = 127.0.0.1\n"
                 "    port = %d\n  }\n}\n" % (service, name, listen, port))
    if relay_port is None:
        return text
    return text + ("submission_relay_host = 127.0.0.1\n"
                   "submission_relay_port = %d\n" % relay_port)


class ManageSieve:
    """One ManageSieve session: AUTHENTICATE PLAIN, scripts, LOGOUT."""

    def __init__(self, port, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=TIMEOUT)
        self.buf = b""
        self.greeting = self._response()

    def _line(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(4096)
            if not data:
                raise ConnectionError("managesieve closed: %r" % self.buf)
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def _response(self):
        """Lines up to the OK/NO/BYE that ends a response: (status, all
        lines)."""
        lines = []
        while True:
            line = self._line()
            lines.append(line)
            word = line.split(" ", 1)[0].upper()
            if word in ("OK", "NO", "BYE"):
                return word, lines

    def command(self, text, literal=None):
        data = text.encode()
        if literal is not None:
            raw = literal.encode()
            data += b" {%d+}\r\n" % len(raw) + raw
        self.sock.sendall(data + b"\r\n")
        return self._response()

    def authenticate(self, user, password):
        token = base64.b64encode(("\0%s\0%s" % (user, password)).encode())
        return self.command('AUTHENTICATE "PLAIN" "%s"' % token.decode())

    def putscript(self, name, script):
        return self.command('PUTSCRIPT "%s"' % name, literal=script)

    def setactive(self, name):
        return self.command('SETACTIVE "%s"' % name)

    def listscripts(self):
        return self.command("LISTSCRIPTS")

    def close(self):
        try:
            self.command("LOGOUT")
        except (OSError, ConnectionError):
            pass
        self.sock.close()


class _SmtpHandler(socketserver.StreamRequestHandler):
    timeout = TIMEOUT

    def reply(self, text):
        self.wfile.write((text + "\r\n").encode())

    def handle(self):
        sink = self.server.sink
        self.reply("220 sink.test ESMTP")
        mail_from, rcpts = None, []
        while True:
            line = self.rfile.readline()
            if not line:
                return
            cmd = line.decode("utf-8", "replace").rstrip("\r\n")
            verb = cmd.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO", "LHLO"):
                self.reply("250-sink.test\r\n250-8BITMIME\r\n"
                           "250 PIPELINING")
            elif verb == "MAIL":
                mail_from, rcpts = cmd[5:], []
                self.reply("250 2.1.0 Ok")
            elif verb == "RCPT":
                rcpts.append(cmd[5:])
                self.reply("250 2.1.5 Ok")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                body = []
                while True:
                    data = self.rfile.readline()
                    if not data or data in (b".\r\n", b".\n"):
                        break
                    body.append(data.decode("utf-8", "replace"))
                with sink.lock:
                    sink.messages.append((mail_from, rcpts, "".join(body)))
                self.reply("250 2.0.0 Ok: queued")
            elif verb == "RSET":
                mail_from, rcpts = None, []
                self.reply("250 2.0.0 Ok")
            elif verb == "NOOP":
                self.reply("250 2.0.0 Ok")
            elif verb == "QUIT":
                self.reply("221 2.0.0 Bye")
                return
            else:
                self.reply("502 5.5.2 Command not recognized")


class SmtpSink:
    """An SMTP server on loopback that keeps every message it is given:
    the relay of Dovecot's submission service in the tests."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()
        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0),
                                                      _SmtpHandler)
        self.server.daemon_threads = True
        self.server.sink = self
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
