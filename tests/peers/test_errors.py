"""Every eHDSI error the peers send becomes one of our user messages, in three languages."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from ncp.errors import ErrorCode
from ncp.peers.errors import _KEYS, from_codes, key_for_code


@pytest.mark.parametrize("code,key", [
    ("4701", "no_consent"), ("ERROR_NO_CONSENT", "no_consent"),
    ("PolicyViolation", "no_consent"), ("1101", "no_prescription"),
    ("ERROR_PS_NOT_FOUND", "no_summary"), ("5008", "substitution"),
    ("5007", "not_dispensable"), ("4206", "relationship"), ("4511", "transcoding"),
    ("DemographicsQueryNotAllowed", "need_identifier"), ("1001", "identity"),
    ("4703", "rights"), ("XDSRegistryMetadataError", "peer_refused"),
])
def test_known_codes(code: str, key: str) -> None:
    assert key_for_code(code) == key


def test_every_error_code_of_the_gateway_is_mapped() -> None:
    # ERROR_GENERIC has no message of its own: the IHE code sent with it says more, and a
    # request too large or malformed is a fault of the sender (the caller's default message).
    protocol = {ErrorCode.MALFORMED_REQUEST, ErrorCode.REQUEST_TOO_LARGE}
    for code in ErrorCode:
        if code in protocol:
            continue
        assert (key_for_code(code.code) or key_for_code(code.wire)
                or key_for_code(code.ihe)), code


def test_unknown_codes_fall_back_and_keep_the_code_and_the_peers_error_id() -> None:
    err = from_codes([("XYZ", "SOMETHING")], default="peer_refused",
                     text="4200 refused (error id 0123456789abcdef)", country="BE")
    assert err.key == "peer_refused" and err.code == "XYZ"
    assert err.peer_error_id == "0123456789abcdef" and err.country == "BE"


def test_every_message_exists_in_french_german_and_english() -> None:
    catalogues = {lang: json.loads(resources.files("ncp.crossborder").joinpath(
        f"messages/{lang}.json").read_text("utf-8")) for lang in ("fr", "de", "en")}
    keys = {f"xb.err.{k}" for k in set(_KEYS.values())} | {
        "xb.err.tls", "xb.err.unreachable", "xb.err.timeout", "xb.err.response_untrusted",
        "xb.err.configuration", "xb.err.discard_window", "xb.err.substitution_local",
        "xb.err.security"}
    for lang, messages in catalogues.items():
        assert not keys - messages.keys(), (lang, keys - messages.keys())
    assert catalogues["fr"].keys() == catalogues["de"].keys() == catalogues["en"].keys()
    assert catalogues["fr"]["xb.err.no_consent"] != catalogues["de"]["xb.err.no_consent"]
