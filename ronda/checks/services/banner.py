"""Server access by its banner: SSH (`SSH-2.0-`), FTP (`220`, then AUTH TLS)."""

from __future__ import annotations

from ronda.checks.services.session import MAX_LINES, Session, Stop, shown


async def ssh(s: Session) -> None:
    """The identification line; RFC 4253 lets a server send other lines before it."""
    expect = s.check.expect or "SSH-2.0-"
    for _ in range(MAX_LINES):
        line = await s.line()
        if line.startswith("SSH-"):
            break
    else:
        raise Stop("too_long", f"no SSH banner in {MAX_LINES} lines")
    s.seen.greeting = shown(line)
    s._phase("greeting")
    if not line.startswith(expect):
        raise Stop("greeting", f"banner {shown(line)!r} (expected {expect})")
    # Nothing is sent back: an identification of our own would start a key exchange.


def _more(line: str) -> bool:
    return not (len(line) >= 4 and line[:3].isdigit() and line[3] == " ")


async def ftp(s: Session) -> None:
    lines = await s.greeting(_more)
    expect = s.check.expect or "220"
    if not lines[0].startswith(expect):
        raise Stop("greeting", f"banner {shown(lines[0])!r} (expected {expect})")
    if s.check.tls in ("starttls", "optional"):
        await s.send("AUTH TLS")
        answer = await s.reply(_more)
        if answer[-1].startswith("234"):
            await s.start_tls()
        elif s.check.tls == "starttls":
            raise Stop("no_starttls", f"AUTH TLS answered {shown(answer[-1])!r}")
    await s.send("QUIT")
