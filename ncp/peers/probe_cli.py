# ruff: noqa: B008  (typer declares options as argument defaults)
"""``ncp probe COUNTRY``: run our conformance cases against a foreign gateway (see
:mod:`ncp.peers.probe`).

    ncp probe BE --as lu-hp-100001 --known id=1968051421109 --unknown id=1900010100000
    ncp probe BE --as lu-hp-100001 --known ... --pharmacist lu-hp-100003 --dispense --json

``--known``/``--unknown`` give the search-mask fields of the peer's test patients
(``FIELD=VALUE``; a bare value fills the mask's only field). The exit code is 0 when every case
that ran passed, 1 otherwise.
"""

from __future__ import annotations

import typer

from ncp.settings import get_settings

__all__ = ["probe_command"]


def _values(items: list[str], mask_fields: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            if len(mask_fields) != 1:
                raise typer.BadParameter(f"{item!r}: name the field (one of "
                                         f"{', '.join(mask_fields)})")
            name, value = mask_fields[0], item
        values[name.strip()] = value.strip()
    return values


def probe_command(
    country: str = typer.Argument(..., help="ISO 3166 alpha-2 code of the peer"),
    login: str = typer.Option(..., "--as", help="portal login of the test doctor"),
    known: list[str] = typer.Option(..., "--known", help="FIELD=VALUE of a known patient"),
    unknown: list[str] = typer.Option([], "--unknown", help="FIELD=VALUE of an unknown one"),
    pharmacist: str | None = typer.Option(None, help="portal login of the test pharmacist"),
    dispense: bool = typer.Option(False, help="also dispense and discard (writes at the peer)"),
    as_json: bool = typer.Option(False, "--json", help="the report as JSON"),
) -> None:
    """Probe a foreign gateway with our conformance cases; print what passed and why."""
    from ncp.crossborder.service import CrossBorder
    from ncp.peers.errors import CrossBorderError
    from ncp.peers.probe import Probe
    from ncp.store.accounts import AccountStore
    from ncp.store.db import make_engine, session_factory
    from ncp.store.errors import StoreError
    from ncp.store.keys import KeyRingSource

    settings = get_settings()
    engine = make_engine(settings.sqlalchemy_url)
    try:
        keys = KeyRingSource.from_file(settings.master_keys_path,
                                       create=settings.environment == "development")
        accounts = AccountStore(session_factory(engine), keys)
        service = CrossBorder(settings, engine, keys=keys)

        def who(name: str):  # type: ignore[no-untyped-def]
            account = accounts.by_login(name.strip().lower())
            if account is None or account.professional_id is None:
                raise typer.BadParameter(f"{name!r} is not a professional's login")
            return service.professional(account.professional_id, "card"), account.id

        doctor, doctor_account = who(login)
        chemist, chemist_account = who(pharmacist) if pharmacist else (None, None)
        try:
            fields = [f.name for f in service.mask(service.peer(country)).fields]
        except (StoreError, CrossBorderError):  # reported by the probe as the directory case
            fields = []
        report = Probe(service, doctor=doctor, account_id=doctor_account,
                       pharmacist=chemist, pharmacist_account_id=chemist_account).run(
            country, known=_values(known, fields),
            unknown=_values(unknown, fields) if unknown else None, dispense=dispense)
        service.client.close()
    finally:
        engine.dispose()
    typer.echo(report.json() if as_json else report.text())
    raise typer.Exit(0 if report.passed else 1)
