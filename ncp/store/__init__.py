"""The DSP record store: schema, migrations, repositories, the access policy, encryption at rest.

This package is the only place that speaks SQL. Every read of a patient's data goes through
:mod:`ncp.store.policy`, and every read and write leaves an access-log row in the same
transaction (:mod:`ncp.store.access_log`). The record service, one module per aggregate,
is mapped in :mod:`ncp.store.dsp`.
"""
