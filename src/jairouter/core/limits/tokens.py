"""Token accounting for TPM limits: what to reserve before a call, what it really used after.

A token-unit limit reserves `estimate_tokens(payload)` when the request arrives, so a burst of
concurrent requests cannot together overshoot the limit while their answers are still being
generated; when the answer's `usage` arrives the permit is settled to `usage_tokens(usage)`,
refunding or charging the difference.

The estimate is deliberately cheap and rough: characters / 4 for text (OpenAI's rule of thumb
for English; dense scripts such as CJK are undercounted, and settling charges the rest), one
token per token id, a flat amount per image or audio part, plus the completion budget
(max_completion_tokens or max_tokens, else a configured default, times `n`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, TypeGuard

CHARS_PER_TOKEN = 4.0
"""Characters of text per token for the estimate."""

MEDIA_TOKENS = 1024
"""Tokens reserved per image or audio part, rather than counting its base64 or URL as text."""

_PROMPT_FIELDS = frozenset(
    {
        "messages",
        "prompt",
        "suffix",
        "input",
        "instructions",
        "query",
        "documents",
        "tools",
        "functions",
    }
)
_MEDIA_KEYS = frozenset({"image_url", "input_audio", "input_image", "file", "audio"})


def estimate_tokens(
    payload: Mapping[str, Any] | None,
    default_max_tokens: int,
    chars_per_token: float = CHARS_PER_TOKEN,
) -> int:
    """Tokens to reserve for a request, from its parsed JSON body (None for multipart: 0).

    Counts every string (keys included) under the prompt-bearing fields, which covers chat
    messages and content parts, tool schemas, completion prompts and embedding inputs alike.
    """
    # This runs on every request under a token limit: one pass over the body's keys finds the
    # prompt fields, the completion budget is inline, and types are tested exactly, as a JSON
    # parser makes them (a bool is no token id, nor a count).
    if not payload:
        return 0
    chars, ids, media = 0, 0, 0
    stack: list[Any] = [value for field, value in payload.items() if field in _PROMPT_FIELDS]
    # A loop, not recursion: a hostile, deeply nested body must not exhaust the stack.
    while stack:
        value = stack.pop()
        kind = type(value)
        if kind is str:
            chars += len(value)
        elif kind is dict:
            for key, item in value.items():
                if key in _MEDIA_KEYS:
                    media += 1
                elif type(item) is str:  # most of a chat: role and content, counted here
                    chars += len(key) + len(item)
                else:
                    chars += len(key)
                    stack.append(item)
        elif kind is list:
            stack.extend(value)
        elif kind is int:
            ids += 1  # a token id in a pre-tokenized prompt or input
    prompt = math.ceil(chars / chars_per_token) + ids + media * MEDIA_TOKENS
    if "messages" not in payload and "prompt" not in payload:
        return prompt  # embeddings, rerank: no completion
    # The completion budget: the most tokens asked for, across all the choices generated
    # (legacy completions generate `best_of` answers and return `n`).
    budget = payload.get("max_completion_tokens")
    if type(budget) is not int or budget <= 0:
        budget = payload.get("max_tokens")
        if type(budget) is not int or budget <= 0:
            budget = default_max_tokens
    choices = payload.get("n")
    most = choices if type(choices) is int and choices > 1 else 1
    best_of = payload.get("best_of")
    if type(best_of) is int and best_of > most:
        most = best_of
    return prompt + budget * most


def usage_tokens(usage: Mapping[str, Any] | None) -> int | None:
    """Tokens an answer's `usage` object reports (total, else prompt + completion), if any."""
    if not isinstance(usage, Mapping):
        return None
    total = usage.get("total_tokens")
    if _count(total):
        return total
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if not (_count(prompt) or _count(completion)):
        return None
    return (prompt if _count(prompt) else 0) + (completion if _count(completion) else 0)


def _count(value: object) -> TypeGuard[int]:
    """Whether `value` is a count: a non-negative JSON integer (booleans are not counts)."""
    return type(value) is int and value >= 0
