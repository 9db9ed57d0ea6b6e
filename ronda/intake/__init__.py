"""Tickets by e-mail: an SMTP intake that turns messages into cases, threads replies onto
them, acknowledges with the promised response time and suggests a scope triage.

Modules: `parse` (MIME -> plain message), `triage` (pure rules), `thread_match` (which case a
message belongs to), `ingest` (the intake itself; the mail log is `ronda.store.mail`), `replies`
(acknowledgements and agent replies through the relay), `server` (aiosmtpd), `maildir`
(import a Maildir folder).
"""
