"""The agents' terminal UI (Textual). Entry points: `tui.app.RondaApp`, `tui.app.run_tui`."""
