# ruff: noqa: B008  (typer declares options as argument defaults)
"""``ncp peers ...``: the directory of foreign gateways.

    ncp peers list
    ncp peers import-smp FILE... [--pin SHA256]... [--anchor PEM]... [--at ISO-DATE]
    ncp peers add CC --name N --home-community-id OID --base-url URL [--tls-anchor PEM]
                     [--signing-anchor PEM] [--ism FILE]
                     [--option role_codes=group|precise] [--option xdr=mtom|inline]
    ncp peers set CC [--home-community-id OID] [--option KEY=VALUE]...
    ncp peers import-ism FILE [--country CC]
    ncp peers remove CC

SMP records carry no home community id: an imported peer stays unusable (every call is refused
before anything is sent) until ``ncp peers set CC --home-community-id OID`` gives it; ``list``
says so.

An SMP record is imported only when both its signatures (the SMP server's and the country's)
verify with certificates that are pinned or issued by a given anchor, valid at ``--at``
(default now): see :mod:`ncp.peers.smp`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from cryptography import x509

from ncp.settings import get_settings

peers_app = typer.Typer(help="Foreign national contact points (initiating side).",
                        no_args_is_help=True)


def _store():  # type: ignore[no-untyped-def]
    from ncp.store.db import make_engine, session_factory
    from ncp.store.peers import PeerStore

    engine = make_engine(get_settings().sqlalchemy_url)
    return PeerStore(session_factory(engine)), engine


@peers_app.command("list")
def list_peers() -> None:
    """Every known gateway: country, home community id, endpoints, anchors, search mask."""
    from ncp.peers.ism import IsmError, parse_search_mask

    store, engine = _store()
    try:
        peers = store.all()
    finally:
        engine.dispose()
    if not peers:
        typer.echo("no foreign gateway is known (ncp peers import-smp / ncp peers add)")
        return
    for p in peers:
        typer.echo(f"{p.country}  {p.name}  home community {p.home_community_id or '-'}  "
                   f"(source {p.source}, updated {p.updated_at:%Y-%m-%d %H:%M})")
        missing = missing_for_calls(p)
        if missing:
            typer.echo(f"    NOT USABLE, missing: {', '.join(missing)}")
        if p.options:
            typer.echo("    options: " + ", ".join(f"{k}={v}" for k, v in p.options.items()))
        for tx, url in sorted(p.endpoints.items()):
            typer.echo(f"    {tx:7} {url}")
        for label, pem in (("TLS anchor", p.tls_anchor_pem),
                           ("signing anchor", p.signing_anchor_pem)):
            if pem:
                certs = x509.load_pem_x509_certificates(pem.encode())
                typer.echo(f"    {label}: " + "; ".join(c.subject.rfc4514_string()
                                                       for c in certs))
        if p.search_mask:
            try:
                mask = parse_search_mask(p.search_mask.encode(), p.country)
                fields = ", ".join(f"{f.kind}{'*' if f.mandatory else ''}"
                                   f"{'@' + f.domain if f.domain else ''}" for f in mask.fields)
                typer.echo(f"    search mask: {fields}")
            except IsmError as exc:
                typer.echo(f"    search mask unreadable: {exc}")


def missing_for_calls(peer) -> list[str]:  # type: ignore[no-untyped-def]
    """What a peer entry lacks before our client may call it."""
    missing = []
    if not peer.home_community_id:
        missing.append("home community id (ncp peers set CC --home-community-id OID)")
    if "ITI-55" not in peer.endpoints:
        missing.append("ITI-55 endpoint")
    if not peer.search_mask:
        missing.append("search mask")
    return missing


def _options(items: list[str]) -> dict[str, str]:
    from ncp.store.peers import check_options

    options = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"{item!r} is not KEY=VALUE")
        options[key.strip()] = value.strip()
    try:
        return check_options(options)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@peers_app.command("import-smp")
def import_smp(
    files: list[Path] = typer.Argument(..., exists=True, dir_okay=False,
                                       help="Signed SMP records (SignedServiceMetadata)."),
    pin: list[str] = typer.Option([], help="SHA-256 fingerprint (hex) of a trusted signer."),
    anchor: list[Path] = typer.Option([], exists=True, dir_okay=False,
                                      help="PEM file of a CA trusted to issue signers."),
    at: str = typer.Option("", help="Check certificates as of this ISO date (archived "
                                    "records); default now."),
) -> None:
    """Import signed SMP records after verifying both their signatures; a record that fails
    is refused (exit code 1) and nothing of it is stored."""
    from ncp.peers.smp import SmpError, fingerprint, verify_smp_record

    anchors = [c for a in anchor for c in x509.load_pem_x509_certificates(a.read_bytes())]
    when = None
    if at:
        when = dt.datetime.fromisoformat(at)
        when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    store, engine = _store()
    failed = 0
    try:
        for path in files:
            try:
                record = verify_smp_record(path.read_bytes(), anchors=anchors, pinned=pin,
                                           at=when)
            except SmpError as exc:
                failed += 1
                typer.echo(f"{path}: REFUSED {exc.reason}: {exc.detail}", err=True)
                continue
            endpoints = {} if record.transaction == "ISM" else \
                {record.transaction: record.endpoint_url}
            if record.transaction == "ITI-38":  # XCA query and retrieve share a service
                endpoints.setdefault("ITI-39", record.endpoint_url)
            store.upsert(country=record.country, name=f"NCPeH {record.country}",
                         home_community_id="", endpoints=endpoints,
                         source=f"smp:{record.participant}", now=dt.datetime.now(dt.UTC),
                         tls_anchor_pem=record.endpoint_certificate_pem(),
                         search_mask=record.search_mask_xml)
            typer.echo(f"{path}: {record.country} {record.transaction} "
                       f"{record.endpoint_url or '(search mask)'}; signed by SMP "
                       f"{fingerprint(record.smp_signer)[:16]}..., country "
                       f"{fingerprint(record.country_signer)[:16]}...")
    finally:
        engine.dispose()
    if failed:
        raise typer.Exit(1)


@peers_app.command("add")
def add(
    country: str = typer.Argument(..., help="ISO 3166 alpha-2 code."),
    name: str = typer.Option(..., help="Display name."),
    home_community_id: str = typer.Option(..., help="Home community id (OID)."),
    base_url: str = typer.Option("", help="Base URL of a gateway running this software "
                                          "(endpoints /ws/xcpd, /ws/xca, /ws/xdr)."),
    endpoint: list[str] = typer.Option([], help="TX=URL, e.g. ITI-55=https://..."),
    tls_anchor: Path | None = typer.Option(None, exists=True, dir_okay=False),
    signing_anchor: Path | None = typer.Option(None, exists=True, dir_okay=False),
    ism: Path | None = typer.Option(None, exists=True, dir_okay=False,
                                    help="The country's International Search Mask."),
    option: list[str] = typer.Option([], help="KEY=VALUE: role_codes=group|precise, "
                                              "xdr=mtom|inline."),
) -> None:
    """Add or replace a gateway by hand (development peers, or values agreed bilaterally)."""
    options = _options(option)
    from ncp.peers.client import default_endpoints
    from ncp.peers.ism import parse_search_mask

    endpoints = default_endpoints(base_url) if base_url else {}
    for item in endpoint:
        tx, _, url = item.partition("=")
        endpoints[tx.strip()] = url.strip()
    mask = None
    if ism is not None:
        data = ism.read_bytes()
        parse_search_mask(data, country.upper())  # refuse an unreadable mask now
        mask = data.decode("utf-8")
    store, engine = _store()
    try:
        store.upsert(country=country, name=name, home_community_id=home_community_id,
                     endpoints=endpoints, source="manual", now=dt.datetime.now(dt.UTC),
                     tls_anchor_pem=tls_anchor.read_text() if tls_anchor else None,
                     signing_anchor_pem=signing_anchor.read_text() if signing_anchor else None,
                     search_mask=mask, merge=False, options=options)
    finally:
        engine.dispose()
    typer.echo(f"{country.upper()}: {len(endpoints)} endpoints")


@peers_app.command("set")
def set_peer(
    country: str = typer.Argument(..., help="ISO 3166 alpha-2 code of a known peer."),
    home_community_id: str = typer.Option("", help="Home community id (OID)."),
    option: list[str] = typer.Option([], help="KEY=VALUE: role_codes=group|precise, "
                                              "xdr=mtom|inline."),
) -> None:
    """Complete a known entry (e.g. one imported from SMP) without replacing the rest."""
    from ncp.store.errors import NotFound

    options = _options(option)
    if home_community_id and not all(p.isdigit() for p in home_community_id.split(".")):
        raise typer.BadParameter("the home community id is an OID (digits and dots)")
    store, engine = _store()
    try:
        try:
            known = store.get(country)
        except NotFound:
            typer.echo(f"{country.upper()}: not known", err=True)
            raise typer.Exit(1) from None
        peer = store.upsert(country=country, name="", home_community_id=home_community_id,
                            endpoints={}, source=known.source, now=dt.datetime.now(dt.UTC),
                            options=options)
    finally:
        engine.dispose()
    missing = missing_for_calls(peer)
    typer.echo(f"{peer.country}: home community {peer.home_community_id or '-'}"
               + (f"; still missing: {', '.join(missing)}" if missing else ""))


@peers_app.command("import-ism")
def import_ism(file: Path = typer.Argument(..., exists=True, dir_okay=False),
               country: str = typer.Option("", help="When the mask does not name it.")) -> None:
    """Set a country's International Search Mask from its published form."""
    from ncp.peers.ism import parse_search_mask

    data = file.read_bytes()
    mask = parse_search_mask(data, country.upper() or None)
    store, engine = _store()
    try:
        store.upsert(country=mask.country, name="", home_community_id="", endpoints={},
                     source=f"ism:{file.name}", now=dt.datetime.now(dt.UTC),
                     search_mask=data.decode("utf-8"))
    finally:
        engine.dispose()
    typer.echo(f"{mask.country}: {len(mask.fields)} search fields")


@peers_app.command("remove")
def remove(country: str) -> None:
    store, engine = _store()
    try:
        gone = store.remove(country)
    finally:
        engine.dispose()
    typer.echo(f"{country.upper()}: {'removed' if gone else 'not known'}")
    if not gone:
        raise typer.Exit(1)
