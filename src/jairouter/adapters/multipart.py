"""Rewriting the `model` field of a multipart/form-data body without touching any other byte.

Uploads (audio transcriptions, image edits) can be large: the body is scanned for part boundaries
only, and every part but `model` is copied as the same bytes, so the client's boundary stays valid.
"""

from __future__ import annotations

from python_multipart.multipart import parse_options_header

_CRLF = b"\r\n"
_HEADER_END = b"\r\n\r\n"


def boundary_of(content_type: str) -> bytes | None:
    """The boundary parameter of a multipart Content-Type, or None when it has none."""
    _, params = parse_options_header(content_type)
    return params.get(b"boundary") or None


def _is_model_part(headers: bytes) -> bool:
    for line in headers.split(_CRLF):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-disposition":
            _, params = parse_options_header(value)
            return params.get(b"name") == b"model"
    return False


def replace_model_field(body: bytes, content_type: str, model: str) -> bytes:
    """`body` with the value of its `model` form field set to `model`.

    Returns `body` itself (same object) when it has no boundary or no `model` field: the upstream
    then sees exactly what the client sent and answers for itself.
    """
    boundary = boundary_of(content_type)
    if boundary is None:
        return body
    delimiter = b"--" + boundary
    # Every delimiter after the first is preceded by CRLF, part of the delimiter (RFC 2046).
    next_delimiter = _CRLF + delimiter
    pos = body.find(delimiter)
    while pos != -1:
        start = pos + len(delimiter)
        if body[start : start + 2] != _CRLF:  # "--" closes the body; anything else is malformed
            return body
        headers_end = body.find(_HEADER_END, start + 2)
        if headers_end == -1:
            return body
        content_start = headers_end + len(_HEADER_END)
        content_end = body.find(next_delimiter, content_start)
        if content_end == -1:
            return body
        if _is_model_part(body[start + 2 : headers_end]):
            return b"".join((body[:content_start], model.encode(), body[content_end:]))
        pos = content_end + len(_CRLF)
    return body
