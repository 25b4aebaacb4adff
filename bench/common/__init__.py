"""Helpers shared by the bench/ scripts (standard library only)."""
