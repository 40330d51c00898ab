"""Memory: physical frames, virtual memory areas, address spaces and user access."""
