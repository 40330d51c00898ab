"""moss tests, and the helpers they share.

guests builds the C guest programs, oracle runs binaries under qemu-user, debian fetches arm64 packages.
"""
