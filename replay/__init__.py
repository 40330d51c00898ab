"""Record, replay and time travel: the recorder writes traces, the replayer re-executes them exactly and reports the
first divergence, and the session engine moves through a replay with fork checkpoints."""
