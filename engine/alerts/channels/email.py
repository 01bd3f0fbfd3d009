"""Email through SMTP with the standard library's smtplib (STARTTLS or SMTPS, optional login)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from engine.alerts.channels.errors import ChannelError
from engine.alerts.events import Alert
from engine.alerts.settings import AlertSettings


def configured(settings: AlertSettings) -> bool:
    """A host and at least one recipient."""
    return bool(settings.smtp_host and settings.smtp_to)


def message(alert: Alert, settings: AlertSettings) -> EmailMessage:
    """Subject "[IvyBT] <LEVEL> <title>", plain-text body: the text, then the event name."""
    msg = EmailMessage()
    msg["Subject"] = f"[IvyBT] {alert.level.upper()} {alert.title}"
    msg["From"] = settings.smtp_from
    msg["To"] = ", ".join(settings.smtp_to)
    msg.set_content("\n".join([*alert.lines(), "", f"event: {alert.event}"]).strip() + "\n")
    return msg


def send(alert: Alert, settings: AlertSettings) -> None:
    """Send `alert` to the recipients; raises ChannelError on an SMTP refusal, socket errors as they are."""
    smtp_class = smtplib.SMTP_SSL if settings.smtp_ssl else smtplib.SMTP
    try:
        with smtp_class(settings.smtp_host, settings.smtp_port, timeout=settings.timeout) as smtp:
            if settings.smtp_starttls and not settings.smtp_ssl:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            refused = smtp.send_message(message(alert, settings))
    except smtplib.SMTPResponseException as e:
        detail = e.smtp_error.decode(errors="replace") if isinstance(e.smtp_error, bytes) else str(e.smtp_error)
        raise ChannelError(f"SMTP {e.smtp_code} {detail[:120]}") from None
    except smtplib.SMTPRecipientsRefused as e:
        raise ChannelError(f"SMTP refused every recipient: {', '.join(e.recipients)}") from None
    except smtplib.SMTPServerDisconnected as e:  # smtplib turns a read timeout into this
        raise ChannelError("timed out" if "timed out" in str(e) else f"SMTP server disconnected: {e}") from None
    if refused:
        raise ChannelError(f"SMTP refused {', '.join(refused)}")
