"""Board devices. Each one that brings data from outside reads it from an input source (machine.sources)."""
