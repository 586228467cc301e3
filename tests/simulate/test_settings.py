from __future__ import annotations

import pytest

from jairouter.simulate import SimSettings


def test_reply_is_the_words_in_order_one_token_each() -> None:
    reply = SimSettings(words=("alpha", "beta", "gamma"), reply_tokens=5).reply()
    assert reply.tokens == ("alpha", " beta", " gamma", " alpha", " beta")
    assert reply.text == "alpha beta gamma alpha beta"
    assert reply.finish_reason == "stop"


def test_a_lower_limit_cuts_the_reply_with_finish_reason_length() -> None:
    settings = SimSettings(words=("a", "b"), reply_tokens=4)
    assert settings.reply(3) == (("a", " b", " a"), "length")
    assert settings.reply(0) == ((), "length")


def test_a_limit_at_or_above_the_reply_length_stops_naturally() -> None:
    settings = SimSettings(reply_tokens=4)
    assert settings.reply(4) == settings.reply(100) == settings.reply()
    assert settings.reply(4).finish_reason == "stop"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("models", ()),
        ("models", ("",)),
        ("token_delay", -0.1),
        ("reply_tokens", -1),
        ("words", ()),
        ("journal_size", 0),
        ("embedding_dim", 0),
    ],
)
def test_invalid_settings_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        SimSettings(**{field: value})  # type: ignore[arg-type]
