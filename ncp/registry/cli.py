# ruff: noqa: B008  (typer declares options as argument defaults)
"""``ncp registry ...``: apply the national registers' extracts.

    ncp registry import-insured persons.csv [--format csv|jsonl] [--skip-bad] [--chunk N]
    ncp registry import-professionals professionals.jsonl [--format ...] [--skip-bad]
    ncp registry merge PROVISIONAL MATRICULE --operator NAME [--force]
    ncp registry provisional                      # open provisional DSPs, likely matricules
    ncp registry import-services services.csv [--format ...] [--skip-bad]
    ncp registry import-referring referring.csv [--format ...] [--skip-bad]
    ncp registry activation-letters --out letters.csv [--matricule M] [--reissue]

Without ``--skip-bad`` the whole file is checked first and nothing is written when one line is
bad (each bad line is printed with its number and the rule it breaks). With it, bad lines are
printed and skipped, the good ones applied. Applying is idempotent: running the same file again
changes nothing. The format is documented in docs/registry.md.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import typer

from ncp.settings import get_settings

if TYPE_CHECKING:
    from ncp.registry.insured import BadLine

registry_app = typer.Typer(help="National registers that feed the DSP.", no_args_is_help=True)

#: Bad lines printed before "... and N more".
_SHOWN = 50


class _Counted(Protocol):
    bad: int


def _reporter(total: _Counted) -> Callable[[BadLine], None]:
    """Count a feed's bad line and print the first :data:`_SHOWN` (with their numbers)."""
    def report(bad: BadLine) -> None:
        total.bad += 1
        if total.bad <= _SHOWN:
            typer.echo(str(bad), err=True)
    return report


def _more(total: _Counted) -> None:
    if total.bad > _SHOWN:
        typer.echo(f"... and {total.bad - _SHOWN} more", err=True)


def _refuse_if_bad(total: _Counted) -> None:
    """After the check pass: with a bad line, nothing is written and the command fails."""
    if total.bad:
        _more(total)
        typer.echo(f"refused: {total.bad} bad line(s), nothing written "
                   "(--skip-bad applies the good lines)", err=True)
        raise typer.Exit(1)


@registry_app.command("import-insured")
def import_insured(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    fmt: str | None = typer.Option(None, "--format", help="csv or jsonl (default: by suffix)"),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="apply the good lines anyway"),
    chunk: int = typer.Option(5000, min=1, max=50000, help="persons per transaction"),
) -> None:
    """Open a DSP for each new insured person; apply changes and deaths."""
    from ncp.registry.insured import BadLine, InsuredPerson, read_insured
    from ncp.store.db import make_engine, session_factory
    from ncp.store.population import Population, SyncCounts

    total = SyncCounts()

    report = _reporter(total)

    try:
        if not skip_bad:  # first pass: check everything, keep nothing but the errors
            for item in read_insured(file, fmt):
                if isinstance(item, BadLine):
                    report(item)
            _refuse_if_bad(total)
        engine = make_engine(get_settings().sqlalchemy_url)
        population = Population(session_factory(engine))
        try:
            good = (i for i in read_insured(file, fmt)
                    if isinstance(i, InsuredPerson) or report(i))  # type: ignore[func-returns-value]
            while batch := list(islice(good, chunk)):
                total.add(population.apply(batch))
        finally:
            engine.dispose()
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    _more(total)
    typer.echo(f"insured persons: {total}")


@registry_app.command("import-professionals")
def import_professionals(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    fmt: str | None = typer.Option(None, "--format", help="csv or jsonl (default: by suffix)"),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="apply the good lines anyway"),
    chunk: int = typer.Option(1000, min=1, max=50000, help="professionals per transaction"),
) -> None:
    """Register professionals; apply changes and retirements (they take effect at once)."""
    from ncp.app import build_runtime
    from ncp.auth.registry_cards import CardCounts, RegistryCards
    from ncp.auth.service import Authenticator
    from ncp.registry.insured import BadLine
    from ncp.registry.professionals import RegisteredProfessional, read_professionals
    from ncp.store.db import session_factory
    from ncp.store.professional_registry import ProfessionalCounts, ProfessionalRegistry

    total = ProfessionalCounts()

    report = _reporter(total)

    try:
        if not skip_bad:
            for item in read_professionals(file, fmt):
                if isinstance(item, BadLine):
                    report(item)
            _refuse_if_bad(total)
        settings = get_settings()
        runtime = build_runtime(settings)  # the key ring, for the card logins it creates
        registry = ProfessionalRegistry(session_factory(runtime.engine))
        cards: RegistryCards | None = None  # made at the first line that lists cards
        card_total = CardCounts()
        listed = False
        try:
            good = (i for i in read_professionals(file, fmt)
                    if isinstance(i, RegisteredProfessional)
                    or report(i))  # type: ignore[func-returns-value]
            while batch := list(islice(good, chunk)):
                total.add(registry.apply(batch))
                listed = listed or any(i.cards for i in batch)
                if cards is None and any(i.cards is not None for i in batch):
                    cards = RegistryCards(
                        Authenticator(session_factory(runtime.engine), runtime.records),
                        _card_issuers(settings))
                if cards is None:
                    continue
                done = cards.apply(batch)
                for name in ("registered", "revoked", "logins"):
                    setattr(card_total, name, getattr(card_total, name) + getattr(done, name))
        finally:
            runtime.engine.dispose()
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(f"professionals: {total}")
    typer.echo(f"cards: {card_total}")
    if listed and cards is not None and not cards.issuers:
        typer.echo("no card-issuer anchor (purpose card) of our country in the trust list: "
                   "no card was registered", err=True)
        raise typer.Exit(1)


def _card_issuers(settings: object) -> list[str]:
    from ncp.auth.registry_cards import card_issuers

    try:
        return card_issuers(settings.trust_list_path, settings.country_code)  # type: ignore[attr-defined]
    except (OSError, ValueError) as exc:
        typer.echo(f"cards not registered: {exc}", err=True)
        return []


@registry_app.command("merge")
def merge(
    provisional_id: str = typer.Argument(..., help="The provisional identifier (P + 12 digits)"),
    matricule: str = typer.Argument(..., help="The person's matricule"),
    operator: str = typer.Option(..., "--operator", help="Who merges (for the access log)"),
    force: bool = typer.Option(False, "--force", help="merge into a deceased or closed "
                               "record, or across different birth dates, all the same"),
) -> None:
    """Merge a DSP opened at a visit into the DSP of the person's matricule (or give it the
    matricule when no DSP has it yet). Idempotent; refused (exit 1) when a rule forbids it."""
    from ncp.app import build_runtime
    from ncp.store.errors import InvalidInput, NotFound
    from ncp.store.merge import merge_records

    runtime = build_runtime(get_settings())
    try:
        report = merge_records(runtime.records, provisional_id, matricule, operator=operator,
                               force=force)
    except (InvalidInput, NotFound) as exc:
        typer.echo(f"refused: {exc}; nothing written", err=True)
        raise typer.Exit(1) from None
    finally:
        runtime.engine.dispose()
    typer.echo(str(report))


@registry_app.command("provisional")
def provisional_records() -> None:
    """List the open DSPs opened at a visit, each with the register's DSPs that carry the same
    birth date and names (a hint for ``ncp registry merge``; nothing is merged from it)."""
    from ncp.app import build_runtime
    from ncp.store.merge import merge_candidates

    runtime = build_runtime(get_settings())
    try:
        found = merge_candidates(runtime.records)
    finally:
        runtime.engine.dispose()
    for c in found:
        typer.echo(f"{c.provisional_id}  {c.name}  born {c.birth_date}  opened "
                   f"{c.opened_at:%Y-%m-%d}  likely: {', '.join(c.matricules) or '-'}")
    typer.echo(f"{len(found)} open provisional DSP(s)")


@registry_app.command("import-services")
def import_services(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    fmt: str | None = typer.Option(None, "--format", help="csv or jsonl (default: by suffix)"),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="apply the good lines anyway"),
    chunk: int = typer.Option(5000, min=1, max=50000, help="lines per transaction"),
) -> None:
    """Add the insurer's reimbursed services and examinations to each patient's summary of
    services (a new version when something is new or corrected; idempotent)."""
    from ncp.app import build_runtime
    from ncp.registry.insured import BadLine
    from ncp.registry.services import ServiceLine, read_services
    from ncp.store.services import ServiceCounts, ServicesSummaries

    total = ServiceCounts()

    report = _reporter(total)

    runtime = build_runtime(get_settings())
    summaries = ServicesSummaries(runtime.records)
    today = runtime.records.clock().date()
    try:
        if not skip_bad:  # first pass: the lines, then whether each matricule has a DSP
            pending: list[ServiceLine] = []

            def check(lines: list[ServiceLine]) -> None:
                known = summaries.known([x.matricule for x in lines])
                for x in lines:
                    if x.matricule not in known:
                        report(BadLine(x.line, "no DSP for this matricule"))

            for item in read_services(file, fmt, today=today):
                if isinstance(item, BadLine):
                    report(item)
                    continue
                pending.append(item)
                if len(pending) >= chunk:
                    check(pending)
                    pending = []
            check(pending)
            _refuse_if_bad(total)
        good = (i for i in read_services(file, fmt, today=today)
                if isinstance(i, ServiceLine) or report(i))  # type: ignore[func-returns-value]
        while batch := list(islice(good, chunk)):
            done = summaries.apply(batch)
            for line in done.unknown:
                report(BadLine(line, "no DSP for this matricule"))
            total.add(done)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    finally:
        runtime.engine.dispose()
    _more(total)
    typer.echo(f"services: {total}")


@registry_app.command("import-referring")
def import_referring(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    fmt: str | None = typer.Option(None, "--format", help="csv or jsonl (default: by suffix)"),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="apply the good lines anyway"),
    chunk: int = typer.Option(5000, min=1, max=50000, help="declarations per transaction"),
) -> None:
    """Apply the insurer's referring-doctor declarations (start and end); then make each
    patient's referring doctor the one whose declaration runs today (run it daily)."""
    from ncp.registry.insured import BadLine
    from ncp.registry.referring import Declaration, read_declarations
    from ncp.store.db import make_engine, session_factory
    from ncp.store.referring import ReferringCounts, ReferringDeclarations

    total = ReferringCounts()

    report = _reporter(total)

    engine = make_engine(get_settings().sqlalchemy_url)
    feed = ReferringDeclarations(session_factory(engine))
    try:
        if not skip_bad:  # first pass: the lines, then what the database says of each
            good: list[Declaration] = []
            for item in read_declarations(file, fmt):
                if isinstance(item, BadLine):
                    report(item)
                    continue
                good.append(item)
                if len(good) >= chunk:
                    for line, reason in feed.refusals(good):
                        report(BadLine(line, reason))
                    good = []
            for line, reason in feed.refusals(good):
                report(BadLine(line, reason))
            _refuse_if_bad(total)
        lines = (i for i in read_declarations(file, fmt)
                 if isinstance(i, Declaration) or report(i))  # type: ignore[func-returns-value]
        while batch := list(islice(lines, chunk)):
            done = feed.apply(batch)
            for line, reason in done.refused:
                report(BadLine(line, reason))
            total.add(done)
        moved = feed.refresh()
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    finally:
        engine.dispose()
    _more(total)
    typer.echo(f"referring doctors: {total}; {moved} patient(s) with another referring doctor "
               "today")
@registry_app.command("activation-letters")
def activation_letters(
    out: Path = typer.Option(..., "--out", dir_okay=False,
                             help="The CSV file for the mail house (created, never overwritten)"),
    matricules: list[str] = typer.Option([], "--matricule",
                                         help="Only this person (repeat for several)"),
    reissue: bool = typer.Option(False, "--reissue", help="a new letter even when one is "
                                 "still valid (the older code stops working)"),
    valid_days: int = typer.Option(90, min=1, max=365, help="how long the codes are good"),
    url: str = typer.Option("https://dsp.lu/portal/activate", help="the activation page "
                            "printed on the letter"),
) -> None:
    """Issue an activation letter to each person whose DSP the register opened and who has not
    activated it (open, alive, no account, no valid letter yet): one-time codes, stored hashed,
    written in clear only to OUT."""
    import datetime as dt

    from ncp.app import build_runtime
    from ncp.auth.activation import Activation
    from ncp.auth.service import Authenticator
    from ncp.registry.letters import open_private, write_letters
    from ncp.store.db import session_factory

    try:
        handle = open_private(out)
    except FileExistsError:
        typer.echo(f"refused: {out} exists (it may hold codes not yet printed)", err=True)
        raise typer.Exit(1) from None
    runtime = build_runtime(get_settings())
    try:
        with handle:
            try:
                service = Activation(Authenticator(session_factory(runtime.engine),
                                                   runtime.records))
                letters = service.issue(matricules or None, reissue=reissue,
                                        lifetime=dt.timedelta(days=valid_days))
            except BaseException:
                out.unlink()  # nothing was issued: no empty file to mistake for letters
                raise
            count = write_letters(handle, letters, url)
    finally:
        runtime.engine.dispose()
    until = f" (valid until {letters[0].expires_at:%Y-%m-%d})" if letters else ""
    typer.echo(f"activation letters: {count} written to {out}{until}")
