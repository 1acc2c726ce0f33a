"""E-mail digests over SMTP: one connection for a whole run (200 digests are 200 messages,
not 200 handshakes), reconnected when the server drops it.

Settings: smtp_host, smtp_port, smtp_security (starttls / ssl / none), smtp_from,
smtp_timeout; PAPERSIFT_SMTP_USER and PAPERSIFT_SMTP_PASSWORD from the environment. The
password never appears in a message, a log line or the send log.
"""

from __future__ import annotations

import base64
import smtplib
import ssl
import uuid
from email.header import Header
from email.utils import formatdate, make_msgid

from ..config import Settings
from ..errors import ConfigError
from .render import Digest

SECURITY = ("starttls", "ssl", "none")


class PermanentFailure(Exception):
    """A failure that another try cannot fix (bad address, refused login)."""


def _part(ctype: str, body: str) -> bytes:
    return (f"Content-Type: {ctype}; charset=\"utf-8\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            .encode("ascii") + base64.encodebytes(body.encode("utf-8")).replace(b"\n", b"\r\n"))


def _header(name: str, value: str) -> bytes:
    value = " ".join(value.split())  # no CR/LF from a title can start a header of its own
    if value.isascii() and len(value) < 900:
        return f"{name}: {value}\r\n".encode("ascii")
    return f"{name}: {Header(value, 'utf-8', header_name=name).encode(linesep=chr(13) + chr(10))}\r\n".encode("ascii")


def build_message(d: Digest, sender: str, to: str) -> bytes:
    """The e-mail as bytes: multipart/alternative, text first, then HTML (clients show the
    last part they can). Built by hand, base64 parts and RFC 2047 headers: the email
    package's generator spent ~10x longer on a 50 KB digest, and 200 digests a run are
    mostly that."""
    boundary = f"=_papersift_{uuid.uuid4().hex}"
    heads = (("Subject", d.subject), ("From", sender), ("To", to), ("Date", formatdate(localtime=False)),
             ("Message-ID", make_msgid(domain=sender.rsplit("@", 1)[-1] or "papersift")),
             ("X-Papersift-Digest", f"{d.profile} {d.day.isoformat()}"), ("MIME-Version", "1.0"),
             ("Content-Type", f'multipart/alternative; boundary="{boundary}"'))
    sep = f"\r\n--{boundary}\r\n".encode("ascii")
    return b"".join((*(_header(k, v) for k, v in heads), b"\r\nThis is a multi-part message in MIME format.",
                     sep, _part("text/plain", d.text), sep, _part("text/html", d.html),
                     f"\r\n--{boundary}--\r\n".encode("ascii")))


class SmtpSender:
    """Sends messages through the configured server; `send` raises on failure
    (PermanentFailure when retrying cannot help)."""

    def __init__(self, settings: Settings):
        if not settings.smtp_host:
            raise ConfigError("e-mail channel: setting 'smtp_host' is empty; set it in papersift.toml "
                              "[papersift] or PAPERSIFT_SMTP_HOST")
        if settings.smtp_security not in SECURITY:
            raise ConfigError(f"setting 'smtp_security' {settings.smtp_security!r}: use one of "
                              f"{', '.join(SECURITY)}")
        self.s = settings
        self.sender = settings.smtp_from or f"papersift@{settings.smtp_host}"
        self._conn: smtplib.SMTP | None = None
        self.sent = 0

    def _connect(self) -> smtplib.SMTP:
        s = self.s
        ctx = ssl.create_default_context()
        conn: smtplib.SMTP
        if s.smtp_security == "ssl":
            conn = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout, context=ctx)
        else:
            conn = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
            if s.smtp_security == "starttls":
                conn.starttls(context=ctx)
        if s.smtp_user is not None:
            password = s.smtp_password.get_secret_value() if s.smtp_password else ""
            try:
                conn.login(s.smtp_user.get_secret_value(), password)
            except smtplib.SMTPAuthenticationError as e:
                conn.close()
                raise PermanentFailure(f"SMTP login refused by {s.smtp_host} ({e.smtp_code}); "
                                       "check PAPERSIFT_SMTP_USER / PAPERSIFT_SMTP_PASSWORD") from e
        return conn

    def send(self, d: Digest, to: str) -> None:
        msg = build_message(d, self.sender, to)
        try:
            if self._conn is None:
                self._conn = self._connect()
            self._conn.sendmail(self.sender, [to], msg)
        except smtplib.SMTPRecipientsRefused as e:
            code, text = next(iter(e.recipients.values()), (0, b""))
            self.close()
            err = f"recipient {to} refused: {code} {text.decode('utf-8', 'replace')}"
            raise (PermanentFailure(err) if 500 <= code < 600 else ConnectionError(err)) from e
        except (smtplib.SMTPException, OSError):
            self.close()  # the next try starts a fresh connection
            raise
        self.sent += 1

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.quit()
            except (smtplib.SMTPException, OSError):
                self._conn.close()
            self._conn = None
