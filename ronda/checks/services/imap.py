"""IMAP (143 with STARTTLS, 993 implicit TLS): the `* OK` greeting, STARTTLS, LOGOUT."""

from __future__ import annotations

from ronda.checks.services.session import Session, Stop, shown


async def _tagged(s: Session, tag: str) -> str:
    """Lines until the tagged answer (untagged `*` lines come first); bounded."""
    lines = await s.reply(lambda line: not line.startswith(f"{tag} "))
    return lines[-1][len(tag) + 1 :]


async def dialogue(s: Session) -> None:
    (line,) = await s.greeting()
    expect = s.check.expect or "* OK"
    if not line.startswith(expect):
        raise Stop("greeting", f"greeting {shown(line)!r} (expected {expect})")
    if s.check.tls in ("starttls", "optional"):
        await s.send("a1 STARTTLS")
        answer = await _tagged(s, "a1")
        if answer.upper().startswith("OK"):
            await s.start_tls()
        elif s.check.tls == "starttls":
            raise Stop("no_starttls", f"STARTTLS answered {shown(answer)!r}")
    await s.send("a2 LOGOUT")
