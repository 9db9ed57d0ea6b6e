"""The composition root: the only place that wires the desk's components together.

`cli` parses the command line (with `tickets_cli` and `probe_cli` for their output);
`service` starts and stops what runs (rounds, exporter, mail intake, config watch) for every
command; `rounds` runs the scheduler on a thread of its own; `runtime` is what a
long-running command does for its process (log format, signals); `context` what the
commands share (exit codes, the one-line error, the store and config they name).
"""
