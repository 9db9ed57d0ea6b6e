"""The words notices and notifications are made of, in English and Spanish: what a failure
means for the customer, instants in the desk's time zone, durations. Pure."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ronda.model import FailureClass, Priority

FC = FailureClass

# What each failure means, said to a customer (no jargon past the HTTP code).
FAILURES: dict[str, dict[FailureClass, str]] = {
    "en": {
        FC.REFUSED: "the server does not accept connections",
        FC.DNS: "its address does not resolve (DNS)",
        FC.TIMEOUT: "it does not answer in time",
        FC.HTTP_500: "it answers with a server error (HTTP 500)",
        FC.HTTP_502: "it answers with a gateway error (HTTP 502)",
        FC.HTTP_503: "it answers that it is unavailable (HTTP 503)",
        FC.WP_DB_CONNECTION: "WordPress cannot reach its database",
        FC.PHP_FATAL: "a PHP fatal error stops the page",
        FC.PHP_FATAL_TIMEOUT: "PHP runs out of time building the page",
        FC.PHP_SYNTAX_ERROR: "a PHP syntax error stops the page",
        FC.WHITE_SCREEN: "the page comes back blank",
        FC.HTTP_403: "the page answers 'forbidden' (HTTP 403)",
        FC.HTTP_404: "the page is not found (HTTP 404)",
        FC.REDIRECT_LOOP: "the page redirects in a loop",
        FC.REDIRECT_REFUSED: "the page redirects to an address we do not follow",
        FC.SSL_EXPIRED: "its security certificate has expired",
        FC.SSL_UNTRUSTED: "its security certificate is not trusted",
        FC.SSL_HOSTNAME: "its security certificate names another site",
        FC.WP_MAINTENANCE: "WordPress has been in maintenance mode for too long",
        FC.SLOW: "it is very slow",
        FC.CONTENT_MISSING: "a page lacks content it should have",
        FC.SSL_EXPIRING: "its security certificate expires soon",
        FC.RSS_INVALID: "its news feed (RSS) is not valid",
        FC.INTERMITTENT: "it keeps going down and coming back",
        FC.SERVER_OUTAGE: "the server that hosts it is down",
        FC.PROBER_BLIND: "our monitoring cannot see it right now",
        FC.WP_OUTDATED: "its WordPress is due for its update",
        FC.PHP_EOL: "its PHP version no longer gets security fixes",
        FC.MIXED_CONTENT: "browsers mark it as not secure (mixed content)",
        FC.BROKEN_IMAGES: "some of its images do not load",
        FC.PHP_WARNING: "PHP warnings are shown on its pages",
        FC.WP_REST_BROKEN: "the WordPress editor and Elementor cannot load (REST API)",
        FC.LOGIN_REDIRECT_LOOP: "its login page redirects in a loop",
        FC.BLOCKED: "its firewall blocks our monitoring",
        FC.FLAGGED_UNSAFE: "Google flags it as unsafe",
        FC.DOMAIN_UNRESOLVED: "its domain does not resolve (DNS)",
        FC.DNS_NO_MX: "its domain has no working mail (MX) records",
        FC.DNS_SPF_INVALID: "its domain's SPF record is missing or invalid",
        FC.DNS_DMARC_MISSING: "its domain has no valid DMARC record",
        FC.DNS_RECORD_MISMATCH: "a DNS record its domain needs is missing",
        FC.DOMAIN_EXPIRING: "its domain registration expires soon",
        FC.DOMAIN_EXPIRED: "its domain registration has expired",
        FC.MAIL_DOWN: "the e-mail service does not answer",
        FC.MAIL_TLS_EXPIRED: "the e-mail service's security certificate has expired",
        FC.MAIL_TLS_INVALID: "the e-mail service's secure connection is not valid",
        FC.MAIL_TLS_EXPIRING: "the e-mail service's security certificate expires soon",
        FC.ACCESS_DOWN: "access to the server (SSH, FTP or cPanel) does not answer",
        FC.ACCESS_TLS_INVALID: "secure access to the server (FTP or cPanel) is not valid",
    },
    "es": {
        FC.REFUSED: "el servidor no acepta conexiones",
        FC.DNS: "su dirección no resuelve (DNS)",
        FC.TIMEOUT: "no responde a tiempo",
        FC.HTTP_500: "responde con un error del servidor (HTTP 500)",
        FC.HTTP_502: "responde con un error de pasarela (HTTP 502)",
        FC.HTTP_503: "responde que no está disponible (HTTP 503)",
        FC.WP_DB_CONNECTION: "WordPress no logra conectarse a su base de datos",
        FC.PHP_FATAL: "un error fatal de PHP detiene la página",
        FC.PHP_FATAL_TIMEOUT: "PHP se queda sin tiempo al armar la página",
        FC.PHP_SYNTAX_ERROR: "un error de sintaxis de PHP detiene la página",
        FC.WHITE_SCREEN: "la página llega en blanco",
        FC.HTTP_403: "la página responde «prohibido» (HTTP 403)",
        FC.HTTP_404: "la página no se encuentra (HTTP 404)",
        FC.REDIRECT_LOOP: "la página redirige en un bucle",
        FC.REDIRECT_REFUSED: "la página redirige a una dirección que no seguimos",
        FC.SSL_EXPIRED: "su certificado de seguridad venció",
        FC.SSL_UNTRUSTED: "su certificado de seguridad no es de confianza",
        FC.SSL_HOSTNAME: "su certificado de seguridad nombra otro sitio",
        FC.WP_MAINTENANCE: "WordPress lleva demasiado tiempo en modo mantenimiento",
        FC.SLOW: "está muy lento",
        FC.CONTENT_MISSING: "a una página le falta contenido que debería tener",
        FC.SSL_EXPIRING: "su certificado de seguridad vence pronto",
        FC.RSS_INVALID: "su canal de noticias (RSS) no es válido",
        FC.INTERMITTENT: "se cae y vuelve una y otra vez",
        FC.SERVER_OUTAGE: "el servidor que lo aloja está caído",
        FC.PROBER_BLIND: "nuestro monitoreo no logra verlo en este momento",
        FC.WP_OUTDATED: "su WordPress necesita la actualización mensual",
        FC.PHP_EOL: "su versión de PHP ya no recibe parches de seguridad",
        FC.MIXED_CONTENT: "los navegadores lo marcan como inseguro (contenido mixto)",
        FC.BROKEN_IMAGES: "algunas de sus imágenes no cargan",
        FC.PHP_WARNING: "sus páginas muestran advertencias de PHP",
        FC.WP_REST_BROKEN: "el editor de WordPress y Elementor no cargan (API REST)",
        FC.LOGIN_REDIRECT_LOOP: "su página de acceso redirige en un bucle",
        FC.BLOCKED: "su cortafuegos bloquea nuestro monitoreo",
        FC.FLAGGED_UNSAFE: "Google lo marca como inseguro",
        FC.DOMAIN_UNRESOLVED: "su dominio no resuelve (DNS)",
        FC.DNS_NO_MX: "su dominio no tiene registros de correo (MX) que funcionen",
        FC.DNS_SPF_INVALID: "el registro SPF de su dominio falta o no es válido",
        FC.DNS_DMARC_MISSING: "su dominio no tiene un registro DMARC válido",
        FC.DNS_RECORD_MISMATCH: "falta un registro DNS que su dominio necesita",
        FC.DOMAIN_EXPIRING: "el registro de su dominio vence pronto",
        FC.DOMAIN_EXPIRED: "el registro de su dominio venció",
        FC.MAIL_DOWN: "el servicio de correo no responde",
        FC.MAIL_TLS_EXPIRED: "el certificado de seguridad del correo venció",
        FC.MAIL_TLS_INVALID: "la conexión segura del correo no es válida",
        FC.MAIL_TLS_EXPIRING: "el certificado de seguridad del correo vence pronto",
        FC.ACCESS_DOWN: "el acceso al servidor (SSH, FTP o cPanel) no responde",
        FC.ACCESS_TLS_INVALID: "el acceso seguro al servidor (FTP o cPanel) no es válido",
    },
}
PRIORITIES = {
    "en": {Priority.LOW: "low", Priority.MEDIUM: "medium", Priority.HIGH: "high"},
    "es": {Priority.LOW: "baja", Priority.MEDIUM: "media", Priority.HIGH: "alta"},
}
IMPACTS = {
    "en": {"low": "low", "medium": "medium", "high": "high"},
    "es": {"low": "bajo", "medium": "medio", "high": "alto"},
}
NONE = {"en": "none", "es": "ninguno"}


def lang_of(lang: str | None) -> str:
    return "es" if (lang or "").lower().startswith("es") else "en"


def failure_text(failure_class: FailureClass | None, lang: str, fallback: str = "") -> str:
    """What the failure means for the customer, or `fallback` for a class without words."""
    if failure_class is None:
        return fallback
    return FAILURES[lang_of(lang)].get(failure_class, fallback or str(failure_class))


def local_time(at: datetime | None, timezone: str) -> str:
    """`2026-05-12 14:00 (America/Bogota)`: an instant in the desk's own time zone."""
    if at is None:
        return "-"
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone, timezone = ZoneInfo("UTC"), "UTC"
    return f"{at.astimezone(zone):%Y-%m-%d %H:%M} ({timezone})"


def duration_text(seconds: float) -> str:
    """`3 min`, `1 h 20 min`, `2 d 4 h`: whole minutes, for people (`0 min` under one)."""
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


__all__ = [
    "FAILURES",
    "IMPACTS",
    "NONE",
    "PRIORITIES",
    "duration_text",
    "failure_text",
    "lang_of",
    "local_time",
]
