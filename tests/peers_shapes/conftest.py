"""The corpus runs against the gateway fixtures of tests/gateway (same PKI, same demo DSP)."""

from tests.gateway.conftest import (  # noqa: F401
    _gateway_keys,
    _gateway_template,
    env_factory,
    gw_pki,
)
