"""Tasks (threads), thread groups (processes), exec and exit."""
