"""Tickets by e-mail: an SMTP intake that turns messages into cases, threads replies onto
them, acknowledges with the promised response time and suggests a scope triage.

Modules: `parse` (MIME -> plain message, within depth and part limits), `triage` (pure
rules), `thread_match` (which case a message names), `trust` (how far its sender is believed:
Authentication-Results, and who may add to a case), `limits` (rate limits per sender, domain
and desk), `ingest` (the intake itself; the mail log is `ronda.store.mail`), `replies`
(acknowledgements and agent replies, queued in the outbox with their change, to the
requester only; the service's sender delivers them through the relay), `server`
(aiosmtpd), `maildir` (import a Maildir folder, regular files only).
"""
