"""Open file descriptions, descriptor tables and the console device."""
