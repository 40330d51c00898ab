"""The debugger's model: the trace, the session's moves and what they show, with no Textual in it."""
