"""Content-Type parameters and a strict multipart/related reader and writer (MTOM, RFC 2387).

Why not ``email.parser``: it is lenient by design (a missing close delimiter, a boundary inside
a part, or LF-only line ends are repaired silently), and MTOM packages are binary. This reader
refuses instead: CRLF line ends, a close delimiter, at most ``max_parts`` parts, bounded part
headers, unique Content-IDs, and only the identity or base64 transfer encodings.
Header *parameter* syntax (quoted strings, escapes) is left to :mod:`email.message`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from functools import lru_cache
from types import MappingProxyType

from ncp.soap.errors import MultipartError

_BCHARS = re.compile(r"^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$")
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
MAX_PARTS = 64
MAX_HEADER_BYTES = 8192


@dataclass(frozen=True, slots=True)
class ContentType:
    """A parsed Content-Type: lower-cased media type and its parameters (names lower-cased)."""

    media_type: str
    params: Mapping[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        return self.params.get(name)


@lru_cache(maxsize=256)
def parse_content_type(value: str) -> ContentType:
    """Parse a Content-Type header value (RFC 2045 syntax, quoted-string escapes honoured).

    Cached: a gateway sees a handful of distinct values, and :mod:`email.message` costs about
    0.1 ms per parse. Results are immutable."""
    if len(value) > MAX_HEADER_BYTES:
        raise MultipartError("Content-Type too long")
    msg = Message()
    msg["content-type"] = value
    media = msg.get_content_type()
    params: dict[str, str] = {}
    for key, val in msg.get_params(failobj=[])[1:]:
        name = key.lower()
        if name in params:
            raise MultipartError(f"Content-Type parameter {name} repeated")
        params[name] = val if isinstance(val, str) else str(val)
    return ContentType(media_type=media, params=MappingProxyType(params))


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_content_type(media_type: str, params: Mapping[str, str]) -> str:
    """A Content-Type header value; a parameter value is quoted only when it is not a token
    (some SOAP stacks mis-read ``charset="UTF-8"``)."""
    return "; ".join([media_type, *(f"{k}={v if _TOKEN.match(v) else _quote(v)}"
                                    for k, v in params.items())])


@dataclass(frozen=True, slots=True)
class Part:
    headers: Mapping[str, str]
    content: bytes

    @property
    def content_id(self) -> str | None:
        """The Content-ID without angle brackets."""
        cid = self.headers.get("content-id")
        if cid is None:
            return None
        cid = cid.strip()
        if cid.startswith("<") and cid.endswith(">"):
            cid = cid[1:-1]
        return cid or None

    @property
    def content_type(self) -> ContentType:
        return parse_content_type(self.headers.get("content-type", "text/plain"))


def _headers(block: bytes) -> dict[str, str]:
    if len(block) > MAX_HEADER_BYTES:
        raise MultipartError("part headers too large")
    headers: dict[str, str] = {}
    last: str | None = None
    for raw in block.split(b"\r\n"):
        if not raw:
            continue
        try:
            line = raw.decode("ascii")
        except UnicodeDecodeError:
            raise MultipartError("non-ASCII part header") from None
        if line[0] in " \t":
            if last is None:
                raise MultipartError("continuation line without a header")
            headers[last] += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        if not sep or not _TOKEN.match(name):
            raise MultipartError("malformed part header")
        key = name.lower()
        if key in headers:
            raise MultipartError(f"part header {key} repeated")
        headers[key] = value.strip()
        last = key
    return headers


def _decode(part_headers: Mapping[str, str], content: bytes) -> bytes:
    cte = part_headers.get("content-transfer-encoding", "binary").strip().lower()
    if cte in ("binary", "8bit", "7bit"):
        return content
    if cte == "base64":
        try:
            return base64.b64decode(re.sub(rb"\s+", b"", content), validate=True)
        except (binascii.Error, ValueError):
            raise MultipartError("invalid base64 part") from None
    raise MultipartError("unsupported Content-Transfer-Encoding")


def parse_multipart(body: bytes, boundary: str, *, max_parts: int = MAX_PARTS) -> list[Part]:
    """Split a multipart body into parts, strictly (see module docstring)."""
    if not _BCHARS.match(boundary):
        raise MultipartError("invalid boundary")
    delim = b"--" + boundary.encode("ascii")
    if body.startswith(delim):
        pos = len(delim)
    else:
        i = body.find(b"\r\n" + delim)
        if i < 0:
            raise MultipartError("no boundary delimiter")
        pos = i + 2 + len(delim)
    parts: list[Part] = []
    while True:
        if body.startswith(b"--", pos):
            break  # close delimiter; the epilogue is ignored
        eol = body.find(b"\r\n", pos)
        if eol < 0 or body[pos:eol].strip(b" \t"):
            raise MultipartError("garbage after a boundary delimiter")
        start = eol + 2
        end = body.find(b"\r\n" + delim, start)
        if end < 0:
            raise MultipartError("missing close delimiter")
        if len(parts) >= max_parts:
            raise MultipartError("too many MIME parts")
        raw = body[start:end]
        if raw.startswith(b"\r\n"):
            block, content = b"", raw[2:]
        else:
            sep = raw.find(b"\r\n\r\n")
            if sep < 0:
                raise MultipartError("part without header terminator")
            block, content = raw[:sep], raw[sep + 4:]
        headers = _headers(block)
        parts.append(Part(headers=headers, content=_decode(headers, content)))
        pos = end + 2 + len(delim)
        if pos > len(body):
            raise MultipartError("truncated package")
    if not parts:
        raise MultipartError("no MIME part")
    return parts


def build_multipart(parts: list[tuple[Mapping[str, str], bytes]], boundary: str) -> bytes:
    """Join parts (headers, content) with ``boundary``; refuses a boundary found in a part."""
    delim = b"--" + boundary.encode("ascii")
    out: list[bytes] = []
    for headers, content in parts:
        if delim in content:
            raise MultipartError("boundary occurs in a part")
        out.append(delim + b"\r\n")
        for name, value in headers.items():
            out.append(f"{name}: {value}\r\n".encode("ascii"))
        out.append(b"\r\n")
        out.append(content)
        out.append(b"\r\n")
    out.append(delim + b"--\r\n")
    return b"".join(out)
