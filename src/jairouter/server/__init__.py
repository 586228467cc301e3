"""ASGI edge: the Starlette app, the raw proxy handler and uvicorn wiring."""
