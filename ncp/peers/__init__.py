"""The initiating side of the NCPeH (country B): foreign gateways and the calls we make to them.

    smp.py         signed SMP records, verified, then read (endpoint, certificate, search mask)
    ism.py         International Search Masks: the identifiers each country asks for
    cli.py         ``ncp peers list | import-smp | add | import-ism | remove``
    assertions.py  the HCP and TRC assertions our gateway issues for each request
    roles.py       which ISCO role code a peer receives (its list, or the precise code)
    client.py      XCPD, XCA and XDR calls: mutual TLS, WS-Security, MTOM, audit
    errors.py      every failure abroad as one message key for the user
    error_texts.py the reference gateway's error codes in words (fr, de, en)
    audit.py       the ATNA record of a treatment relationship we vouch for (EHDSI-92)

The directory itself is stored by :mod:`ncp.store.peers`; the pages are :mod:`ncp.crossborder`.
"""
