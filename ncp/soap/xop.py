"""XOP (XML-binary Optimized Packaging): finding and inlining ``xop:Include`` references.

The message models read an ``xop:Include`` through the attachments map directly; what needs the
*reconstituted* infoset (base64 text in place of each include, W3C XOP 1.0 section 3.2) is
schema validation and XML signature verification over an MTOM body. :func:`reconstitute` builds
it on a copy, so the received tree stays byte-for-byte what was signed and sent.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Mapping

from lxml import etree

from ncp.ihe._xml import XOP_INCLUDE, cid_from_href
from ncp.soap.errors import MultipartError


def includes(root: etree._Element) -> list[etree._Element]:
    """Every ``xop:Include`` element under ``root``."""
    return list(root.iter(XOP_INCLUDE))


def check_includes(root: etree._Element, attachments: Mapping[str, bytes]) -> None:
    """Refuse an ``xop:Include`` that is malformed or names no MIME part (XOP 1.0 3.1)."""
    for inc in includes(root):
        parent = inc.getparent()
        href = inc.get("href", "")
        if parent is None or len(parent) != 1 or (parent.text or "").strip():
            raise MultipartError("xop:Include must be the only content of its element")
        try:
            cid = cid_from_href(href)
        except ValueError:
            raise MultipartError("xop:Include href is not a cid: URL") from None
        if cid not in attachments:
            raise MultipartError("xop:Include refers to a missing MIME part")


def reconstitute(root: etree._Element, attachments: Mapping[str, bytes]) -> etree._Element:
    """A deep copy of ``root`` with each ``xop:Include`` replaced by the base64 of its part."""
    check_includes(root, attachments)
    clone = copy.deepcopy(root)
    for inc in includes(clone):
        parent = inc.getparent()
        assert parent is not None
        parent.remove(inc)
        parent.text = base64.b64encode(attachments[cid_from_href(inc.get("href", ""))]).decode(
            "ascii")
    return clone
