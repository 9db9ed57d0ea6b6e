"""SMTP (25, 587 submission, 465 implicit TLS): the 220 greeting, EHLO, STARTTLS."""

from __future__ import annotations

from ronda.checks.services.session import Session, Stop, shown

EHLO_NAME = "ronda.invalid"  # says who asks without claiming anyone's domain


def _more(line: str) -> bool:
    return len(line) > 3 and line[3] == "-"  # "250-PIPELINING": another line follows


def _code(lines: list[str]) -> str:
    return lines[-1][:3]


async def dialogue(s: Session) -> None:
    lines = await s.greeting(_more)
    expect = s.check.expect or "220"
    if not lines[0].startswith(expect):
        raise Stop("greeting", f"greeting {shown(lines[0])!r} (expected {expect})")
    if s.check.tls in ("starttls", "optional"):
        await s.send(f"EHLO {EHLO_NAME}")
        ehlo = await s.reply(_more)
        if _code(ehlo) != "250":
            raise Stop("greeting", f"EHLO answered {shown(ehlo[-1])!r}")
        offered = any(line[4:].strip().upper().startswith("STARTTLS") for line in ehlo)
        if offered:
            await s.send("STARTTLS")
            answer = await s.reply(_more)
            if _code(answer) != "220":
                raise Stop("no_starttls", f"STARTTLS answered {shown(answer[-1])!r}")
            await s.start_tls()
            await s.send(f"EHLO {EHLO_NAME}")
            if _code(await s.reply(_more)) != "250":
                raise Stop("greeting", "EHLO refused over TLS")
        elif s.check.tls == "starttls":
            raise Stop("no_starttls", "STARTTLS not offered")
    await s.send("QUIT")
