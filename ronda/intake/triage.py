"""Scope triage of a customer's message, in Spanish and English: which category, which
priority to suggest, and whether the contract covers it or it is billed by the hour.

Pure rules built from the contract's catalogue (seed/support-scope.es.txt). Each rule names
keywords (accent- and case-insensitive whole words, `*` at a word's end for a prefix,
punctuation between words ignored) or regular expressions (`re:` prefix, matched against
the lower-cased text without accents) and sets any of category, priority and scope. Rules
are read in order and, for each of the three fields, the first matching rule that sets it
wins; the agency's `[[mail.rules]]` come before the defaults, so they override them. The
result is a suggestion: agents change it.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ronda.config import Customer, Site
from ronda.model import CATEGORIES, SCOPES, Impact, Priority

DEFAULT_PRIORITY = Priority.MEDIUM


class RuleError(ValueError):
    """Rules that cannot be used; `problems` names each by its `mail.rules[i]` position."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def fold(text: str) -> str:
    """Lower case without accents: "Caído" and "caido" read the same."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_WORD = re.compile(r"\w+")
_TERM_WORD = re.compile(r"\w+\*?")

# A keyword as words, each (word, is_prefix): "programada* no se public*" ->
# (("programada", True), ("no", False), ("se", False), ("public", True)).
Phrase = tuple[tuple[str, bool], ...]


def _phrase(term: str) -> Phrase:
    return tuple((w.rstrip("*"), w.endswith("*")) for w in _TERM_WORD.findall(fold(term)))


class Text:
    """A message folded and split into words once, for every rule to look up."""

    __slots__ = ("folded", "words", "at", "vocabulary")

    def __init__(self, text: str) -> None:
        self.folded = fold(text)
        self.words = _WORD.findall(self.folded)
        self.at: dict[str, list[int]] = {}
        for index, word in enumerate(self.words):
            self.at.setdefault(word, []).append(index)
        self.vocabulary = sorted(self.at)

    def _starts(self, word: str, prefix: bool) -> list[int]:
        if not prefix:
            return self.at.get(word, [])
        found: list[int] = []
        i = bisect_left(self.vocabulary, word)
        while i < len(self.vocabulary) and self.vocabulary[i].startswith(word):
            found.extend(self.at[self.vocabulary[i]])
            i += 1
        return found

    def has(self, phrase: Phrase) -> bool:
        """The words of `phrase` appear in a row (punctuation between them is ignored)."""
        if not phrase:
            return False
        (first, first_prefix), rest = phrase[0], phrase[1:]
        words = self.words
        for start in self._starts(first, first_prefix):
            if start + len(rest) >= len(words):
                continue
            for offset, (word, prefix) in enumerate(rest, start=start + 1):
                candidate = words[offset]
                if not (candidate.startswith(word) if prefix else candidate == word):
                    break
            else:
                return True
        return False


@dataclass(frozen=True, slots=True)
class Rule:
    """`match`: keywords or `re:` regexes; any of the three fields may be None."""

    name: str
    match: tuple[str, ...]
    category: str | None = None
    priority: Priority | None = None
    scope: str | None = None
    # Built once: keywords as word sequences (looked up, no scan per keyword) and the
    # `re:` terms as one alternation over the folded text.
    phrases: tuple[Phrase, ...] = field(init=False, repr=False, compare=False)
    regex: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        patterns = [t[3:] for t in self.match if t.startswith("re:")]
        phrases = tuple(_phrase(t) for t in self.match if not t.startswith("re:"))
        regex = re.compile("|".join(f"(?:{p})" for p in patterns), re.I) if patterns else None
        object.__setattr__(self, "phrases", tuple(p for p in phrases if p))  # frozen: once
        object.__setattr__(self, "regex", regex)

    def matches(self, text: Text) -> bool:
        if any(text.has(phrase) for phrase in self.phrases):
            return True
        return self.regex is not None and self.regex.search(text.folded) is not None


@dataclass(frozen=True, slots=True)
class Triage:
    """The suggestion an agent sees on the ticket (evidence `triage`)."""

    category: str | None
    priority: Priority
    scope: str  # one of SCOPES, or "unknown" when no rule said anything about scope
    matched_rules: tuple[str, ...]

    @property
    def billable(self) -> bool:
        return self.scope == "billable"

    def as_evidence(self) -> dict:
        return {
            "category": self.category,
            "priority": str(self.priority),
            "scope": self.scope,
            "matched_rules": list(self.matched_rules),
        }


def _r(
    name: str,
    match: Iterable[str],
    *,
    category: str | None = None,
    priority: Priority | None = None,
    scope: str | None = None,
) -> Rule:
    return Rule(name, tuple(match), category, priority, scope)


H, M, L = Priority.HIGH, Priority.MEDIUM, Priority.LOW

# Order matters per field (first match wins): covered items that look like billable work
# first, then what makes a case high, billable and refused work, medium, specific
# categories before generic ones, and the low hints last.
DEFAULT_RULES: tuple[Rule, ...] = (
    # -- covered items whose words overlap billable work ------------------------------------
    _r(
        "scheduled_posts",
        [
            "publicaciones programadas",
            "entradas programadas",
            "programada* no se public*",
            "scheduled post*",
            "missed schedule",
        ],
        category="wordpress",
        scope="covered",
    ),
    _r(
        "wp_updates",
        [
            "actualizacion de plugins",
            "actualizar plugins",
            "actualizacion de wordpress",
            "actualizar wordpress",
            "version de wordpress",
            "plugin update*",
            "update plugins",
            "update wordpress",
            "wordpress update*",
        ],
        category="wordpress",
        priority=L,
        scope="covered",
    ),
    _r(
        "mail_protocols",
        ["imap", "pop3", "pop 3", "smtp"],
        category="email",
        scope="covered",
    ),
    # -- high: the service is down, broken or attacked ---------------------------------------
    _r(
        "site_down",
        [
            "caido",
            "caida",
            "se cayo",
            "esta abajo",
            "fuera de linea",
            "fuera de servicio",
            # The site itself does not load ("no carga el panel de widgets" is not down).
            r"re:\b(?:sitio|pagina|web|tienda|portal|dominio)\b.{0,25}?\bno (?:carga|abre|funciona"
            r"|responde|esta disponible)\b",
            r"re:\bno (?:carga|abre|funciona)\b.{0,10}?\b(?:el|la|mi|nuestro|nuestra) "
            r"(?:sitio|pagina|web|tienda|portal)\b",
            "servicio no disponible",
            "intermiten*",
            "is down",
            "site down",
            "website down",
            "server down",
            "went down",
            r"re:\b(?:site|website|page|shop|store|homepage)\b.{0,25}?\b(?:is not loading"
            r"|not loading|won'?t load|doesn'?t load|does not load|is not working|not working)\b",
            "offline",
            "unreachable",
            "not responding",
            "service unavailable",
            "bad gateway",
            r"re:\b(?:error|http)\s*50[0-4]\b",
            r"re:\b50[0-4]\s+(?:error|bad gateway|service)",
            "tiempo de espera",
            "timed out",
            "timeout",
            "time out",
        ],
        priority=H,
    ),
    _r(
        "wordpress_broken",
        [
            "error al establecer una conexion",
            "error de conexion con la base de datos",
            "error de conexion con base de datos",
            "establishing a database connection",
            "pantalla blanca",
            "pantallazo blanco",
            "pagina en blanco",
            "white screen",
            "whitescreen",
            "blank page",
            "error critico",
            "critical error",
            "error fatal",
            "fatal error",
            "error de sintaxis",
            "syntax error",
            "parse error",
            "tiempo maximo de ejecucion",
            "maximum execution time",
            "loop de redireccion",
            "bucle de redireccion",
            "redirect loop",
            "too many redirects",
            "demasiadas redirecciones",
        ],
        category="wordpress",
        priority=H,
    ),
    _r(
        "attack",
        [
            "hackea*",
            "hacked",
            "hacker*",
            "ataque",
            "attack*",
            "malware",
            "virus",
            "ddos",
            "infectad*",
            "infected",
            "phishing",
            "defaced",
            "inyeccion",
            "injection",
        ],
        category="hosting",
        priority=H,
    ),
    _r(
        "ssl_broken",
        [
            "certificado vencido",
            "certificado expirado",
            "certificado caducado",
            "no es privada",
            "no es segura",
            "sitio inseguro",
            "marca como inseguro",
            "marcado como inseguro",
            "not private",
            "not secure",
            "certificate expired",
            "expired certificate",
            "insecure",
        ],
        category="hosting",
        priority=H,
    ),
    _r(
        "activation_payment",
        [
            "activacion de nuevo servicio",
            "activar el nuevo servicio",
            "activar nuevo servicio",
            "pago para activacion",
            "activate the new service",
            "activate new service",
            "payment to activate",
        ],
        priority=H,
    ),
    # -- billed by the hour -------------------------------------------------------------------
    _r(
        "publish_content",
        [
            "publicar",
            "publicacion de",
            "subir contenido",
            "subir productos",
            "cargar productos",
            "agregar productos",
            "anadir productos",
            "crear productos",
            "nueva entrada",
            "nuevo post",
            "subir un banner",
            "banner*",
            "cambiar textos",
            "cambiar el texto",
            "actualizar contenido",
            "actualizar el contenido",
            "publish",
            "add products",
            "upload products",
            "new blog post",
            "update the content",
            "change the text",
            "content update*",
        ],
        priority=L,
        scope="billable",
    ),
    _r(
        "shop_management",
        [
            "gestion de tienda",
            "gestion de la tienda",
            "gestionar la tienda",
            "administrar la tienda",
            "administracion de la tienda",
            "cambiar precios",
            "actualizar precios",
            "manage my shop",
            "manage the shop",
            "manage my store",
            "manage the store",
            "shop management",
            "store management",
            "update prices",
            "change prices",
        ],
        category="woocommerce",
        priority=L,
        scope="billable",
    ),
    _r(
        "migration",
        [
            "migra*",
            "trasladar el sitio",
            "mover el sitio",
            "mover mi sitio",
            "traslado",
            "move my site",
            "move the site",
            "transfer my website",
        ],
        category="hosting",
        priority=L,
        scope="billable",
    ),
    _r(
        "integration",
        [
            "integracion*",
            "integrar",
            "integration*",
            "integrate",
            "api de terceros",
            "third-party api",
            "third party api",
            "zapier",
            "crm",
            "erp",
        ],
        priority=L,
        scope="billable",
    ),
    _r(
        "third_party_dns",
        [
            "dns de terceros",
            "dns externo",
            "otro proveedor de dns",
            "third-party dns",
            "third party dns",
            "external dns",
            "cloudflare",
            "godaddy",
            "namecheap",
            "route 53",
            "route53",
        ],
        category="domain",
        scope="billable",
    ),
    _r(
        "remote_session",
        [
            "anydesk",
            "teamviewer",
            "sesion remota",
            "conexion remota",
            "escritorio remoto",
            "acceso remoto a mi",
            "remote session",
            "remote desktop",
            "remote access to my",
            "screen sharing",
            "compartir pantalla",
        ],
        priority=L,
        scope="billable",
    ),
    _r(
        "foreign_plugin_security",
        [
            "plugin que instale",
            "plugins que instale",
            "plugin que yo instale",
            "nulled",
            "plugin pirata",
            "plugin i installed",
            "plugins i installed",
        ],
        scope="billable",
    ),
    # -- refused or best effort ---------------------------------------------------------------
    _r(
        "pst_olm",
        [
            ".pst",
            ".olm",
            "archivo pst",
            "archivo olm",
            "pst file",
            "olm file",
            "exportar correos",
            "importar correos",
            "export my emails",
            "import my emails",
        ],
        category="email",
        priority=L,
        scope="unsupported",
    ),
    _r(
        "mail_client",
        [
            "outlook",
            "thunderbird",
            "apple mail",
            "mail de iphone",
            "cliente de correo",
            "email client",
            "mail client",
        ],
        category="email",
        priority=L,
        scope="unsupported",
    ),
    _r(
        "network",
        [
            "mi red",
            "mi internet",
            "mi wifi",
            "wifi",
            "router",
            "modem",
            "mi conexion a internet",
            "my network",
            "my internet",
            "internet connection",
            "my wifi",
        ],
        priority=L,
        scope="unsupported",
    ),
    _r(
        "write_emails",
        [
            "redactar",
            "redactarme",
            "escribir un correo",
            "write an email for",
            "write the email",
            "draft an email",
        ],
        category="email",
        priority=L,
        scope="unsupported",
    ),
    _r(
        "local_folders",
        [
            "carpetas locales",
            "carpetas en mi correo",
            "crear carpetas",
            "local folders",
            "create folders",
        ],
        category="email",
        priority=L,
        scope="unsupported",
    ),
    _r(
        "advanced_dns",
        ["zona avanzada", "configuracion avanzada de dns", "advanced dns", "advanced zone"],
        category="domain",
        scope="unsupported",
    ),
    # -- medium: continuity partly affected ---------------------------------------------------
    _r(
        "ip_block",
        [
            "bloqueo de ip",
            "ip bloqueada",
            "desbloque*",
            "bloquearon mi ip",
            "firewall",
            "ip blocked",
            "blocked ip",
            "unblock*",
            "blocked my ip",
        ],
        category="hosting",
        priority=M,
    ),
    _r(
        "suspension",
        ["suspendid*", "suspension", "reactivacion", "reactivar", "suspended", "reactivat*"],
        category="hosting",
        priority=M,
    ),
    _r(
        "data_loss",
        [
            "backup",
            "copia de seguridad",
            "restaurar",
            "restauracion",
            # Lost data, not a lost password (that one is low).
            r"re:\b(?:perdi|perdimos|se perdi[oe]|perdida de)\b.{0,40}?\b(?:informacion|datos"
            r"|archivos|correos|fotos|imagenes|contenido|base de datos|productos|pedidos)\b",
            "borre",
            "se borro",
            "se borraron",
            "eliminado por error",
            "restore",
            "lost data",
            r"re:\blost (?:my|all|the|our) (?:data|files|emails|mails|database|content|posts)\b",
            "deleted by mistake",
            "accidentally deleted",
        ],
        category="hosting",
        priority=M,
    ),
    _r("licence", ["licencia*", "license*", "licence*"], priority=M),
    _r(
        "mail_dns",
        [
            "registro mx",
            "registros mx",
            "mx record*",
            "spf",
            "dkim",
            "dmarc",
            "registro txt",
            "txt record*",
            "registro srv",
            "srv record*",
        ],
        category="email",
        priority=M,
    ),
    _r(
        "dns_config",
        [
            "dns",
            "zona dns",
            "dns zone",
            "nameserver*",
            "servidores de nombre*",
            "registro a",
            "a record",
            "cname",
        ],
        category="domain",
        priority=M,
    ),
    _r(
        "slow",
        [
            "lento",
            "lenta",
            "lentitud",
            "demora en cargar",
            "tarda mucho",
            "slow",
            "slowly",
            "takes forever",
        ],
        category="wordpress",
        priority=M,
    ),
    _r(
        "page_errors",
        [
            r"re:\b(?:error|http)\s*40[34]\b",
            "pagina no encontrada",
            "page not found",
            "forbidden",
            "acceso denegado",
            "access denied",
            "permission denied",
        ],
        category="wordpress",
        priority=M,
    ),
    _r(
        "notification_mail",
        [
            "no llegan los correos",
            "no llegan las notificaciones",
            "correos de notificacion",
            "notificaciones de pedidos",
            "no recibo notificaciones",
            "notification email*",
            "notifications are not",
            "not receiving notification*",
            "wp mail",
        ],
        category="email",
        priority=M,
    ),
    _r(
        "image_upload",
        [
            "carga de imagenes",
            "subir imagenes",
            "subir una imagen",
            "upload image*",
            "image upload*",
            "media library",
            "biblioteca de medios",
        ],
        category="wordpress",
        priority=M,
    ),
    # -- categories (specific before generic) -------------------------------------------------
    _r(
        "woocommerce",
        [
            "woocommerce",
            "woo commerce",
            "carrito",
            "pasarela de pago",
            "metodo* de envio",
            "metodos de pago",
            "formulario de compra*",
            "stock",
            "inventario",
            "pedido*",
            "productos",
            "products",
            "checkout",
            "cart",
            "shipping method*",
            "payment gateway",
            "orders",
            "tienda",
            "shop",
            "store",
        ],
        category="woocommerce",
        priority=M,
    ),
    _r(
        "elementor",
        [
            "elementor",
            "panel de widgets",
            "widgets",
            "generador de temas",
            "theme builder",
            "css personalizado",
            "custom css",
            "page builder",
            "constructor de paginas",
        ],
        category="elementor",
        priority=M,
    ),
    _r(
        "branding_marketing",
        [
            "branding",
            "marketing",
            "logo",
            "logotipo",
            "identidad de marca",
            "seo",
            "posicionamiento",
            "redes sociales",
            "social media",
            "campana*",
            "campaign*",
            "publicidad",
            "google ads",
            "facebook ads",
            "desarrollo de negocio*",
            "business development",
            "advertising",
        ],
        category="branding_marketing",
        priority=L,
        scope="general",
    ),
    _r(
        "email",
        [
            "correo*",
            "email*",
            "e-mail*",
            "buzon",
            "mailbox",
            "webmail",
            "spam",
            "reenviador*",
            "forwarder*",
            "autorespuesta*",
            "autoresponder*",
            "auto-responder",
            "spam experts",
        ],
        category="email",
    ),
    _r(
        "domain",
        [
            "dominio*",
            "subdominio*",
            "domain*",
            "subdomain*",
            "aparcar",
            "parking",
            "redireccion de dominio",
            "domain redirect*",
            "whois",
        ],
        category="domain",
    ),
    _r(
        "hosting",
        [
            "cpanel",
            "hosting",
            "alojamiento",
            "ftp",
            "sftp",
            "ssh",
            "php",
            "base de datos",
            "database",
            "mysql",
            "phpmyadmin",
            "servidor",
            "server",
            "ssl",
            "certificado",
            "certificate",
            "https",
        ],
        category="hosting",
    ),
    _r(
        "wordpress",
        [
            "wordpress",
            "wp-admin",
            "wp-login",
            "wp admin",
            "plugin*",
            "tema",
            "theme",
            "entrada*",
            "blog",
            "pagina",
            "page",
            "sitio web",
            "website",
            "web",
        ],
        category="wordpress",
    ),
    # -- low: does not affect continuity ------------------------------------------------------
    _r(
        "password",
        [
            "contrasena*",
            "clave",
            "password*",
            "restablecer",
            "olvide",
            "recuperar acceso",
            "cambio de clave",
            "reset",
            "forgot",
            "credenciales",
            "credentials",
            "acceso al panel",
            "panel access",
            "login details",
        ],
        priority=L,
    ),
    _r(
        "how_to",
        [
            "como puedo",
            "como hago",
            "como se",
            "instrucciones",
            "guia",
            "tutorial",
            "manual",
            "how do i",
            "how can i",
            "how to",
            "instructions",
            "guide",
        ],
        priority=L,
    ),
    _r(
        "reports",
        [
            "logs",
            "registro de errores",
            "informe*",
            "reporte de pago",
            "comprobante de pago",
            "soporte de pago",
            "renovacion",
            "factura",
            "error log*",
            "access log*",
            "payment receipt",
            "invoice",
            "renewal",
            "report",
        ],
        priority=L,
    ),
)


def _text_list(value: object, where: str, problems: list[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not value:
        problems.append(f"{where}: expected a non-empty list of keywords or 're:' patterns")
        return ()
    out: list[str] = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            problems.append(f"{where}[{i}]: expected a non-empty string, got {item!r}")
            continue
        if item.startswith("re:"):
            try:
                re.compile(item[3:])
            except re.error as exc:
                problems.append(f"{where}[{i}]: invalid regular expression {item[3:]!r}: {exc}")
                continue
        out.append(item)
    return tuple(out)


def compile_rules(entries: Iterable[Mapping | Rule]) -> tuple[Rule, ...]:
    """The agency's `[[mail.rules]]` tables -> rules, checked; raises `RuleError` listing
    every problem. Keys: match (required), name, category, priority, scope."""
    rules: list[Rule] = []
    problems: list[str] = []
    for index, entry in enumerate(entries):
        where = f"mail.rules[{index}]"
        if isinstance(entry, Rule):
            rules.append(entry)
            continue
        if not isinstance(entry, Mapping):
            problems.append(f"{where}: expected a table, got {type(entry).__name__}")
            continue
        unknown = set(entry) - {"name", "match", "category", "priority", "scope"}
        if unknown:
            problems.append(f"{where}: unknown keys {', '.join(sorted(unknown))}")
        match = _text_list(entry.get("match"), f"{where}.match", problems)
        category = entry.get("category")
        if category is not None and category not in CATEGORIES:
            problems.append(
                f"{where}.category: expected one of {', '.join(CATEGORIES)}, got {category!r}"
            )
        priority = entry.get("priority")
        if priority is not None and priority not in {p.value for p in Priority}:
            problems.append(f"{where}.priority: expected low, medium or high, got {priority!r}")
        scope = entry.get("scope")
        if scope is not None and scope not in SCOPES:
            problems.append(f"{where}.scope: expected one of {', '.join(SCOPES)}, got {scope!r}")
        if category is None and priority is None and scope is None:
            problems.append(f"{where}: sets none of category, priority, scope")
        rules.append(
            Rule(
                name=str(entry.get("name") or f"config_{index}"),
                match=match,
                category=category,
                priority=Priority(priority) if priority in {p.value for p in Priority} else None,
                scope=scope,
            )
        )
    if problems:
        raise RuleError(problems)
    return tuple(rules)


def rules_for(config_rules: Iterable[Mapping | Rule] = ()) -> tuple[Rule, ...]:
    """The agency's rules first (they override), then the defaults."""
    return compile_rules(config_rules) + DEFAULT_RULES


def triage(subject: str, body: str, rules: Iterable[Rule] = DEFAULT_RULES) -> Triage:
    """Suggest category, priority and scope for a message from its subject and body."""
    text = Text(f"{subject}\n{body}")
    category: str | None = None
    priority: Priority | None = None
    scope: str | None = None
    matched: list[str] = []
    for rule in rules:
        if not rule.matches(text):
            continue
        matched.append(rule.name)
        if category is None and rule.category is not None:
            category = rule.category
        if priority is None and rule.priority is not None:
            priority = rule.priority
        if scope is None and rule.scope is not None:
            scope = rule.scope
    if scope is None:
        scope = "covered" if matched else "unknown"
    return Triage(category, priority or DEFAULT_PRIORITY, scope, tuple(matched))


# ---- who wrote, about which site ---------------------------------------------------------


def match_customer(customers: Iterable[Customer], address: str | None) -> Customer | None:
    """The customer of a sender: an exact address first, then the longest matching domain
    (a subdomain of a listed domain counts)."""
    if not address or "@" not in address:
        return None
    address = address.strip().lower()
    domain = address.rpartition("@")[2]
    best: tuple[int, Customer] | None = None
    for customer in customers:
        if address in (e.strip().lower() for e in customer.emails):
            return customer
        for listed in customer.domains:
            listed = listed.strip().lower().lstrip("@")
            if domain == listed or domain.endswith("." + listed):
                if best is None or len(listed) > best[0]:
                    best = (len(listed), customer)
    return best[1] if best else None


def _host(url: str) -> str:
    host = (urlsplit(url if "//" in url else f"//{url}").hostname or "").lower()
    return host.removeprefix("www.")


def match_site(
    sites: Iterable[Site], customer: Customer | None, subject: str, body: str
) -> Site | None:
    """The site a message is about: one whose host name it mentions (the customer's own
    first), else the customer's only site."""
    text = f"{subject}\n{body}".lower()
    own = [s for s in sites if customer is not None and s.customer == customer.name]
    candidates = own + [s for s in sites if s not in own]
    for site in candidates:
        host = _host(site.url)
        if host and re.search(rf"(?<![\w.-]){re.escape(host)}(?![\w-])", text):
            return site
    return own[0] if len(own) == 1 else None


def impact_for(site: Site | None) -> Impact:
    return site.impact if site is not None else Impact.MEDIUM


__all__ = [
    "CATEGORIES",
    "DEFAULT_RULES",
    "Rule",
    "RuleError",
    "SCOPES",
    "Triage",
    "compile_rules",
    "fold",
    "impact_for",
    "match_customer",
    "match_site",
    "rules_for",
    "triage",
]
