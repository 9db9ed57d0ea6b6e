"""Scope triage tables in Spanish and English, the agency's own rules, and who wrote."""

from __future__ import annotations

import unicodedata

import pytest

from ronda.config import Customer, Site
from ronda.intake.triage import (
    Rule,
    RuleError,
    compile_rules,
    default_rules,
    fold,
    match_customer,
    match_site,
    rules_for,
    triage,
)
from ronda.model import Impact, Priority

H, M, L = Priority.HIGH, Priority.MEDIUM, Priority.LOW

# (subject, body, category, priority, scope)
SPANISH = [
    ("Sitio caído", "Mi página no carga desde ayer", "wordpress", H, "covered"),
    ("Urgente", "La web muestra Error 503 servicio no disponible", "wordpress", H, "covered"),
    ("Pantallazo blanco", "Después de actualizar sale todo en blanco", "wordpress", H, "covered"),
    ("Error", "Error al establecer una conexión con la base de datos", "wordpress", H, "covered"),
    ("Nos hackearon", "El sitio tiene malware y redirige a otra página", "hosting", H, "covered"),
    ("Certificado", "Chrome dice que la conexión no es privada", "hosting", H, "covered"),
    ("Olvidé mi contraseña", "No recuerdo la clave del wp-admin", "wordpress", L, "covered"),
    ("Contraseña correo", "Necesito restablecer la contraseña del correo", "email", L, "covered"),
    ("IP bloqueada", "El firewall bloqueó mi IP de la oficina", "hosting", M, "covered"),
    ("Restaurar", "Borré una página, ¿pueden restaurar un backup?", "hosting", M, "covered"),
    ("Registros MX", "Necesito configurar SPF y DKIM para el correo", "email", M, "covered"),
    ("Lentitud", "El sitio está muy lento", "wordpress", M, "covered"),
    ("Carrito", "WooCommerce: el carrito no suma el envío", "woocommerce", M, "covered"),
    ("Elementor", "No carga el panel de widgets de Elementor", "elementor", M, "covered"),
    ("Programadas", "Las publicaciones programadas no se publican", "wordpress", M, "covered"),
    (
        "Actualización mensual",
        "¿Cuándo hacen la actualización de plugins?",
        "wordpress",
        L,
        "covered",
    ),
    ("Publicar productos", "Por favor publicar 20 productos nuevos", "woocommerce", L, "billable"),
    ("Banner", "Necesito subir un banner en la portada", None, L, "billable"),
    (
        "Tienda",
        "Queremos que gestionen la tienda: gestión de tienda completa",
        "woocommerce",
        L,
        "billable",
    ),
    ("Migración", "Quiero migrar mi sitio desde otro hosting", "hosting", L, "billable"),
    ("DNS", "Tengo los DNS en Cloudflare y no resuelve el subdominio", "domain", M, "billable"),
    ("Conexión remota", "¿Me ayudan por AnyDesk a configurar?", None, L, "billable"),
    ("Outlook", "No puedo configurar mi cuenta en Outlook", "email", L, "unsupported"),
    ("Correos .pst", "Necesito importar un archivo .pst", "email", L, "unsupported"),
    ("Internet", "Mi wifi de la oficina está fallando", None, L, "unsupported"),
    (
        "Logo",
        "Quiero una campaña en redes sociales y un logo nuevo",
        "branding_marketing",
        L,
        "general",
    ),
    ("Factura", "Adjunto el comprobante de pago de la renovación", None, L, "covered"),
    ("Dominio", "Quiero transferir mi dominio", "domain", M, "covered"),
]

ENGLISH = [
    ("Website down", "Our site is down since this morning", "wordpress", H, "covered"),
    ("502", "Getting 502 Bad Gateway on every page", "wordpress", H, "covered"),
    ("Help", "There has been a critical error on this website", "wordpress", H, "covered"),
    ("Hacked", "We think the site was hacked", "hosting", H, "covered"),
    ("Password reset", "I forgot my password for the control panel", None, L, "covered"),
    ("Blocked", "Our office IP is blocked by the firewall", "hosting", M, "covered"),
    ("Slow", "The website is very slow today", "wordpress", M, "covered"),
    (
        "Checkout",
        "The WooCommerce checkout does not show shipping methods",
        "woocommerce",
        M,
        "covered",
    ),
    ("Theme builder", "Elementor changes are not saved", "elementor", M, "covered"),
    ("Publish", "Please publish this blog post tomorrow", "wordpress", L, "billable"),
    ("Move", "We want to migrate our site from another host", "hosting", L, "billable"),
    ("CRM", "Can you integrate our CRM with the contact form?", None, L, "billable"),
    ("Thunderbird", "Thunderbird keeps asking for the password", "email", L, "unsupported"),
    ("SEO", "Can you help with SEO and social media?", "branding_marketing", L, "general"),
    ("How to", "How do I create a new mailbox?", "email", L, "covered"),
    ("IMAP", "IMAP settings for Outlook please", "email", L, "covered"),
]


@pytest.mark.parametrize(("subject", "body", "category", "priority", "scope"), SPANISH)
def test_spanish_triage(
    subject: str, body: str, category: str | None, priority: Priority, scope: str
) -> None:
    result = triage(subject, body)
    assert (result.category, result.priority, result.scope) == (category, priority, scope), (
        result.matched_rules
    )
    assert result.billable is (scope == "billable")


@pytest.mark.parametrize(("subject", "body", "category", "priority", "scope"), ENGLISH)
def test_english_triage(
    subject: str, body: str, category: str | None, priority: Priority, scope: str
) -> None:
    result = triage(subject, body)
    assert (result.category, result.priority, result.scope) == (category, priority, scope), (
        result.matched_rules
    )


def test_nothing_recognised_is_medium_and_unknown_scope() -> None:
    result = triage("Hola", "Gracias por todo")
    assert (result.category, result.priority, result.scope) == (None, M, "unknown")
    assert result.matched_rules == ()
    assert result.as_evidence() == {
        "category": None,
        "priority": "medium",
        "scope": "unknown",
        "matched_rules": [],
    }


def test_keywords_ignore_accents_case_and_match_whole_words() -> None:
    assert fold("CAÍDO Contraseña") == "caido contrasena"
    assert triage("SITIO CAÍDO", "").priority == H
    assert triage("sitio caido", "").priority == H
    # "offline" is a keyword, "offlineshop" is not; "download" does not contain "down".
    assert "site_down" not in triage("offlineshop download", "").matched_rules


@pytest.mark.parametrize(
    "text",
    ["Straße", "\u212a", "ﬁchero", "Ñandú", "ÉLAN", "naïve café", "ǅ", "x\u0301", "ascii Only", ""],
)
def test_fold_is_casefold_nfkd_without_combining_marks(text: str) -> None:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    assert fold(text) == "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def test_prefix_and_regex_terms() -> None:
    rules = compile_rules(
        [
            {"name": "stem", "match": ["factur*"], "scope": "billable"},
            {"name": "ticket_ref", "match": [r"re:\bpedido\s+#?\d{4,}\b"], "priority": "high"},
        ]
    )
    assert triage("Facturación", "", rules).scope == "billable"
    assert triage("", "El pedido #12345 no llegó", rules).priority == H
    assert triage("", "El pedido no llegó", rules).matched_rules == ()


def test_agency_rules_override_the_defaults() -> None:
    rules = rules_for([{"name": "migrations_included", "match": ["migra*"], "scope": "covered"}])
    result = triage("Migración", "Quiero migrar mi sitio", rules)
    assert result.scope == "covered" and not result.billable
    assert result.matched_rules[:2] == ("migrations_included", "migration")
    assert rules[-len(default_rules()) :] == default_rules()


def test_bad_rules_are_all_reported() -> None:
    with pytest.raises(RuleError) as caught:
        compile_rules(
            [
                {"match": ["ok"], "priority": "urgent"},
                {"match": [], "category": "wordpress"},
                {"match": ["re:(unclosed"], "scope": "maybe"},
                {"match": ["x"]},
                {"match": ["x"], "scope": "covered", "colour": "red"},
                "not a table",
            ]
        )
    problems = caught.value.problems
    assert any(p.startswith("mail.rules[0].priority") for p in problems)
    assert any(p.startswith("mail.rules[1].match") for p in problems)
    assert any(p.startswith("mail.rules[2].match[0]: invalid regular expression") for p in problems)
    assert any(p.startswith("mail.rules[2].scope") for p in problems)
    assert any(p.startswith("mail.rules[3]: sets none") for p in problems)
    assert any(p.startswith("mail.rules[4]: unknown keys colour") for p in problems)
    assert any(p.startswith("mail.rules[5]: expected a table") for p in problems)


def test_patterns_that_only_compile_alone_are_reported() -> None:
    """A rule runs its `re:` patterns as one alternation: a group name used by two of them
    is a problem of the rule, not an error escaping from `re`."""
    with pytest.raises(RuleError) as caught:
        compile_rules(
            [{"match": [r"re:(?P<n>\d+) pedidos", r"re:pedido (?P<n>\d+)"], "scope": "covered"}]
        )
    [problem] = caught.value.problems
    assert problem.startswith("mail.rules[0].match: the 're:' patterns do not compile together")


def test_rule_objects_pass_through() -> None:
    rule = Rule("mine", ("x",), priority=H)
    assert compile_rules([rule]) == (rule,)


CUSTOMERS = (
    Customer("Ana", emails=("ana@gmail.example",)),
    Customer("Acme", domains=("acme.example",)),
    Customer("Acme Labs", domains=("labs.acme.example",)),
)


@pytest.mark.parametrize(
    ("address", "customer"),
    [
        ("ana@gmail.example", "Ana"),
        ("ANA@Gmail.Example", "Ana"),
        ("otro@gmail.example", None),  # a shared mail domain is not a customer's
        ("luis@acme.example", "Acme"),
        ("luis@mail.acme.example", "Acme"),  # a subdomain of a listed domain
        ("eva@labs.acme.example", "Acme Labs"),  # the longest domain wins
        ("x@notacme.example", None),
        (None, None),
        ("not an address", None),
    ],
)
def test_match_customer(address: str | None, customer: str | None) -> None:
    found = match_customer(CUSTOMERS, address)
    assert (found.name if found else None) == customer


def test_match_site() -> None:
    sites = (
        Site("shop", "https://www.shop.acme.example/", customer="Acme", impact=Impact.HIGH),
        Site("blog", "https://blog.acme.example", customer="Acme"),
        Site("ana", "https://ana.example", customer="Ana"),
    )
    acme, ana = CUSTOMERS[1], CUSTOMERS[0]
    assert match_site(sites, acme, "shop.acme.example caído", "").name == "shop"
    assert match_site(sites, acme, "", "ver https://blog.acme.example/feed").name == "blog"
    assert match_site(sites, acme, "no carga", "") is None  # two sites, none named
    assert match_site(sites, ana, "no carga", "").name == "ana"  # the only one
    assert match_site(sites, None, "no carga", "") is None
    assert match_site(sites, None, "", "subshop.acme.example.org") is None
