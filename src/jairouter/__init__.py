"""jairouter: one OpenAI-compatible front door to every model server a team runs."""

__version__ = "0.1.0"
