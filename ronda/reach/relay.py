"""The SMTP relay, as the sender worker speaks to it: plain, STARTTLS or implicit TLS, with
or without authentication, several messages per connection.

The password is read when a connection opens, from the environment variable or the file the
config names, and is never part of anything this module returns or raises: an error's text
has it masked even if a relay were to echo it. Certificates are verified against the
system's trust store, plus `[mail] smtp_ca` when the agency's relay has a private CA.

An answer of 5xx to the sender, a recipient or the data is permanent (the message fails);
anything else (no connection, a timeout, 4xx, a refused login) is worth another attempt.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ronda.config import MailSettings

SEND_TIMEOUT = 10.0  # seconds for each socket operation of a relay conversation
DEFAULT_PORTS = {"tls": 465, "starttls": 587, "auto": 25, "none": 25}


class RelayError(Exception):
    """The relay did not take a message. `permanent`: trying again will not help (it said
    5xx). `connection`: no conversation at all, so no other message would fare better."""

    def __init__(self, text: str, *, permanent: bool = False, connection: bool = False) -> None:
        super().__init__(text)
        self.permanent = permanent
        self.connection = connection


def parse_relay(text: str, default_port: int) -> tuple[str, int]:
    """`host:port`, `[::1]:2525` or `host` -> (host, port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, ""
    if not host or (port and not port.isdigit()):
        raise RelayError(f"mail.relay: {text!r} is not host:port", permanent=True)
    return host, int(port) if port else default_port


@dataclass(frozen=True, slots=True)
class RelayAccess:
    """Where the relay is and how to log in (the password's source, not the password)."""

    host: str
    port: int
    tls: str = "auto"
    user: str | None = None
    password_env: str | None = None
    password_file: Path | None = None
    ca: Path | None = None

    @classmethod
    def from_settings(cls, settings: MailSettings) -> RelayAccess:
        if not settings.relay:
            raise RelayError(
                'no mail relay configured ([mail] relay = "host:port")', connection=True
            )
        host, port = parse_relay(settings.relay, DEFAULT_PORTS.get(settings.smtp_tls, 25))
        return cls(
            host,
            port,
            settings.smtp_tls,
            settings.smtp_user,
            settings.smtp_password_env,
            settings.smtp_password_file,
            settings.smtp_ca,
        )

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def password(self, environ: Mapping[str, str]) -> str | None:
        """The password, read now (a rotated one is picked up at the next connection)."""
        if self.password_env:
            value = environ.get(self.password_env)
            if not value:
                raise RelayError(
                    f"the environment variable {self.password_env} (smtp_password_env) is not "
                    "set: cannot log in to the relay",
                    connection=True,
                )
            return value
        if self.password_file is not None:
            try:
                return self.password_file.read_text(encoding="utf-8").strip("\r\n")
            except OSError as exc:
                raise RelayError(
                    f"cannot read {self.password_file} (smtp_password_file): {exc.strerror or exc}",
                    connection=True,
                ) from None
        return None

    def context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.ca is not None:
            context.load_verify_locations(cafile=str(self.ca))
        return context


def _answer(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{exc.smtp_code} {' '.join(str(text).split())}"


class RelaySession:
    """One conversation with the relay: `send` as many messages as wanted, then `close`.
    Opens on the first `send`; a failed conversation is closed and reopened by the next."""

    def __init__(
        self,
        access: RelayAccess,
        *,
        environ: Mapping[str, str] | None = None,
        timeout: float = SEND_TIMEOUT,
    ) -> None:
        self.access = access
        self.environ = os.environ if environ is None else environ
        self.timeout = timeout
        self._smtp: smtplib.SMTP | None = None
        self._secret: str | None = None

    def _mask(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text

    def _open(self) -> smtplib.SMTP:
        access = self.access
        password = access.password(self.environ)
        self._secret = password
        where = access.where
        try:
            if access.tls == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    access.host, access.port, timeout=self.timeout, context=access.context()
                )
            else:
                smtp = smtplib.SMTP(access.host, access.port, timeout=self.timeout)
            try:
                smtp.ehlo()
                offered = smtp.has_extn("starttls")
                if access.tls == "starttls" and not offered:
                    raise RelayError(
                        f'relay {where} does not offer STARTTLS (smtp_tls = "starttls")',
                        connection=True,
                    )
                if access.tls in ("starttls", "auto") and offered:
                    smtp.starttls(context=access.context())
                    smtp.ehlo()
                elif password is not None and access.tls == "auto":
                    raise RelayError(
                        f"relay {where} offers no STARTTLS: the password would go in clear "
                        '(set smtp_tls = "none" only for a relay on this machine)',
                        connection=True,
                    )
                if access.user is not None and password is not None:
                    smtp.login(access.user, password)
            except BaseException:
                smtp.close()
                raise
        except RelayError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise RelayError(
                self._mask(f"relay {where} refused the login of {access.user}: {_answer(exc)}"),
                connection=True,
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise RelayError(self._mask(f"relay {where}: {exc}"), connection=True) from None
        self._smtp = smtp
        return smtp

    def send(self, envelope_from: str, to: str, data: bytes) -> None:
        """Hand one message (RFC 5322 bytes, CRLF line ends) to the relay for `to`.
        Raises `RelayError`."""
        smtp = self._smtp or self._open()
        where = self.access.where
        try:
            refused = smtp.sendmail(envelope_from, [to], data)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = exc.recipients.get(to, (0, b""))
            answer = (
                f"{code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}"
            )
            self._reset(smtp)
            raise RelayError(
                self._mask(f"relay {where} refused {to}: {answer}"), permanent=500 <= code < 600
            ) from None
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            self._reset(smtp)
            raise RelayError(
                self._mask(f"relay {where} did not take the message to {to}: {_answer(exc)}"),
                permanent=500 <= exc.smtp_code < 600,
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            text = self._mask(f"relay {where} did not take the message to {to}: {exc}")
            self.close()
            raise RelayError(text) from None
        if refused:
            raise RelayError(f"relay {where} refused {', '.join(refused)}", permanent=True)

    def _reset(self, smtp: smtplib.SMTP) -> None:
        """After a refusal the conversation goes on with the next message (RSET)."""
        try:
            smtp.rset()
        except (OSError, smtplib.SMTPException):
            self.close()

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        self._secret = None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


__all__ = [
    "DEFAULT_PORTS",
    "SEND_TIMEOUT",
    "RelayAccess",
    "RelayError",
    "RelaySession",
    "parse_relay",
]
