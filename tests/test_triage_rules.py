"""Ronda's own triage rules, package data: what they decide on real messages (pinned), that
the file is in the shape of the agency's `[[mail.rules]]`, how a broken file is reported, and
that a built package carries it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ronda.config import parse_config
from ronda.intake import triage as triage_module
from ronda.intake.triage import RULES_FILE, RuleError, compile_rules, default_rules, triage
from ronda.model import Priority

ROOT = Path(__file__).resolve().parents[1]

# What the rules decided when they moved from Python to triage_rules.toml, on the subjects of
# test_mail_triage.py and on lines of the contract's catalogue (its covered, billable and
# refused items, and its examples of each priority). Each message (`subject | body`, or a
# subject alone; indented lines continue it) is followed by `= category priority scope:
# matched rules` (`-`: no category). Some catalogue lines are not recognised, or not scoped
# as the catalogue scopes them: they are pinned as they are. A change to the rules that
# changes a row is a change of behaviour: make it on purpose and update the row.
PINNED = """\
Sitio caído | Mi página no carga desde ayer
  = wordpress high covered: site_down wordpress
Urgente | La web muestra Error 503 servicio no disponible
  = wordpress high covered: site_down wordpress
Pantallazo blanco | Después de actualizar sale todo en blanco
  = wordpress high covered: wordpress_broken
Error | Error al establecer una conexión con la base de datos
  = wordpress high covered: wordpress_broken hosting
Nos hackearon | El sitio tiene malware y redirige a otra página
  = hosting high covered: attack wordpress
Certificado | Chrome dice que la conexión no es privada
  = hosting high covered: ssl_broken hosting
Olvidé mi contraseña | No recuerdo la clave del wp-admin
  = wordpress low covered: wordpress password
Contraseña correo | Necesito restablecer la contraseña del correo
  = email low covered: email password
IP bloqueada | El firewall bloqueó mi IP de la oficina
  = hosting medium covered: ip_block
Restaurar | Borré una página, ¿pueden restaurar un backup?
  = hosting medium covered: data_loss wordpress
Registros MX | Necesito configurar SPF y DKIM para el correo
  = email medium covered: mail_dns email
Lentitud | El sitio está muy lento
  = wordpress medium covered: slow
Carrito | WooCommerce: el carrito no suma el envío
  = woocommerce medium covered: woocommerce
Elementor | No carga el panel de widgets de Elementor
  = elementor medium covered: elementor
Programadas | Las publicaciones programadas no se publican
  = wordpress medium covered: scheduled_posts
Actualización mensual | ¿Cuándo hacen la actualización de plugins?
  = wordpress low covered: wp_updates wordpress
Publicar productos | Por favor publicar 20 productos nuevos
  = woocommerce low billable: publish_content woocommerce
Banner | Necesito subir un banner en la portada
  = - low billable: publish_content
Tienda | Queremos que gestionen la tienda: gestión de tienda completa
  = woocommerce low billable: shop_management woocommerce
Migración | Quiero migrar mi sitio desde otro hosting
  = hosting low billable: migration hosting
DNS | Tengo los DNS en Cloudflare y no resuelve el subdominio
  = domain medium billable: third_party_dns dns_config domain
Conexión remota | ¿Me ayudan por AnyDesk a configurar?
  = - low billable: remote_session
Outlook | No puedo configurar mi cuenta en Outlook
  = email low unsupported: mail_client
Correos .pst | Necesito importar un archivo .pst
  = email low unsupported: pst_olm email
Internet | Mi wifi de la oficina está fallando
  = - low unsupported: network
Logo | Quiero una campaña en redes sociales y un logo nuevo
  = branding_marketing low general: branding_marketing
Factura | Adjunto el comprobante de pago de la renovación
  = - low covered: reports
Dominio | Quiero transferir mi dominio
  = domain medium covered: domain
Website down | Our site is down since this morning
  = wordpress high covered: site_down wordpress
502 | Getting 502 Bad Gateway on every page
  = wordpress high covered: site_down wordpress
Help | There has been a critical error on this website
  = wordpress high covered: wordpress_broken wordpress
Hacked | We think the site was hacked
  = hosting high covered: attack
Password reset | I forgot my password for the control panel
  = - low covered: password
Blocked | Our office IP is blocked by the firewall
  = hosting medium covered: ip_block
Slow | The website is very slow today
  = wordpress medium covered: slow wordpress
Checkout | The WooCommerce checkout does not show shipping methods
  = woocommerce medium covered: woocommerce
Theme builder | Elementor changes are not saved
  = elementor medium covered: elementor wordpress
Publish | Please publish this blog post tomorrow
  = wordpress low billable: publish_content wordpress
Move | We want to migrate our site from another host
  = hosting low billable: migration
CRM | Can you integrate our CRM with the contact form?
  = - low billable: integration
Thunderbird | Thunderbird keeps asking for the password
  = email low unsupported: mail_client password
SEO | Can you help with SEO and social media?
  = branding_marketing low general: branding_marketing
How to | How do I create a new mailbox?
  = email low covered: email how_to
IMAP | IMAP settings for Outlook please
  = email low covered: mail_protocols mail_client
Actualización mensual de Versión de WordPress.
  = wordpress low covered: wp_updates wordpress
Actualización mensual de Plugins.
  = wordpress medium covered: wordpress
Error de conexión con Base de Datos de WordPress.
  = wordpress high covered: wordpress_broken hosting wordpress
Error 403. Error de permiso de acceso.
  = wordpress medium covered: page_errors
Error 404. Página no encontrada.
  = wordpress medium covered: page_errors wordpress
Error 500. Error de respuesta de Servidor.
  = hosting high covered: site_down hosting
Error 502. Bad Gateway.
  = - high covered: site_down
Error 503. Servicio no disponible.
  = - high covered: site_down
«Whitescreen» o pantallazo blanco en dominio.
  = wordpress high covered: wordpress_broken domain
Pérdida de la contraseña de administrador.
  = - low covered: password
Error de tiempo de espera de conexión.
  = - high covered: site_down
Sitio web marcado como inseguro por Google u otros metabuscadores.
  = hosting high covered: ssl_broken wordpress
Error de sintaxis de WordPress o syntax error.
  = wordpress high covered: wordpress_broken wordpress
Error de fuente RSS.
  = - medium unknown:
Loop de redirección en Login.
  = wordpress high covered: wordpress_broken
Error en carga de imágenes.
  = wordpress medium covered: image_upload
Las publicaciones programadas no se publican en el momento correcto.
  = wordpress medium covered: scheduled_posts
Error en certificado SSL. Conexión no es privada y marca como sitio inseguro.
  = hosting high covered: ssl_broken hosting
Lentitud en el sitio web.
  = wordpress medium covered: slow wordpress
No se reciben correos de notificación de mi sitio web.
  = email medium covered: notification_mail email wordpress
Error fatal: Tiempo máximo de ejecución excedido.
  = wordpress high covered: wordpress_broken
Woocommerce: Los registros de compras no están notificándose en mis correos, ni en los de mis
  clientes.
  = woocommerce medium covered: woocommerce email
Woocommerce: Problemas funcionales en el Carrito de compras.
  = woocommerce medium covered: woocommerce
Woocommerce: Problemas funcionales en Métodos de envío.
  = woocommerce medium covered: woocommerce
Woocommerce: Problemas funcionales en el Formulario de compras.
  = woocommerce medium covered: woocommerce
Woocommerce: Problemas funcionales en Stock de producto.
  = woocommerce medium covered: woocommerce
Elementor: No carga el sistema de edición de páginas, cabecera, footer, plantillas y secciones.
  = elementor medium covered: elementor
Elementor: No carga el panel de widgets.
  = elementor medium covered: elementor
Elementor: No actualiza o no guarda los cambios. Error 500.
  = elementor high covered: site_down elementor
Elementor: El CSS personalizado no funciona.
  = elementor medium covered: elementor
Elementor: Conflicto del generador de temas.
  = elementor medium covered: elementor
Elementor: Los ajustes no aplican en el sitio web en vivo.
  = elementor medium covered: elementor wordpress
Publicación de banners, blogs, entradas, productos o cualquier contenido informativo del sitio
  web.
  = woocommerce low billable: publish_content woocommerce wordpress
Actualización y responsabilidad en seguridad informática por daños ocasionados por plugins NO
  instalados por la agencia.
  = wordpress medium covered: wordpress
Gestión de tienda online.
  = woocommerce low billable: shop_management woocommerce
Envío y recepción de email.
  = email medium covered: email
Crear y eliminar cuentas de email, incluidas las cuentas generales
  = email medium covered: email
Cambios de contraseñas y credenciales a cuentas desde Cpanel.
  = hosting low covered: hosting password
Configuración de registros MX, SPF, TXT, SRV para tu email.
  = email medium covered: mail_dns email
Configuración de reenviadores y autorespuestas de email.
  = email medium covered: email
Configurar protocolos IMAP y POP3 en tu cuenta de email, clientes, aplicaciones o scripts.
  = email medium covered: mail_protocols email
Configuración de Spam Experts para controlar el spam.
  = email medium covered: email
Configuración o resolución de problemas de clientes de email de terceros.
  = email medium covered: email
Solución de problemas de conexiones de red.
  = - medium unknown:
Redactar mensajes de email.
  = email low unsupported: write_emails email
Crear carpetas de email en sus clientes de correo locales.
  = email low unsupported: local_folders email
Importación y exportación de archivos .pst / .olm.
  = email low unsupported: pst_olm
Funcionamiento y acceso a Cpanel/Linux.
  = hosting medium covered: hosting
Configuración inicial y el uso de bases de datos.
  = - medium unknown:
Uso de FTP seguro, SSH y creación de clientes.
  = hosting medium covered: hosting
Configuración de las versiones de PHP.
  = hosting medium covered: hosting
Soporte técnico para resolver posibles errores de funcionamiento.
  = - medium unknown:
Asesoramiento en caso de incidentes de seguridad.
  = - medium unknown:
Servicio de limpieza del espacio web.
  = wordpress medium covered: wordpress
Resolución u orientación para la resolución de errores 500, 403, 503, etc.
  = - medium unknown:
Resolución de errores de correo electrónico desde webmail.
  = email medium covered: email
Desbloqueo de IP.
  = hosting medium covered: ip_block
Funcionamiento de plataforma 24/7.
  = - medium unknown:
Instalación y funcionamiento del Certificado SSL.
  = hosting medium covered: hosting
Migraciones e implementación de integraciones a espacios de terceros.
  = hosting low billable: migration integration
Gestión de bugs en la configuración DNS de terceros.
  = domain medium billable: third_party_dns dns_config
Conexiones remotas de ningún tipo con el usuario final
  = - medium unknown:
Registro o renovación de nombres de dominio.
  = domain low covered: domain reports
Transferencia de nombres de dominio.
  = domain medium covered: domain
Aparcar dominios y crear subdominios.
  = domain medium covered: domain
Configurar cuentas de email con tus nombres de dominio.
  = email medium covered: email domain
Gestión de registros de nombres de dominio.
  = domain medium covered: domain
Actualización de la información de contacto del nombre de dominio para los dominios registrados.
  = domain medium covered: domain
Crear o editar archivos de zona DNS.
  = domain medium covered: dns_config
Mapeo de dominio.
  = domain medium covered: domain
Redirección de dominio.
  = domain medium covered: domain
Modificación de archivos de zona para que funcionen con productos que no son de la agencia.
  = woocommerce medium covered: woocommerce
Configuración de archivos de zona avanzada.
  = domain medium unsupported: advanced_dns
Solución de problemas de registros de archivos de zona DNS de terceros.
  = domain medium billable: third_party_dns dns_config
Restablecimiento o cambios de contraseñas o acceso a paneles de control
  = - low covered: password
reportes de pago para renovación
  = - low covered: reports
solicitud de informes o logs
  = - low covered: reports
instrucciones o guía de uso de las herramientas o paneles de control
  = - low covered: how_to
Bloqueo de IP en el firewall
  = hosting medium covered: ip_block
reactivación de servicio por suspensión de pago
  = hosting medium covered: suspension
perdida de información o datos involuntaria del usuario
  = hosting medium covered: data_loss
restauración de backups
  = hosting medium covered: data_loss
errores de programación o bases de datos del usuario
  = - medium unknown:
errores de licenciamiento
  = - medium covered: licence
configuraciones de DNS
  = domain medium covered: dns_config
Caída del servicio o servidor
  = hosting high covered: site_down hosting
servicio no funcional o intermitencia prolongada
  = - high covered: site_down
ataque de un tercero o hacker
  = hosting high covered: attack
reportes de pago para activación de nuevo servicio
  = - high covered: activation_payment
"""


def _pinned(table: str) -> list[tuple[str, str, str | None, Priority, str, tuple[str, ...]]]:
    rows = []
    message: list[str] = []
    for line in table.splitlines():
        if line.startswith("  = "):
            fields, _, matched = line[4:].partition(":")
            category, priority, scope = fields.split()
            subject, _, body = " ".join(message).partition(" | ")
            rows.append(
                (
                    subject,
                    body,
                    None if category == "-" else category,
                    Priority(priority),
                    scope,
                    tuple(matched.split()),
                )
            )
            message = []
        else:
            message.append(line.strip())
    assert not message, "a message without its outcome"
    return rows


@pytest.mark.parametrize(
    ("subject", "body", "category", "priority", "scope", "matched"),
    _pinned(PINNED),
    ids=lambda value: value[:40] if isinstance(value, str) else None,
)
def test_triage_on_real_messages_is_pinned(
    subject: str,
    body: str,
    category: str | None,
    priority: Priority,
    scope: str,
    matched: tuple[str, ...],
) -> None:
    result = triage(subject, body)
    assert (result.category, result.priority, result.scope, result.matched_rules) == (
        category,
        priority,
        scope,
        matched,
    )


def test_the_pinned_table_is_read_as_written() -> None:
    rows = _pinned(PINNED)
    assert len(rows) == 133
    assert rows[0] == (
        "Sitio caído",
        "Mi página no carga desde ayer",
        "wordpress",
        Priority.HIGH,
        "covered",
        ("site_down", "wordpress"),
    )


def test_default_rules_are_read_once_from_the_package() -> None:
    assert RULES_FILE == Path(triage_module.__file__).with_name("triage_rules.toml")
    rules = default_rules()
    assert rules is default_rules()  # cached: the file is read and checked once
    assert len(rules) == 41
    assert len({rule.name for rule in rules}) == len(rules)
    assert triage("Sitio caído", "") == triage("Sitio caído", "", rules)


def test_the_file_is_in_the_shape_of_the_agencys_rules() -> None:
    """The defaults are `[[mail.rules]]` tables a config could hold: a rule can be copied
    into ronda.toml as it is."""
    config = parse_config(RULES_FILE.read_text(encoding="utf-8"), RULES_FILE)
    assert compile_rules(config.mail.rules) == default_rules()


def _load(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[triage_module.Rule, ...]:
    """default_rules() reading `path`, around its cache."""
    monkeypatch.setattr(triage_module, "RULES_FILE", path)
    return default_rules.__wrapped__()


BROKEN = """\
# Rules with mistakes of several kinds.
[[mail.rules]]
name = "ok"
priority = "high"
match = ["caido"]

[[mail.rules]]
name = "bad"
priority = "urgent"
match = [
    "uno",
    're:(unclosed',
]

[[mail.rules]]
name = "ok"
colour = "red"
match = []
"""


def test_a_broken_rules_file_names_file_line_rule_and_what_is_wrong(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "triage_rules.toml"
    path.write_text(BROKEN, encoding="utf-8")
    with pytest.raises(RuleError) as caught:
        _load(path, monkeypatch)
    assert caught.value.problems == [
        f"{path}:9: mail.rules[1].priority: 'urgent' is not a priority "
        "(expected low, medium or high)",
        f"{path}:12: mail.rules[1].match[1]: invalid regular expression '(unclosed': "
        "missing ), unterminated subpattern at position 0 "
        "(expected a Python regular expression after 're:')",
        f"{path}:15: mail.rules[2]: unknown keys colour "
        "(expected name, match, category, priority, scope)",
        f"{path}:15: mail.rules[2]: sets none of category, priority, scope (expected at least one)",
        f"{path}:16: mail.rules[2].name: 'ok' is the name of mail.rules[0] too "
        "(expected a unique name)",
        f"{path}:18: mail.rules[2].match: is empty "
        "(expected a non-empty list of keywords or 're:' patterns)",
    ]
    assert str(caught.value).startswith(f"{path}:9: mail.rules[1].priority")


def test_rules_file_syntax_and_reading_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "triage_rules.toml"
    path.write_text('[[mail.rules]]\nname = "x"\nmatch = ["open]\n', encoding="utf-8")
    with pytest.raises(RuleError) as caught:
        _load(path, monkeypatch)
    [problem] = caught.value.problems
    assert problem.startswith(f"{path}:3: (syntax): ") and problem.endswith("(expected valid TOML)")

    path.write_bytes(b'[[mail.rules]]\nname = "ca\xedda"\n')  # Latin-1, not UTF-8
    with pytest.raises(RuleError) as caught:
        _load(path, monkeypatch)
    assert caught.value.problems[0].startswith(f"{path}:0: (file): cannot read the file (")

    missing = tmp_path / "gone.toml"
    with pytest.raises(RuleError) as caught:
        _load(missing, monkeypatch)
    assert caught.value.problems == [
        f"{missing}:0: (file): cannot read the file (No such file or directory)"
    ]


def test_a_rules_file_holds_named_rules_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "triage_rules.toml"
    path.write_text('lang = "es"\n\n[mail]\nlisten = "127.0.0.1:25"\n', encoding="utf-8")
    with pytest.raises(RuleError) as caught:
        _load(path, monkeypatch)
    assert caught.value.problems == [
        f"{path}:1: lang: unknown key (expected only [[mail.rules]] tables)",
        f"{path}:3: mail.rules: no rules (expected [[mail.rules]] tables)",
        f"{path}:4: mail.listen: unknown key (expected only [[mail.rules]] tables)",
    ]

    path.write_text('[[mail.rules]]\nmatch = ["x"]\nscope = "covered"\n', encoding="utf-8")
    with pytest.raises(RuleError) as caught:
        _load(path, monkeypatch)
    assert caught.value.problems == [
        f"{path}:1: mail.rules[0]: has no name (expected a name: the triage evidence lists it)"
    ]

    path.write_text('[[mail.rules]]\nname = "x"\nmatch = ["x"]\nscope = "covered"\n')
    assert _load(path, monkeypatch) == compile_rules(
        [{"name": "x", "match": ["x"], "scope": "covered"}]
    )


def test_a_built_package_carries_the_rules_file(tmp_path: Path) -> None:
    """setuptools' build_py (the step that fills a wheel) on a copy of the sources."""
    source = tmp_path / "src"
    shutil.copytree(ROOT / "ronda", source / "ronda", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", source / "pyproject.toml")
    shutil.copy(ROOT / "README.md", source / "README.md")
    built = tmp_path / "build"
    run = subprocess.run(
        [sys.executable, "-c", "import setuptools; setuptools.setup()", "-q", "build_py"]
        + ["--build-lib", str(built)],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    carried = built / "ronda" / "intake" / "triage_rules.toml"
    assert carried.read_bytes() == RULES_FILE.read_bytes()
