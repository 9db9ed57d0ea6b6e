"""The TUI's screens: queue, ticket, sites, help, and the small forms."""
