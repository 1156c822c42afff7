"""Keyed hashes, encryption and one-time codes."""
