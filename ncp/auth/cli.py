"""``ncp accounts``: enrol portal logins, register professional cards, issue API tokens.

For operators: patients and professionals are enrolled by the national systems' processes; these
commands are the manual way in (and what the documentation shows).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ncp.settings import get_settings

if TYPE_CHECKING:
    from ncp.auth.service import Authenticator

accounts_app = typer.Typer(help="Portal and API logins (patients, professionals, assistants).",
                           no_args_is_help=True)


@contextmanager
def _auth() -> Iterator[Authenticator]:
    from ncp.app import build_runtime
    from ncp.auth.service import Authenticator
    from ncp.store.db import session_factory

    runtime = build_runtime(get_settings())
    try:
        yield Authenticator(session_factory(runtime.engine), runtime.records)
    finally:
        runtime.engine.dispose()


def _account_id(auth: Authenticator, login: str) -> int:
    account = auth.store.by_login(login.lower())
    if account is None:
        typer.echo(f"no login {login!r}", err=True)
        raise typer.Exit(2)
    return int(account.id)


@accounts_app.command("add")
def add(
    login: str = typer.Argument(..., help="The login name (3-64 letters, digits, . _ - @)."),
    kind: str = typer.Option(..., help="patient, professional or helper."),
    matricule: str = typer.Option("", help="The patient's matricule (kind patient)."),
    registry_id: str = typer.Option("", help="The professional's registry id."),
    name: str = typer.Option("", help="Display name (helpers; others take the registry's)."),
    language: str = typer.Option("fr", help="Portal language: fr, de or en."),
) -> None:
    """Enrol a login; asks for the password and prints the TOTP secret to enrol in an app."""
    from ncp.auth import totp
    from ncp.store.errors import NotFound
    from ncp.store.policy import Actor

    password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    secret = totp.new_secret()
    with _auth() as auth:
        records = auth.records
        patient_id = professional_id = None
        try:
            if kind == "patient":
                patient_id = records.patient_id(matricule)
                info = records.get_patient(Actor.patient(patient_id), patient_id)
                name = name or f"{info.given_name} {info.family_name}"
            elif kind == "professional":
                professional_id = records.professional_id(registry_id)
                name = name or records.professional_actor(professional_id).name or login
        except NotFound as exc:
            typer.echo(str(exc.detail), err=True)
            raise typer.Exit(2) from None
        try:
            auth.create_account(login=login, password=password, kind=kind,
                                display_name=name or login, totp_secret=secret,
                                patient_id=patient_id, professional_id=professional_id,
                                language=language)
        except ValueError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
        if patient_id is not None:
            # The operator checked the person's identity at enrolment: the DSP counts as
            # activated (a letter still pending stops working), logged on the record.
            from ncp.store.activation import ActivationLetters

            ActivationLetters(auth.store._sessions, records.keys, records.clock).mark_activated(
                patient_id, "enrolled by an operator: ncp accounts add")
    typer.echo(f"login {login.lower()} enrolled; TOTP secret {secret}")
    typer.echo(f"  {totp.provisioning_uri(secret, login.lower())}")


@accounts_app.command("card")
def card(
    login: str = typer.Argument(...),
    cert: Annotated[Path | None, typer.Option(exists=True,
                                              help="The card's certificate (PEM).")] = None,
    issuer_ca: Annotated[Path | None, typer.Option(
        exists=True, help="The issuing CA's certificate (PEM), with --serial.")] = None,
    serial: str = typer.Option("", help="The subject serialNumber every card of this "
                               "professional carries."),
) -> None:
    """Register a professional card: a certificate, or an issuing CA and a subject serial."""
    if (cert is None) == (issuer_ca is None and not serial):
        typer.echo("give either --cert, or --issuer-ca and --serial", err=True)
        raise typer.Exit(2)
    with _auth() as auth:
        account_id = _account_id(auth, login)
        try:
            auth.register_certificate(
                account_id, cert.read_text() if cert else None,
                issuer_ca=issuer_ca.read_text() if issuer_ca else None,
                subject_serial=serial or None)
        except ValueError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
    typer.echo(f"card registered for {login.lower()}")


@accounts_app.command("token")
def token(login: str = typer.Argument(...),
          label: str = typer.Option("api", help="What the token is for.")) -> None:
    """Issue an API bearer token for a professional (printed once)."""
    with _auth() as auth:
        try:
            value = auth.issue_token(_account_id(auth, login), label)
        except ValueError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
    typer.echo(value)


@accounts_app.command("logins")
def logins(login: str = typer.Argument(...),
           limit: int = typer.Option(20, help="How many, newest first.")) -> None:
    """The login log of an account (every attempt, good or bad)."""
    with _auth() as auth:
        rows = auth.store.login_history(_account_id(auth, login), limit)
    for r in rows:
        typer.echo(f"{r.at:%Y-%m-%d %H:%M:%S}  {r.method:<12} {r.outcome:<8} "
                   f"{r.client or '-':<16} {r.reason or ''}")


@accounts_app.command("disable")
def disable(login: str = typer.Argument(...),
            enable: bool = typer.Option(False, "--enable", help="Re-enable instead.")) -> None:
    """Disable a login (its sessions end at once), or re-enable it."""
    import datetime as dt

    with _auth() as auth:
        auth.store.set_disabled(_account_id(auth, login),
                                None if enable else dt.datetime.now(dt.UTC))
    typer.echo(f"{login.lower()} {'enabled' if enable else 'disabled'}")
