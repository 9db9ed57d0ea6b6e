"""Tickets by e-mail: an SMTP intake that turns messages into cases, threads replies onto
them, acknowledges with the promised response time and suggests a scope triage.

Kept free of imports on purpose: `ronda.store` imports `ronda.intake.store` for its migration, so
loading this package must not pull the desk core back in (see `ronda.intake.store`).

Modules: `parse` (MIME -> plain message), `triage` (pure rules), `thread_match` (which case a
message belongs to), `store` (the mail log table), `ingest` (the intake itself), `replies`
(acknowledgements and agent replies through the relay), `server` (aiosmtpd), `maildir`
(import a Maildir folder).
"""
