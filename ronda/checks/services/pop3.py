"""POP3 (110 with STLS, 995 implicit TLS): the `+OK` greeting, STLS, QUIT."""

from __future__ import annotations

from ronda.checks.services.session import Session, Stop, shown


async def dialogue(s: Session) -> None:
    (line,) = await s.greeting()
    expect = s.check.expect or "+OK"
    if not line.startswith(expect):
        raise Stop("greeting", f"greeting {shown(line)!r} (expected {expect})")
    if s.check.tls in ("starttls", "optional"):
        await s.send("STLS")
        answer = await s.line()
        if answer.startswith("+OK"):
            await s.start_tls()
        elif s.check.tls == "starttls":
            raise Stop("no_starttls", f"STLS answered {shown(answer)!r}")
    await s.send("QUIT")
