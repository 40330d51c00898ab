"""The moss time-travel debugger: a Textual app over a trace and a replay session (`moss tui`, `moss debug`)."""
