"""`jairouter top`: a live view of a running router, read over its admin HTTP API only."""
