"""The commented config `jairouter init` writes: valid as it stands, and a tour of the options."""

STARTER = """\
# jairouter: one OpenAI-compatible front door to every model server you run.
#
# Check this file:   jairouter config validate
# Add a server:      jairouter backends add chat MODEL URL --adapter ollama
# Start the router:  jairouter serve
#
# Secrets come from the environment: write ${VAR} (or ${VAR:-default}) in any value,
# e.g. `api_key: ${OPENAI_API_KEY}`; a literal `${` is written `$${`.

server:
  host: 127.0.0.1         # loopback only; 0.0.0.0 serves your whole network
  port: 8080
  max_body_size: 32MiB    # larger request bodies are refused with 413
  trusted_proxies: []     # proxies (addresses or CIDRs) whose X-Forwarded-For is believed

# What every service inherits unless it sets its own.
defaults:
  # How requests spread over a service's instances:
  # random, round-robin, least-connections or ip-hash (the same client keeps its instance).
  load_balance: round-robin
  timeouts:               # seconds
    connect: 10
    first_byte: 300       # until the upstream's response headers arrive
    total: 600            # the whole exchange, streaming included

# One entry per kind of service: chat, completion, embedding, rerank, tts, stt,
# image-generation, image-edit. Clients pick an instance by the `model` they ask for.
services:
  chat:
    instances:
      # A local Ollama; clients ask for "qwen2.5:7b".
      - model: qwen2.5:7b
        url: http://127.0.0.1:11434
        adapter: ollama   # openai, vllm, gpustack, xinference, localai or ollama
        weight: 1         # relative share of traffic (1-10000)
      # An OpenAI-compatible server (vLLM, GPUStack, LocalAI, OpenAI itself) looks like:
      # - model: gpt-4o-mini
      #   url: https://api.openai.com
      #   adapter: openai
      #   api_key: ${OPENAI_API_KEY}
"""
