"""A customer domain's DNS, judged from the answers already fetched. Pure, no I/O.

`dns_fetch` asks the resolvers and hands over `Answers`: for each (name, type) asked, the
status (ok, nxdomain, nodata, servfail, timeout, error) and the records in presentation
form. `judge` turns them into findings, one per failing check, plus whether each check
passed (the exporter's `ronda_dns_check_ok{domain,check}`):

- `resolves`: the domain exists and has an address (A or AAAA); a domain that does not
  exist skips every other check (they would all fail the same way);
- `mx`: MX records exist, are not a null MX (RFC 7505), and each MX host resolves;
- `spf`: exactly one `v=spf1` TXT record, valid for pyspf (RFC 7208's reference
  implementation) in strict mode, within the 10 DNS-lookup and 2 void-lookup limits;
- `dmarc`: exactly one `v=DMARC1` TXT record at `_dmarc.<domain>` whose first tag is `v`
  and second `p` (none, quarantine or reject), with valid `sp`, `pct`, `adkim`/`aspf`;
- `records`: each expected record (the agency's nameservers in NS, an autodiscover SRV,
  any name/type/value) is in the answer.

SPF is evaluated by pyspf against TEST-NET-1 (192.0.2.1, never an authorised sender), so
the evaluation walks every term and counts every lookup. pyspf's DNS hook is pointed at
the answers; a name it needs that was not fetched is noted in `Verdict.missing` and
`dns_fetch` fetches it and judges again (bounded).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import spf

from ronda.checks.classify import Finding
from ronda.config.domains import DNS_CHECKS, DomainChecks, ExpectedRecord, name_key
from ronda.model import FailureClass, Priority

FC = FailureClass

CHECKS = DNS_CHECKS
# An address no SPF record authorises: evaluation never stops at a match before `all`.
_PROBE_IP = "192.0.2.1"
_SPF_START = re.compile(r"v=spf1(\s|$)", re.IGNORECASE)
_DMARC_START = re.compile(r"v\s*=\s*DMARC1\s*(;|$)", re.IGNORECASE)
_DMARC_TAGS = frozenset(
    {"v", "p", "sp", "rua", "ruf", "pct", "adkim", "aspf", "fo", "rf", "ri", "np", "psd", "t"}
)
_POLICIES = frozenset({"none", "quarantine", "reject"})
# A report address (RFC 7489 6.2): mailto: and an address of printable characters, with an
# optional size limit.
_MAILTO = re.compile(r"mailto:[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+(![0-9]+[kmgt]?)?")
# Answer statuses. `nodata`: the name exists without records of that type.
OK, NXDOMAIN, NODATA = "ok", "nxdomain", "nodata"
_FAILED = frozenset({"servfail", "timeout", "error"})


@dataclass(frozen=True, slots=True)
class Answer:
    """What a resolver said for one (name, type): a status and records as text."""

    status: str = OK
    records: tuple[str, ...] = ()
    detail: str = ""  # why, when the status is a failure

    @property
    def empty(self) -> bool:
        return not self.records


Answers = Mapping[tuple[str, str], Answer]  # (lower-case name without final dot, TYPE)


@dataclass(slots=True)
class Verdict:
    """The findings (worst first is the caller's business), each check's pass/fail, the
    evidence to keep, and the (name, type) pairs still to fetch for a complete judgement."""

    findings: list[Finding] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)
    evidence: dict[str, object] = field(default_factory=dict)
    missing: set[tuple[str, str]] = field(default_factory=set)


def first_queries(checks: DomainChecks) -> list[tuple[str, str]]:
    """What to ask before the first judgement (the rest comes from `Verdict.missing`)."""
    d = name_key(checks.domain)
    wanted = [(d, "A"), (d, "AAAA")]
    if checks.mx:
        wanted.append((d, "MX"))
    if checks.spf:
        wanted.append((d, "TXT"))
    if checks.dmarc:
        wanted.append((f"_dmarc.{d}", "TXT"))
    if checks.nameservers:
        wanted.append((d, "NS"))
    wanted += [(r.fqdn(d), r.type.upper()) for r in checks.records]
    return list(dict.fromkeys(wanted))


def judge(checks: DomainChecks, answers: Answers) -> Verdict:
    """Every enabled check of one domain over the answers fetched so far."""
    v = Verdict()
    d = name_key(checks.domain)
    if not _resolves(d, answers, v, required=checks.resolves):
        if v.checks.get("resolves") is False:  # no such domain: every check that runs fails
            for check in checks.enabled():
                v.checks.setdefault(check, False)
        return v  # the other checks would only repeat it
    if checks.mx:
        _mx(d, answers, v)
    if checks.spf:
        _spf(d, answers, v)
    if checks.dmarc:
        _dmarc(d, answers, v)
    if checks.nameservers or checks.records:
        _records(d, checks, answers, v)
    return v


def _get(answers: Answers, v: Verdict, name: str, rdtype: str) -> Answer | None:
    found = answers.get((name, rdtype))
    if found is None:
        v.missing.add((name, rdtype))
    return found


def _fail(v: Verdict, check: str, cls: FailureClass, detail: str, prio: Priority | None = None):
    v.checks[check] = False
    v.findings.append(Finding(cls, prio, detail))


def _resolves(d: str, answers: Answers, v: Verdict, *, required: bool) -> bool:
    """False when the domain does not exist at all (the other checks are skipped)."""
    a, aaaa = _get(answers, v, d, "A"), _get(answers, v, d, "AAAA")
    if a is None or aaaa is None:
        return False
    addresses = a.records + aaaa.records
    v.evidence["addresses"] = list(addresses)
    if not required:
        return True  # the checks that run say what they find
    if a.status == NXDOMAIN:
        _fail(v, "resolves", FC.DOMAIN_UNRESOLVED, f"{d} does not exist (NXDOMAIN)")
        return False
    if a.status in _FAILED and aaaa.status in _FAILED:
        why = f"{a.status} ({a.detail})" if a.detail else a.status
        _fail(v, "resolves", FC.DOMAIN_UNRESOLVED, f"{d} does not resolve: {why}")
        return False
    if addresses:
        v.checks["resolves"] = True
    else:
        _fail(v, "resolves", FC.DOMAIN_UNRESOLVED, f"{d} has no address (no A or AAAA)")
    return True


def _mx(d: str, answers: Answers, v: Verdict) -> None:
    mx = _get(answers, v, d, "MX")
    if mx is None:
        return
    v.evidence["mx"] = list(mx.records)
    if mx.status in _FAILED:
        _fail(v, "mx", FC.DNS_NO_MX, f"MX of {d}: {mx.status} {mx.detail}".strip())
        return
    hosts = _mx_hosts(mx.records)
    if not hosts:
        _fail(v, "mx", FC.DNS_NO_MX, f"{d} has no MX records: mail to it is not delivered")
        return
    if hosts == ["."]:
        _fail(v, "mx", FC.DNS_NO_MX, f"{d} has a null MX (it accepts no mail)")
        return
    dead = []
    for host in hosts:
        a, aaaa = _get(answers, v, host, "A"), _get(answers, v, host, "AAAA")
        if a is None or aaaa is None:
            continue
        if not (a.records or aaaa.records):
            dead.append(host)
    if any((h, t) in v.missing for h in hosts for t in ("A", "AAAA")):
        return
    if dead:
        all_dead = len(dead) == len(hosts)
        _fail(
            v,
            "mx",
            FC.DNS_NO_MX,
            f"MX host{'s' if len(dead) > 1 else ''} {', '.join(dead)} of {d} "
            f"{'do' if len(dead) > 1 else 'does'} not resolve",
            None if all_dead else Priority.MEDIUM,  # mail still reaches the others
        )
    else:
        v.checks["mx"] = True


def _mx_hosts(records: Iterable[str]) -> list[str]:
    """MX exchanges by preference ("." stays "." for a null MX)."""
    pairs = []
    for text in records:
        parts = text.split()
        if len(parts) == 2 and parts[0].isdigit():
            host = parts[1].rstrip(".").lower() or "."
            pairs.append((int(parts[0]), host))
    return [h for _, h in sorted(pairs)]


def txt_strings(record: str) -> str:
    """A TXT record in presentation form ("a" "b") -> its text, the strings joined."""
    if '"' not in record:
        return record
    out = []
    for m in re.finditer(r'"((?:[^"\\]|\\.)*)"', record):
        out.append(re.sub(r"\\(\d{3}|.)", _unescape, m.group(1)))
    return "".join(out)


def _unescape(m: re.Match) -> str:
    s = m.group(1)
    return chr(int(s)) if s.isdigit() else s


def _spf(d: str, answers: Answers, v: Verdict) -> None:
    txt = _get(answers, v, d, "TXT")
    if txt is None:
        return
    if txt.status in _FAILED:
        _fail(v, "spf", FC.DNS_SPF_INVALID, f"TXT of {d}: {txt.status} {txt.detail}".strip())
        return
    records = [t for t in (txt_strings(r) for r in txt.records) if _SPF_START.match(t)]
    v.evidence["spf"] = records
    if not records:
        _fail(v, "spf", FC.DNS_SPF_INVALID, f"{d} has no SPF record")
        return
    if len(records) > 1:
        _fail(
            v,
            "spf",
            FC.DNS_SPF_INVALID,
            f"{d} has {len(records)} SPF records (exactly one is allowed: receivers "
            "treat several as a permanent error)",
        )
        return
    result, lookups, missing = evaluate_spf(d, records[0], answers)
    v.missing |= missing
    if missing:
        return  # judged once the names it needs are fetched
    v.evidence["spf_lookups"] = lookups
    status, _code, explanation = result
    if status == "permerror":
        _fail(v, "spf", FC.DNS_SPF_INVALID, f"SPF of {d}: {explanation}")
    elif status == "temperror":
        _fail(v, "spf", FC.DNS_SPF_INVALID, f"SPF of {d}: {explanation}", Priority.LOW)
    else:
        v.checks["spf"] = True


class _Hook:
    """pyspf's DNS lookup, answered from `answers`; names not fetched yet are noted."""

    def __init__(self, answers: Answers) -> None:
        self.answers = answers
        self.missing: set[tuple[str, str]] = set()

    def __call__(self, name: str, qtype: str, strict: object = True, timeout: object = 0):
        key = (name_key(name), qtype)
        if qtype == "PTR":
            # The reverse name of TEST-NET-1 has no PTR anywhere: a void lookup, counted as
            # a real one would be, without asking.
            return []
        found = self.answers.get(key)
        if found is None:
            self.missing.add(key)
            return []
        if found.status in _FAILED:
            raise spf.TempError(f"DNS {found.status} for {name} {qtype}")
        out = []
        for text in found.records:
            if qtype == "MX":
                parts = text.split()
                if len(parts) == 2 and parts[0].isdigit():
                    out.append(((key[0], qtype), (int(parts[0]), parts[1].rstrip("."))))
            elif qtype in ("TXT", "SPF"):
                out.append(((key[0], qtype), (txt_strings(text).encode("utf-8", "replace"),)))
            elif qtype == "PTR":
                out.append(((key[0], qtype), text.rstrip(".")))
            else:
                out.append(((key[0], qtype), text))
        return out


@contextmanager
def _hooked(hook: _Hook) -> Iterator[None]:
    saved = spf.DNSLookup
    spf.DNSLookup = hook  # pyspf looks its resolver up as a module global at each query
    try:
        yield
    finally:
        spf.DNSLookup = saved


def evaluate_spf(
    domain: str, record: str, answers: Answers
) -> tuple[tuple[str, int, str], int, set[tuple[str, str]]]:
    """pyspf's strict verdict on `record`: (result, lookups counted, names still needed)."""
    hook = _Hook(answers)
    query = spf.query(i=_PROBE_IP, s=f"postmaster@{domain}", h=domain, strict=True)
    with _hooked(hook):
        try:
            result = query.check(spf=record)
        except Exception as exc:  # noqa: BLE001 (a third-party evaluator on hostile text)
            result = ("permerror", 550, f"SPF Permanent Error: {type(exc).__name__}: {exc}")
    # An early permerror may hide names further on: the caller fetches `missing` and asks
    # again, so the verdict is the one on complete answers.
    explanation = re.sub(r"^SPF (Permanent|Temporary) Error: ", "", result[2])
    return (result[0], result[1], explanation), int(query.lookups), hook.missing


def _dmarc(d: str, answers: Answers, v: Verdict) -> None:
    name = f"_dmarc.{d}"
    txt = _get(answers, v, name, "TXT")
    if txt is None:
        return
    if txt.status in _FAILED:
        _fail(v, "dmarc", FC.DNS_DMARC_MISSING, f"TXT of {name}: {txt.status}", Priority.LOW)
        return
    records = [t for t in (txt_strings(r) for r in txt.records) if _DMARC_START.match(t)]
    v.evidence["dmarc"] = records
    if not records:
        _fail(v, "dmarc", FC.DNS_DMARC_MISSING, f"{d} has no DMARC record at {name}")
        return
    if len(records) > 1:
        _fail(
            v,
            "dmarc",
            FC.DNS_DMARC_MISSING,
            f"{d} has {len(records)} DMARC records at {name} (receivers then apply none)",
        )
        return
    problem = dmarc_problem(records[0])
    if problem:
        _fail(v, "dmarc", FC.DNS_DMARC_MISSING, f"DMARC record of {d} is invalid: {problem}")
    else:
        v.checks["dmarc"] = True


def dmarc_problem(record: str) -> str:
    """Why a DMARC record is unusable (RFC 7489 section 6.3), or "" when it is valid."""
    tags: list[tuple[str, str]] = []
    for part in record.split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep:
            return f"{part.strip()!r} is not tag=value"
        tags.append((key.strip().lower(), value.strip()))
    if not tags or tags[0] != ("v", "DMARC1"):
        return "the first tag must be v=DMARC1"
    if len(tags) < 2 or tags[1][0] != "p":
        return "the second tag must be p= (none, quarantine or reject)"
    seen: set[str] = set()
    for key, value in tags:
        if key in seen:
            return f"tag {key} appears twice"
        seen.add(key)
        if key not in _DMARC_TAGS:
            return f"unknown tag {key!r}"
        if key in ("p", "sp", "np") and value.lower() not in _POLICIES:
            return f"{key}={value!r} is not none, quarantine or reject"
        if key == "pct" and not (value.isdigit() and 0 <= int(value) <= 100):
            return f"pct={value!r} is not a percentage 0-100"
        if key in ("adkim", "aspf") and value.lower() not in ("r", "s"):
            return f"{key}={value!r} is not r or s"
        if key in ("rua", "ruf"):
            for uri in value.split(","):
                if not _MAILTO.fullmatch(uri.strip()):
                    return f"{key} has {uri.strip()!r}, not a mailto: address"
    return ""


def _normal(rdtype: str, text: str) -> str:
    """Records compared as the resolver writes them: case, final dots, spaces, quotes."""
    if rdtype == "TXT":
        return txt_strings(text).strip()
    return " ".join(part.rstrip(".") for part in text.lower().split())


def _records(d: str, checks: DomainChecks, answers: Answers, v: Verdict) -> None:
    wanted = [ExpectedRecord("@", "NS", ns) for ns in checks.nameservers] + list(checks.records)
    absent = []
    pending = False
    seen: dict[str, list[str]] = {}
    for rec in wanted:
        name, rdtype = rec.fqdn(d), rec.type.upper()
        got = _get(answers, v, name, rdtype)
        if got is None:
            pending = True
            continue
        seen[f"{name} {rdtype}"] = list(got.records)
        have = {_normal(rdtype, r) for r in got.records}
        if _normal(rdtype, rec.value) not in have:
            absent.append(f"{name} {rdtype} {rec.value}")
    v.evidence["records"] = seen
    if pending:
        return
    if absent:
        more = f" (and {len(absent) - 3} more)" if len(absent) > 3 else ""
        _fail(
            v,
            "records",
            FC.DNS_RECORD_MISMATCH,
            f"{d} lacks the expected {'; '.join(absent[:3])}{more}",
        )
    else:
        v.checks["records"] = True
