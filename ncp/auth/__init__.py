"""Authentication of the DSP's people: password + TOTP, professional cards, sessions, tokens.

    AuthError            a refused login or API call (``reason``: invalid, locked, expired,
                         no-certificate, forbidden, unknown-helper)
"""

from __future__ import annotations

from ncp.auth.service import Authenticator, AuthError, AuthPolicy, Principal

__all__ = ["AuthError", "AuthPolicy", "Authenticator", "Principal"]
