"""The `Mailer` port: SMTP through smtplib (one connection per batch, STARTTLS and login when
configured), and stand-ins: `NullMailer` for a deployment with no relay (emails wait, unsent),
`RecordingMailer` for tests. All build the same MIME message from an `OutgoingEmail`."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formataddr

from ..domain.errors import PlatformError, PlatformUnavailable
from ..domain.ports import OutgoingEmail

DEFAULT_SENDER = "loyalty@localhost"


class MailUnavailable(PlatformUnavailable):
    """The relay could not be reached, dropped the connection or answered 4xx."""


class MailRefused(PlatformError):
    """The relay answered 5xx (a refused recipient or sender, bad credentials)."""


def mime(email: OutgoingEmail, sender: str) -> EmailMessage:
    """The message as it goes on the wire: From is the shop's name at the deployment's address;
    the Message-ID is stable per `message_key`, so a receiver can drop a repeat. With `html`,
    a multipart/alternative of the plain text and the HTML."""
    msg = EmailMessage()
    msg["Subject"] = email.subject
    msg["From"] = formataddr((email.from_name or "", sender))
    msg["To"] = email.to
    if email.reply_to:
        msg["Reply-To"] = email.reply_to
    domain = sender.partition("@")[2] or "localhost"
    msg["Message-ID"] = f"<{email.message_key}@{domain}>"
    msg["List-Unsubscribe"] = f"<{email.unsubscribe_url}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(email.body)
    if email.html:  # multipart/alternative: the text part first, the HTML part preferred
        msg.add_alternative(email.html, subtype="html")
    msg["Content-Language"] = email.lang or "en"  # after set_content, which resets Content-* headers
    return msg


def _failure(exc: Exception) -> PlatformError:
    """The neutral error for an smtplib or socket failure; its text keeps the original type."""
    text = f"{type(exc).__name__}: {exc}"
    code = getattr(exc, "smtp_code", None)
    if isinstance(exc, smtplib.SMTPRecipientsRefused) or (isinstance(code, int) and code >= 500):
        return MailRefused(text)
    return MailUnavailable(text)


class SmtpConnection:
    def __init__(self, smtp: smtplib.SMTP, sender: str) -> None:
        self.smtp, self.sender = smtp, sender

    def send(self, email: OutgoingEmail) -> None:
        try:
            self.smtp.send_message(mime(email, self.sender))
        except (smtplib.SMTPException, OSError) as exc:
            raise _failure(exc) from exc

    def close(self) -> None:
        try:
            self.smtp.quit()
        except Exception:  # noqa: BLE001 - closing a broken connection
            pass


class SmtpMailer:
    """The deployment's SMTP relay; `open` connects (with the timeout), STARTTLS, logs in."""

    configured = True

    def __init__(self, host: str, port: int = 587, user: str | None = None, password: str | None = None,
                 starttls: bool = True, sender: str | None = None, timeout: float = 10.0) -> None:
        self.host, self.port, self.user, self.password = host, port, user, password
        self.starttls, self.sender, self.timeout = starttls, sender or DEFAULT_SENDER, timeout

    def open(self) -> SmtpConnection:
        try:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except (smtplib.SMTPException, OSError) as exc:
            raise _failure(exc) from exc
        try:
            if self.starttls:
                smtp.starttls()
            if self.user:
                smtp.login(self.user, self.password or "")
        except (smtplib.SMTPException, OSError) as exc:
            SmtpConnection(smtp, self.sender).close()
            raise _failure(exc) from exc
        return SmtpConnection(smtp, self.sender)


class NullMailer:
    """No relay configured (SMTP_HOST unset): emails are not claimed and wait, pending, until a
    relay is configured; webhooks still go."""

    configured = False

    def open(self):
        raise MailUnavailable("no SMTP relay is configured (SMTP_HOST)")


class RecordingMailer:
    """Keeps what would have been sent (`sent`, the MIME messages with their recipient); set
    `down` to an exception to make every `open` fail like an unreachable relay."""

    configured = True

    def __init__(self, sender: str = DEFAULT_SENDER) -> None:
        self.sender = sender
        self.sent: list[tuple[str, EmailMessage]] = []
        self.down: Exception | None = None

    def open(self) -> "RecordingMailer._Connection":
        if self.down is not None:
            raise MailUnavailable(f"{type(self.down).__name__}: {self.down}")
        return RecordingMailer._Connection(self)

    class _Connection:
        def __init__(self, mailer: "RecordingMailer") -> None:
            self.mailer = mailer

        def send(self, email: OutgoingEmail) -> None:
            self.mailer.sent.append((email.to, mime(email, self.mailer.sender)))

        def close(self) -> None:
            return None
