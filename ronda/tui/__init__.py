"""The agents' terminal UI (Textual). Entry points: `ronda.tui.app.RondaApp` and
`ronda.tui.app.run_tui`."""
