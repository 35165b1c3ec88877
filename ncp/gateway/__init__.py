"""The responding gateway (country A): SOAP endpoints for XCPD, XCA and XDR.

:func:`install` adds the SOAP routes to the app (:func:`ncp.app.create_app`);
:func:`build_gateway` assembles the pipeline (:mod:`ncp.gateway.pipeline`) from the settings and
the record store.
"""

from ncp.gateway.pipeline import ENDPOINTS, Gateway, Response
from ncp.gateway.routes import gateway_of, install
from ncp.gateway.setup import build_gateway

__all__ = ["ENDPOINTS", "Gateway", "Response", "build_gateway", "gateway_of", "install"]
