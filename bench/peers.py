"""Other proxies measured in the same run, under the same load, on the same core as jairouter.

`bare` is the floor (bench/bare_proxy.py: raw ASGI + aiohttp, no routing logic), measured in
every cell next to jairouter; LiteLLM is the most popular peer, measured at c1 and c64.

LiteLLM's proxy lives in its own virtualenv (bench/.venv-litellm, created on first use) so its
dependencies never meet jairouter's. It fronts the same mock instances, with no database, logging
off, and the local model cost map (it would otherwise fetch one from the internet at start-up).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from load import MODEL
from services import ROUTER_CPU, Service, Services, free_port, wait_http

HERE = Path(__file__).resolve().parent
LITELLM_VENV = HERE / ".venv-litellm"
PEERS = ("litellm", "bare")


def ensure_litellm() -> Path:
    """The `litellm` executable, installing `litellm[proxy]` into its virtualenv if needed."""
    exe = LITELLM_VENV / "bin" / "litellm"
    if exe.exists():
        return exe
    print(f"installing litellm[proxy] into {LITELLM_VENV} (one time, a few minutes)", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True, timeout=300)
    pip = [str(LITELLM_VENV / "bin" / "pip"), "install", "--quiet", "litellm[proxy]"]
    subprocess.run(pip, check=True, timeout=1800)  # pip keeps any proxy it needs for its index
    return exe


def litellm_version() -> str:
    python = LITELLM_VENV / "bin" / "python"
    probe = [str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"]
    out = subprocess.run(probe, capture_output=True, text=True, timeout=60, check=False)
    return out.stdout.strip() or "unknown"


def litellm_config(upstream_ports: list[int]) -> str:
    """The same 4 instances behind one model; `least-busy` is LiteLLM's least-connections."""
    deployments = "".join(
        f"""
  - model_name: {MODEL}
    litellm_params:
      model: openai/{MODEL}
      api_base: http://127.0.0.1:{p}/v1
      api_key: sk-bench-{i}"""
        for i, p in enumerate(upstream_ports)
    )
    return f"""\
model_list:{deployments}
router_settings:
  routing_strategy: least-busy
litellm_settings:
  set_verbose: false
  telemetry: false
"""


def start_litellm(services: Services, upstream_ports: list[int]) -> Service:
    exe = ensure_litellm()
    config = services.workdir / "litellm.yaml"
    config.write_text(litellm_config(upstream_ports))
    port = free_port()
    env = {
        "LITELLM_LOG": "ERROR",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        # Like jairouter today, no client keys: loopback-only benchmark, nothing to protect.
        "LITELLM_DANGEROUSLY_PERMIT_WEAK_OR_UNSET_MASTER_KEY": "true",
    }
    cmd = [str(exe), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)]
    svc = services.spawn("litellm", cmd, ROUTER_CPU, port, env)
    svc.name = f"litellm {litellm_version()}"
    wait_http(svc, "/health/liveliness", timeout=180)
    return svc


def start_bare(services: Services, upstream_ports: list[int]) -> Service:
    script = HERE / "bare_proxy.py"
    port = free_port()
    cmd = [sys.executable, str(script), str(port), *map(str, upstream_ports)]
    svc = services.spawn("bare", cmd, ROUTER_CPU, port, None)
    svc.name = "bare proxy (raw ASGI + aiohttp)"
    wait_http(svc, "/health")
    return svc
