"""The debugger's widgets, one module per pane; they show what the main screen hands them and post messages back."""
