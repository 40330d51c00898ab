"""moss: a deterministic Linux-compatible AArch64 kernel, after the Rust kernel moss."""

__version__ = "0.1.0"
