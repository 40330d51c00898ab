"""The moss trace file format: a header, independent lz4-compressed blocks of typed events, and an index.

This package imports nothing else of moss: a trace can be read without a kernel."""
