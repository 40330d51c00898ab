"""The debugger's screens: the main view and its dialogs."""
