"""Probes, the failure classifier, scheduling and incident rules (the desk's eyes)."""
