"""Typer apps, one per command group; the only layer that prints."""
