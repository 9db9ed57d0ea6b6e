"""Reusable parts of the agents' TUI."""
