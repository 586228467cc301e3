"""Read or replace one plain field of a multipart/form-data body without copying the rest.

Multipart uploads (audio, images) can be large; routing needs only the `model` field, and
rewriting it must leave every other byte, file parts included, exactly as the client sent it.
"""

from __future__ import annotations

from email.message import Message


class FormDataError(ValueError):
    """The body is not well-formed multipart/form-data."""


def boundary_of(content_type: str) -> bytes:
    if not content_type.lower().startswith("multipart/form-data"):
        raise FormDataError("expected a multipart/form-data body")
    msg = Message()
    msg["content-type"] = content_type
    boundary = msg.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise FormDataError("the multipart/form-data content type has no boundary")
    return boundary.encode("latin-1")


def _field_span(body: bytes, boundary: bytes, name: str) -> tuple[int, int] | None:
    """Start and end offsets of the value of plain (non-file) field `name`."""
    delimiter = b"--" + boundary
    wanted = f'name="{name}"'.encode()
    pos = body.find(delimiter)
    if pos < 0:
        raise FormDataError("the body does not contain its multipart boundary")
    while True:
        pos += len(delimiter)
        if body.startswith(b"--", pos):  # closing delimiter
            return None
        headers_end = body.find(b"\r\n\r\n", pos)
        if headers_end < 0:
            raise FormDataError("a multipart part has no header terminator")
        next_delim = body.find(b"\r\n" + delimiter, headers_end)
        if next_delim < 0:
            raise FormDataError("the multipart body is not terminated by its boundary")
        headers = body[pos:headers_end].lower()
        if b"content-disposition" in headers and wanted in headers and b"filename=" not in headers:
            return headers_end + 4, next_delim
        pos = next_delim + 2


def form_field(body: bytes, content_type: str, name: str) -> str | None:
    """The text value of plain field `name`, or None if the form has no such field."""
    span = _field_span(body, boundary_of(content_type), name)
    if span is None:
        return None
    try:
        return body[span[0] : span[1]].decode()
    except UnicodeDecodeError:
        raise FormDataError(f"form field {name!r} is not UTF-8 text") from None


def replace_form_field(body: bytes, content_type: str, name: str, value: str) -> bytes:
    """The same body with plain field `name` set to `value`; every other byte unchanged."""
    span = _field_span(body, boundary_of(content_type), name)
    if span is None:
        raise FormDataError(f"the form has no field {name!r}")
    return b"".join((body[: span[0]], value.encode(), body[span[1] :]))
