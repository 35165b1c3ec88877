"""The one safe parser: hostile inputs are refused quickly, with no side effect."""

from __future__ import annotations

import http.server
import threading
import time

import pytest

from ncp.xmlutil import MAX_XML_BYTES, NS, XmlInputError, parse_xml, qname


def _refused(data: bytes, **kw) -> str:
    started = time.monotonic()
    with pytest.raises(XmlInputError) as info:
        parse_xml(data, **kw)
    assert time.monotonic() - started < 1
    return str(info.value)


def test_plain_document_parses_without_reindenting():
    root = parse_xml(b'<a xmlns="urn:x">\n  <b>t</b>\n</a>')
    assert root.tag == "{urn:x}a" and root.text == "\n  "


def test_xxe_file_is_refused():
    data = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b"<r>&x;</r>")
    assert "DOCTYPE" in _refused(data)


def test_billion_laughs_is_refused():
    ents = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    data = f'<!DOCTYPE r [<!ENTITY l0 "lol">{ents}]><r>&l9;</r>'.encode()
    _refused(data)


def test_quadratic_blowup_is_refused():
    data = (b'<!DOCTYPE r [<!ENTITY a "' + b"x" * 50_000 + b'">]><r>' + b"&a;" * 20_000
            + b"</r>")
    _refused(data)


def test_doctype_in_lower_case_or_spaced_is_refused():
    _refused(b"<!doctype r><r/>")
    _refused(b"<r><!-- --></r><!ENTITY x 'y'>")


def test_utf16_cannot_smuggle_a_doctype():
    data = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>'
    assert "UTF-8" in _refused(data.encode("utf-16"))
    assert "UTF-8" in _refused(data.encode("utf-16-be"))


def test_undeclared_entity_is_refused():
    assert "malformed" in _refused(b"<r>&undeclared;</r>")


def test_external_dtd_is_not_fetched():
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/x.dtd"
        _refused(f'<!DOCTYPE r SYSTEM "{url}"><r/>'.encode())
        # XInclude is not processed by parsing either
        xi = "http://www.w3.org/2001/XInclude"
        root = parse_xml(f'<r xmlns:xi="{xi}"><xi:include href="{url}"/></r>'.encode())
        assert root[0].tag == "{http://www.w3.org/2001/XInclude}include"
    finally:
        server.shutdown()
        server.server_close()
    assert hits == []


def test_size_limit():
    assert "exceeds" in _refused(b"<r>" + b"x" * 100 + b"</r>", max_bytes=50)
    assert MAX_XML_BYTES >= 1024 * 1024


def test_depth_limits():
    deep = b"<a>" * 300 + b"</a>" * 300
    assert "deeper" in _refused(deep)
    assert "deeper" in _refused(b"<a>" * 20 + b"</a>" * 20, max_depth=10)
    parse_xml(b"<a>" * 200 + b"</a>" * 200)


def test_malformed_and_non_bytes():
    assert "malformed" in _refused(b"<a><b></a>")
    with pytest.raises(XmlInputError):
        parse_xml("<a/>")  # type: ignore[arg-type]


def test_parser_is_usable_from_threads():
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(200):
                assert parse_xml(b"<a><b/></a>")[0].tag == "b"
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_qname_and_namespaces():
    assert qname("saml", "Assertion") == "{urn:oasis:names:tc:SAML:2.0:assertion}Assertion"
    assert NS["wsse"].endswith("wssecurity-secext-1.0.xsd")


def test_byte_scan_refuses_before_parsing():
    assert "entity declaration" in _refused(b'<!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>')


def test_parsed_doctype_is_refused_even_if_the_byte_scan_missed_it(monkeypatch):
    import re

    import ncp.xmlutil

    monkeypatch.setattr(ncp.xmlutil, "_DECLARATION", re.compile(rb"(?!)"))
    assert "a DOCTYPE is not allowed" in _refused(b'<!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>')
