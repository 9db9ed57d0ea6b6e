"""The report's words in English and Spanish, and amounts of time as people read them.
Pure. The template says what it shows with `t.<key>`; an agency template may use any key
here (and its own text)."""

from __future__ import annotations

from datetime import datetime, tzinfo

from ronda.model import SlaState

LANGS = ("en", "es")

MONTHS = {
    "en": (
        "January February March April May June July August September October November December"
    ).split(),
    "es": (
        "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre"
    ).split(),
}

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Monthly report",
        "for": "for",
        "period": "Period",
        "times_in": "Times in",
        "generated": "Generated",
        "summary": "Summary",
        "uptime": "Uptime",
        "uptime_sites": "Uptime per site",
        "uptime_definition": (
            "Uptime is the time a site was up divided by the month's time outside its "
            "maintenance windows and outside the periods it was not measured (the monitor "
            "itself was stopped). Those periods are shown apart and count neither as up nor "
            "as down."
        ),
        "site": "Site",
        "down": "Down",
        "maintenance": "Maintenance",
        "unmeasured": "Not measured",
        "not_measured": "not measured",
        "daily": "Daily uptime",
        "incidents": "Incidents",
        "no_incidents": "No incidents this month.",
        "what": "What",
        "when": "When",
        "how_long": "How long",
        "case": "Case",
        "ongoing": "still down at the period's end",
        "tickets": "Cases",
        "no_tickets": "No cases this month.",
        "subject": "Subject",
        "priority": "Priority",
        "opened": "Opened",
        "first_response": "First response",
        "within": "Contract limit",
        "result": "Result",
        "status": "Status",
        "compliance": "Response-time compliance per priority",
        "compliance_note": (
            "A case counts in the month its first response was due or given; met when the "
            "first response came within the contract's time for its priority and impact."
        ),
        "met_of_due": "On time / due",
        "on_time": "First responses on time",
        "nothing_due": "nothing due",
        "hours": "Hours",
        "hours_logged": "Hours logged",
        "billable": "Billable",
        "included": "Included",
        "agent": "Agent",
        "date": "Date",
        "note": "Note",
        "time": "Time",
        "no_hours": "No time logged this month.",
        "total": "Total",
        "attention": "Needs attention next month",
        "no_attention": "Nothing expected to need attention.",
        "cert_expires": "Security certificate expires",
        "expired": "Security certificate expired",
        "yes": "yes",
        "no": "no",
        "none": "-",
        "sites": "Sites",
        "site_or_domain": "Site or domain",
        "page": "Page",
    },
    "es": {
        "title": "Informe mensual",
        "for": "para",
        "period": "Periodo",
        "times_in": "Horas en",
        "generated": "Generado",
        "summary": "Resumen",
        "uptime": "Disponibilidad",
        "uptime_sites": "Disponibilidad por sitio",
        "uptime_definition": (
            "La disponibilidad es el tiempo que un sitio estuvo en línea dividido por el "
            "tiempo del mes fuera de sus ventanas de mantenimiento y fuera de los periodos "
            "sin medición (el monitor estaba detenido). Esos periodos se muestran aparte y "
            "no cuentan ni como en línea ni como caída."
        ),
        "site": "Sitio",
        "down": "Caído",
        "maintenance": "Mantenimiento",
        "unmeasured": "Sin medición",
        "not_measured": "sin medición",
        "daily": "Disponibilidad diaria",
        "incidents": "Incidentes",
        "no_incidents": "Ningún incidente este mes.",
        "what": "Qué",
        "when": "Cuándo",
        "how_long": "Duración",
        "case": "Caso",
        "ongoing": "seguía caído al cierre del periodo",
        "tickets": "Casos",
        "no_tickets": "Ningún caso este mes.",
        "subject": "Asunto",
        "priority": "Prioridad",
        "opened": "Abierto",
        "first_response": "Primera respuesta",
        "within": "Límite del contrato",
        "result": "Resultado",
        "status": "Estado",
        "compliance": "Cumplimiento del tiempo de respuesta por prioridad",
        "compliance_note": (
            "Un caso cuenta en el mes en que vencía o se dio su primera respuesta; se cumple "
            "cuando la primera respuesta llegó dentro del tiempo del contrato para su "
            "prioridad e impacto."
        ),
        "met_of_due": "A tiempo / debidas",
        "on_time": "Primeras respuestas a tiempo",
        "nothing_due": "sin respuestas debidas",
        "hours": "Horas",
        "hours_logged": "Horas registradas",
        "billable": "Facturable",
        "included": "Incluidas",
        "agent": "Agente",
        "date": "Fecha",
        "note": "Nota",
        "time": "Tiempo",
        "no_hours": "No se registró tiempo este mes.",
        "total": "Total",
        "attention": "Requiere atención el próximo mes",
        "no_attention": "Nada previsto que requiera atención.",
        "cert_expires": "El certificado de seguridad vence",
        "expired": "El certificado de seguridad venció",
        "yes": "sí",
        "no": "no",
        "none": "-",
        "sites": "Sitios",
        "site_or_domain": "Sitio o dominio",
        "page": "Página",
    },
}

# A case's first response, in the words of the SLA state the desk's one rule gives it.
STATES: dict[str, dict[SlaState, str]] = {
    "en": {
        SlaState.MET: "met",
        SlaState.MISSED: "missed",
        SlaState.NOT_DUE: "not due",
        SlaState.BREACHED: "overdue, unanswered",
        SlaState.WARNING: "open, within the limit",
        SlaState.OK: "open, within the limit",
        SlaState.PAUSED: "waiting on you",
    },
    "es": {
        SlaState.MET: "cumplido",
        SlaState.MISSED: "incumplido",
        SlaState.NOT_DUE: "no requería respuesta",
        SlaState.BREACHED: "vencido, sin respuesta",
        SlaState.WARNING: "abierto, dentro del límite",
        SlaState.OK: "abierto, dentro del límite",
        SlaState.PAUSED: "esperando su respuesta",
    },
}
STATUSES = {
    "en": {
        "new": "new",
        "open": "open",
        "pending_customer": "waiting on you",
        "resolved": "resolved",
        "closed": "closed",
        "reopened": "reopened",
    },
    "es": {
        "new": "nuevo",
        "open": "abierto",
        "pending_customer": "esperando su respuesta",
        "resolved": "resuelto",
        "closed": "cerrado",
        "reopened": "reabierto",
    },
}
# What needs attention, by the kind of item (`ronda.reports.attention`).
ATTENTION = {
    "en": {
        "certificate": "Security certificate expires",
        "domain": "Domain registration expires",
        "wordpress": "WordPress has an update to install",
        "php": "PHP is past (or near) the end of its security support",
    },
    "es": {
        "certificate": "Vence el certificado de seguridad",
        "domain": "Vence el registro del dominio",
        "wordpress": "WordPress tiene una actualización pendiente",
        "php": "PHP llega (o llegó) al fin de su soporte de seguridad",
    },
}
LESS_THAN_A_MINUTE = {"en": "under 1 min", "es": "menos de 1 min"}


def lang_of(lang: str | None) -> str:
    return "es" if (lang or "").lower().startswith("es") else "en"


def amount(seconds: float, lang: str = "en") -> str:
    """`1 h 15 min`, `45 min`, `26 h`: hours and whole minutes (no days: hours are what an
    invoice counts); `under 1 min` for less."""
    minutes = int(round(max(0.0, seconds)) // 60)
    if minutes == 0:
        return LESS_THAN_A_MINUTE[lang_of(lang)] if seconds > 0 else "0 min"
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    return f"{hours} h" if hours else f"{minutes} min"


def percent(ratio: float | None, lang: str = "en") -> str:
    """`99.95 %` (two decimals, floored so 99.999 never reads as 100 %); `-` for none."""
    if ratio is None:
        return "-"
    value = int(ratio * 10000) / 100
    text = f"{value:.2f}"
    return (text.replace(".", ",") if lang_of(lang) == "es" else text) + " %"


def month_name(year: int, month: int, lang: str) -> str:
    name = MONTHS[lang_of(lang)][month - 1]
    return f"{name} {year}" if lang_of(lang) == "en" else f"{name} de {year}"


def when(at: datetime | None, tz: tzinfo) -> str:
    """`2026-11-05 14:20`: an instant in the desk's zone (the report's header names it)."""
    return "-" if at is None else at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def day(at: datetime, tz: tzinfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d")


__all__ = [
    "ATTENTION",
    "LANGS",
    "STATES",
    "STATUSES",
    "TEXT",
    "amount",
    "day",
    "lang_of",
    "month_name",
    "percent",
    "when",
]
