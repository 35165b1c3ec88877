"""The one clock of the test suite.

Every fixture that makes time-bound material (development PKI, CRLs, SAML assertions, WS-Security
timestamps, sessions, TOTP windows, discard windows) takes its instant from ``NOW``: the real
clock, read once when the suite starts, to the second. A fixed calendar date here would make the
suite pass on the day it was written and fail on every day after (issue 11); reading the real
clock in one place and a constant in another is the same mistake. Under libfaketime (``.ci/run``
moves the clock 400 days ahead) ``NOW`` moves with everything else.

Fixed instants remain only where they belong to fixed inputs (the SMP samples' signing time, the
formatting of a given date in a narrative).
"""

from __future__ import annotations

import datetime as dt

NOW: dt.datetime = dt.datetime.now(dt.UTC).replace(microsecond=0)
