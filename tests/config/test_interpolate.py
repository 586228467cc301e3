from __future__ import annotations

import pytest

from jairouter.config.interpolate import UnresolvedReference, expand

ENV = {"KEY": "sk-123", "EMPTY": "", "HOST": "10.0.0.5"}


@pytest.mark.parametrize(
    ("text", "expanded"),
    [
        ("plain text", "plain text"),
        ("${KEY}", "sk-123"),
        ("Bearer ${KEY}!", "Bearer sk-123!"),
        ("http://${HOST}:${PORT:-11434}", "http://10.0.0.5:11434"),
        ("${UNSET:-}", ""),
        ("${EMPTY:-fallback}", "fallback"),  # as in a shell, `:-` also covers set-but-empty
        ("${EMPTY}", ""),
        ("${KEY:-unused}", "sk-123"),
        ("$${KEY}", "${KEY}"),
        ("cost: $5, $$ and $KEY stay", "cost: $5, $$ and $KEY stay"),
        ("${UNSET:-a:-b}", "a:-b"),
    ],
)
def test_expands_references(text: str, expanded: str) -> None:
    assert expand(text, ENV) == expanded


def test_unset_variable_without_default_is_an_error_naming_it() -> None:
    with pytest.raises(UnresolvedReference, match="OPENAI_API_KEY is not set") as caught:
        expand("${OPENAI_API_KEY}", ENV)
    assert "${OPENAI_API_KEY:-value}" in caught.value.hint


@pytest.mark.parametrize("text", ["${}", "${1X}", "${KEY", "${A B}"])
def test_malformed_reference_is_an_error_pointing_at_the_escape(text: str) -> None:
    with pytest.raises(UnresolvedReference, match="malformed") as caught:
        expand(text, ENV)
    assert "$${" in caught.value.hint
