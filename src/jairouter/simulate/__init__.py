"""Simulated model servers that speak real products' wire formats, for demo, tests and benchmarks.

settings = SimSettings(models=("sim-chat",), token_delay=0)
with ServerThread(openai_app(settings)) as sim:       # or: sim = await start(app)
    ...  # point a client at sim.url + "/v1"; assert on sim.journal
"""

from jairouter.simulate.exchange import JOURNAL, SETTINGS, Call, Reject
from jairouter.simulate.journal import Journal, JournalEntry, Upload
from jairouter.simulate.ollama import ollama_app
from jairouter.simulate.openai_app import openai_app
from jairouter.simulate.openai_media import transcript
from jairouter.simulate.products import PRODUCTS, product_app
from jairouter.simulate.runner import RunningServer, ServerThread, start
from jairouter.simulate.settings import Reply, RequestHook, SimSettings
from jairouter.simulate.vectors import embed, relevance

__all__ = [
    "JOURNAL",
    "PRODUCTS",
    "SETTINGS",
    "Call",
    "Journal",
    "JournalEntry",
    "Reject",
    "Reply",
    "RequestHook",
    "RunningServer",
    "ServerThread",
    "SimSettings",
    "Upload",
    "embed",
    "ollama_app",
    "openai_app",
    "product_app",
    "relevance",
    "start",
    "transcript",
]
