"""`usage_in_tail`: an answer's `usage` read from its last two chunks only."""

from __future__ import annotations

import orjson
import pytest

from jairouter.pipeline.usage import usage_in_tail

USAGE = {
    "prompt_tokens": 9,
    "completion_tokens": 12,
    "total_tokens": 21,
    "prompt_tokens_details": {"cached_tokens": 0},
}
BODY = orjson.dumps(
    {"id": "c1", "choices": [{"message": {"content": 'say "usage": {}'}}], "usage": USAGE}
)
STREAM = (
    b'data: {"choices":[{"delta":{"content":"hi"}}],"usage":null}\n\n'
    b'data: {"choices":[],"usage":' + orjson.dumps(USAGE) + b"}\n\n"
    b"data: [DONE]\n\n"
)


@pytest.mark.parametrize("answer", [BODY, STREAM], ids=["json", "stream"])
def test_usage_is_found_wherever_the_last_two_chunks_split_the_answer(answer: bytes) -> None:
    for cut in range(1, len(answer)):
        before, last = answer[:cut], answer[cut:]
        assert usage_in_tail(last, before) == USAGE, cut


@pytest.mark.parametrize(
    "answer",
    [
        b'{"choices": [{"message": {"content": "\\"usage\\": {\\"x\\": 1}"}}]}',
        b'data: {"choices":[{"delta":{}}],"usage":null}\n\ndata: [DONE]\n\n',
        b'{"usage": {"prompt_tokens": 3',  # cut short
        b"",
    ],
    ids=["quoted-in-content", "null", "unfinished", "empty"],
)
def test_no_usage(answer: bytes) -> None:
    assert usage_in_tail(answer) is None
