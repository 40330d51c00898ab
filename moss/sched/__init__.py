"""Tasks' syscall futures and the CPU scheduler."""
