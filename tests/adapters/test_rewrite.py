from __future__ import annotations

from typing import Any

import orjson
import pytest

from jairouter.adapters.rewrite import WholeBody
from jairouter.errors import UpstreamBroken
from jairouter.types import ProxyRequest

from .conftest import MakeRequest


def tag(obj: dict[str, Any], req: ProxyRequest) -> dict[str, Any]:
    return {"model": req.model, "seen": obj}


def test_the_body_is_converted_once_it_has_ended(make_request: MakeRequest) -> None:
    req = make_request("/v1/rerank", {"model": "team-model", "query": "q", "documents": ["d"]})
    body = WholeBody(req, tag)
    assert body.content_type == "application/json"
    assert body.feed(b'{"results": [{"in') == b""
    assert body.feed(b'dex": 0}]}') == b""
    assert orjson.loads(body.finish()) == {
        "model": "team-model",
        "seen": {"results": [{"index": 0}]},
    }


@pytest.mark.parametrize("answer", [b"<html>oops</html>", b"[1, 2]", b'{"error": "boom"}'])
def test_an_unusable_answer_is_an_upstream_failure(
    answer: bytes, make_request: MakeRequest
) -> None:
    body = WholeBody(make_request("/v1/embeddings", {"model": "m", "input": "x"}), tag)
    body.feed(answer)
    with pytest.raises(UpstreamBroken):
        body.finish()
