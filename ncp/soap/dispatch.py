"""From a parsed SOAP request to its IHE transaction (the gateway faces' first step).

The transaction is chosen by ``wsa:Action`` alone (the Content-Type action has already been
checked against it); the Body must then hold that transaction's request element. Optionally the
body, with any MTOM parts inlined, is validated against the transaction's XML Schema.
"""

from __future__ import annotations

from ncp.ihe import registry, schemas
from ncp.ihe.registry import Transaction
from ncp.soap.envelope import SoapMessage
from ncp.soap.errors import ActionNotSupportedFault, EnvelopeError


def transaction_for(msg: SoapMessage, *, validate_schema: bool = False) -> Transaction:
    """The transaction ``msg`` requests.

    Raises :class:`ActionNotSupportedFault` for an unknown action, :class:`EnvelopeError` when
    the body element is not the action's request, and (with ``validate_schema``)
    :class:`ncp.ihe.schemas.SchemaViolation` when the body does not validate.
    """
    tx = registry.by_request_action(msg.action)
    if tx is None:
        raise ActionNotSupportedFault("unknown wsa:Action")
    if msg.body_element.tag != tx.request_root:
        raise EnvelopeError("the Body does not hold the request of wsa:Action")
    if validate_schema:
        schemas.validate_body(msg.reconstituted_body_element(), tx, "request")
    return tx
