"""What every portal page shares: templates and languages, the logged-in person, CSRF, errors.

The portal is a face: it turns a form into a call of the record service (which applies the one
access policy and writes the access log) and the answer into a page. It holds no access rule.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Coroutine
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from ncp.auth.certificates import CardVerifier
from ncp.auth.service import Authenticator, AuthError, Principal
from ncp.portal.content import MAX_UPLOAD_BYTES, UploadRejected, too_large
from ncp.portal.logtext import describe_actor, describe_detail, describe_what
from ncp.store.db import session_factory
from ncp.store.errors import AccessDenied, ContentTampered, NotFound, StoreError
from ncp.terminology.service import DbTerminology, Terminology

LANGUAGES = ("fr", "de", "en")
SESSION_COOKIE = "ncp_session"
LANG_COOKIE = "ncp_lang"
PREFIX = "/portal"

_HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(_HERE / "templates"))
#: Times are shown as a person in Luxembourg reads them, never as unlabelled UTC (item 14).
LOCAL_ZONE = ZoneInfo("Europe/Luxembourg")


def local_time(value: dt.datetime | str | None, with_time: bool = True) -> str:
    """A stored time (aware or naive UTC, or an HL7 ``YYYYMMDDhhmmss`` text) in Luxembourg
    time, ``dd.mm.yyyy hh:mm``."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        match = re.fullmatch(r"(\d{8,14})(?:\.\d+)?([+-]\d{4})?", value.strip())
        if match is None:
            return value
        digits, offset = match.groups()
        zone = dt.timezone(dt.timedelta(hours=int(offset[:3]),
                                        minutes=int(offset[0] + offset[3:]))) if offset else dt.UTC
        parsed = dt.datetime.strptime(digits.ljust(14, "0"), "%Y%m%d%H%M%S")
        value = parsed.replace(tzinfo=zone)
        with_time = with_time and len(digits) >= 12
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    local = value.astimezone(LOCAL_ZONE)
    return local.strftime("%d.%m.%Y %H:%M" if with_time else "%d.%m.%Y")


def day(value: dt.date | str | None) -> str:
    """A calendar day (a birth date: no time zone applies) as ``dd.mm.yyyy``, whether it is
    stored as a date, ISO ``YYYY-MM-DD`` or HL7 ``YYYYMMDD``; anything else as it is."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.date):
        return value.strftime("%d.%m.%Y")
    match = re.fullmatch(r"(\d{4})-?(\d{2})-?(\d{2})\d*", value.strip())
    return f"{match.group(3)}.{match.group(2)}.{match.group(1)}" if match else value


templates.env.filters["local"] = local_time
templates.env.filters["day"] = day


#: The packages whose ``messages/<lang>.json`` make the one catalogue of the portal (the
#: cross-border pages keep theirs beside their templates). A key is defined in one of them.
MESSAGE_PACKAGES = ("ncp.portal", "ncp.crossborder")
#: The country whose portal this is, when no runtime says otherwise.
HOME_COUNTRY = "LU"


def _load(package: str, name: str) -> dict[str, str]:
    path = resources.files(package).joinpath(f"messages/{name}.json")
    return dict(json.loads(path.read_text("utf-8"))) if path.is_file() else {}


@lru_cache(maxsize=4 * len(LANGUAGES))
def catalogue(lang: str, country: str = HOME_COUNTRY) -> dict[str, str]:
    """Every message of one language, English filling any gap; then the country's own words
    (``ncp/portal/messages/<cc>/<lang>.json``: the demo partner's name and identifier label
    when this software plays another country, issue 15 item 19)."""
    merged: dict[str, str] = {}
    for code in ("en",) if lang == "en" else ("en", lang):
        for package in MESSAGE_PACKAGES:
            merged.update(_load(package, code))
    if country != HOME_COUNTRY:
        for code in ("en",) if lang == "en" else ("en", lang):
            merged.update(_load("ncp.portal", f"{country.lower()}/{code}"))
    return merged


def country_of(request: Request) -> str:
    """The country this process serves (``NCP_COUNTRY_CODE``), for its own words."""
    runtime = getattr(request.app.state, "runtime", None)
    return str(getattr(getattr(runtime, "settings", None), "country_code", HOME_COUNTRY)).upper()


def translator(lang: str, country: str = HOME_COUNTRY) -> Callable[..., str]:
    messages = catalogue(lang if lang in LANGUAGES else "fr", country)

    def t(key: str, **values: object) -> str:
        text = messages.get(key, key)
        return text.format(**values) if values else text
    return t


def language(request: Request, principal: Principal | None = None) -> str:
    """``?lang=``, then the language cookie, then the account's, then the browser's; else fr."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in LANGUAGES:
            return candidate
    if principal is not None and principal.account.language in LANGUAGES:
        return principal.account.language
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip()[:2].lower()
        if code in LANGUAGES:
            return code
    return "fr"


def authenticator(request: Request) -> Authenticator:
    """One :class:`Authenticator` per process, built on the app's runtime at first use."""
    app = request.app
    auth = getattr(app.state, "ncp_auth", None)
    if auth is None:
        runtime = app.state.runtime
        settings = runtime.settings
        auth = Authenticator(session_factory(runtime.engine), runtime.records,
                             policy=getattr(app.state, "auth_policy", None),
                             cards=CardVerifier.from_trust_list(settings.trust_list_path,
                                                                settings.country_code))
        app.state.ncp_auth = auth
    return auth


def terminology(request: Request) -> Terminology:
    """The terminology over the app's own database (to check a summary transcodes)."""
    state = request.app.state
    terms = getattr(state, "portal_terminology", None)
    if terms is None:
        terms = state.portal_terminology = DbTerminology(session_factory(state.runtime.engine))
    return terms


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


class LoginRequired(Exception):
    """No (or no longer a) valid session: the route answers with the login page."""


class Forbidden(Exception):
    """A page this kind of account has no business on (e.g. a patient on a professional page)."""


class BadForm(Exception):
    """A form the page cannot act on. ``key`` names the message (``form.*`` in the catalogue)
    the page shows in the reader's language, formatted with ``values``."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values

    @property
    def detail(self) -> str:
        """The message in English (for logs)."""
        return translator("en")(self.key, **self.values)


def current(request: Request) -> Principal:
    """The logged-in person (dependency); a full session is required."""
    principal = authenticator(request).principal(request.cookies.get(SESSION_COOKIE))
    if principal is None:
        raise LoginRequired()
    request.state.principal = principal
    return principal


Current = Annotated[Principal, Depends(current)]


def check_form_origin(request: Request) -> None:
    """Refuse a form posted from another site (in addition to SameSite=Strict cookies)."""
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise Forbidden()  # "null" (a sandboxed or privacy-hidden origin) included


async def require_csrf(request: Request, principal: Principal) -> dict[str, Any]:
    """The posted form, if its CSRF token is the session's; raises :class:`Forbidden`."""
    check_form_origin(request)
    form = await request.form(max_part_size=1024 * 1024)
    request.state.form = form  # closed (temporary files removed) by PortalRoute
    token = form.get("csrf")
    if not isinstance(token, str) or not Authenticator.csrf_ok(principal, token):
        raise Forbidden()
    return dict(form)


def form_date(value: str | None, field: str) -> dt.datetime | None:
    """A ``YYYY-MM-DD`` form field as the start of that day in UTC."""
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise BadForm("form.not_a_date", field=field) from None
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def refuse_oversized(request: Request) -> None:
    """Refuse before reading a body that announces more than an upload may hold."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_UPLOAD_BYTES + 64 * 1024:
        raise too_large()


def done_key(request: Request, lang: str) -> str:
    """``?done=`` if it names a known notice (``done.<key>`` in the catalogue), else nothing.

    Why: the notice is shown as our own words on our own page; an arbitrary text in a link
    ("Your account is suspended, call ...") would be phishing with the portal's voice.
    """
    done = request.query_params.get("done", "")
    return done if done and f"done.{done}" in catalogue(lang) else ""


def page(request: Request, name: str, principal: Principal | None = None,
         status_code: int = 200, **context: Any) -> HTMLResponse:
    lang = language(request, principal)
    t = translator(lang, country_of(request))
    acting_name = ""
    if principal is not None and principal.acting_as_helper:
        helped = dict(authenticator(request).store.helped_patients(principal.account.id))
        acting_name = helped.get(principal.patient_id or 0, "")
    response = templates.TemplateResponse(request, name, {
        "t": t, "lang": lang, "languages": LANGUAGES, "me": principal, "prefix": PREFIX,
        "acting_name": acting_name, "lang_links": language_links(request),
        "done": done_key(request, lang), "log_what": lambda what: describe_what(what, t),
        "log_actor": lambda name: describe_actor(name, t),
        "log_detail": lambda detail: describe_detail(detail, t), **context},
        status_code=status_code)
    remember_language(request, principal, lang, response)
    return response


def confirm_first(request: Request, principal: Principal, form: dict[str, Any],
                  question: str, yes: str, back: str) -> HTMLResponse | None:
    """``None`` when the posted form says ``confirm=yes``; else the confirmation step: a page
    that asks ``question`` and posts the same fields again with ``confirm=yes`` (issue 15 item
    17). A plain form and a link: it works without JavaScript, and a script-less double click
    only ever shows the question."""
    if form.get("confirm") == "yes":
        return None
    fields = [(k, v) for k, v in form.items() if k not in ("csrf", "confirm")
              and isinstance(v, str)]
    return page(request, "confirm.html", principal, action=request.url.path, fields=fields,
                question=question, yes=yes, back=PREFIX + back)


def language_links(request: Request) -> dict[str, str]:
    """Where each language link leads: this very page with its query (uid, repo, filters) and
    only ``lang`` changed. A page that answered a POST cannot be fetched again; its link leads
    to the page the form was on (our own Referer) rather than to a 405 (issue 15 item 11)."""
    path, query = request.url.path, [(k, v) for k, v in request.query_params.multi_items()
                                      if k not in ("lang", "done")]
    if request.method != "GET":
        referer = urlsplit(request.headers.get("referer", ""))
        if referer.netloc == request.headers.get("host", "") and \
                referer.path.startswith(PREFIX + "/"):
            path = referer.path
            query = [(k, v) for k, v in parse_qsl(referer.query) if k not in ("lang", "done")]
        else:
            path, query = PREFIX + "/", []
    return {code: path + "?" + urlencode([*query, ("lang", code)]) for code in LANGUAGES}


def remember_language(request: Request, principal: Principal | None, lang: str,
                      response: Response) -> None:
    """A language chosen by link sticks: cookie, and the account's language."""
    if request.query_params.get("lang") not in LANGUAGES:
        return
    if principal is not None and principal.account.language != lang:
        authenticator(request).store.set_language(principal.account.id, lang)
    response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, httponly=True,
                        samesite="strict", secure=request.url.scheme == "https", path=PREFIX)


def redirect(path: str, done: str | None = None) -> RedirectResponse:
    url = PREFIX + path + (("&" if "?" in path else "?") + f"done={done}" if done else "")
    return RedirectResponse(url, status_code=303)


def harden(response: Response) -> Response:
    """Security headers for every portal answer."""
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'self'; frame-src 'self'; frame-ancestors 'self'; form-action 'self'; "
        "base-uri 'none'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # same-origin, not no-referrer: with no-referrer browsers send "Origin: null" on our own
    # forms, and the origin check needs the real one. Nothing leaves for other sites.
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


class PortalRoute(APIRoute):
    """Turns the typed errors of the services into pages, and hardens every answer."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                response = await handler(request)
            except LoginRequired:
                response = RedirectResponse(f"{PREFIX}/login", status_code=303)
            except Forbidden:
                response = _error(request, 403, "error.forbidden", "")
            except ContentTampered as exc:  # logged by the record service
                response = _error(request, 500, "error.integrity", f"#{exc.error_id[:12]}")
            except AccessDenied as exc:  # the reason stays in the access log
                response = _error(request, 403, "error.denied", f"#{exc.error_id[:12]}")
            except NotFound:
                response = _error(request, 404, "error.not_found", "")
            except BadForm as exc:
                response = _error(request, 400, exc.key, "", values=exc.values)
            except UploadRejected as exc:
                response = _error(request, 400 if exc.reason != "too-large" else 413,
                                  exc.key, "", values=exc.values,
                                  technical=exc.detail if exc.technical else "")
            except AuthError as exc:
                response = _error(request, 403, "error.auth." + exc.reason, "")
            except StoreError as exc:  # InvalidInput included
                response = _error(request, 400, exc.key or "error.invalid", "",
                                  values=exc.values, technical="" if exc.key else exc.detail)
            finally:
                form = getattr(request.state, "form", None)
                if form is not None:
                    await form.close()
            return harden(response)
        return run


def _error(request: Request, status: int, key: str, detail: str, *,
           values: dict[str, object] | None = None, technical: str = "") -> HTMLResponse:
    """The error page: ``key`` (with ``values``) in the reader's language; ``detail`` a
    reference such as an error id; ``technical`` an English message from a schema or a
    service, shown folded below the translated one (issue 15 item 13)."""
    principal = getattr(request.state, "principal", None)
    t = translator(language(request, principal), country_of(request))
    shown = {k: t(f"field.{v}") if k == "field" else v for k, v in (values or {}).items()}
    return page(request, "error.html", principal, status_code=status, message=key,
                values=shown, detail=detail, technical=technical)


def wants_html(request: Request) -> bool:
    """A person's browser (a portal path, the root, or an HTML Accept), not an API client."""
    path = request.url.path
    if path.startswith("/api/"):
        return False
    return path == "/" or path.startswith(PREFIX) or \
        "text/html" in request.headers.get("accept", "")


def _session_principal(request: Request) -> Principal | None:
    try:
        return authenticator(request).principal(request.cookies.get(SESSION_COOKIE))
    except Exception:
        return None


def html_error(request: Request, status: int) -> HTMLResponse:
    """A translated error page in the portal's shell (header, user, languages) for paths and
    methods nobody serves: a browser never sees ``{"detail":"Not Found"}`` (item 12)."""
    principal = _session_principal(request)
    key = {404: "error.not_found", 405: "error.method"}.get(status, "error.invalid")
    return harden(page(request, "error.html", principal, status_code=status, message=key,
                       detail=""))


def html_form_error(request: Request, fields: list[str]) -> HTMLResponse:
    """A form sent with required fields empty: the page says which, in the user's language."""
    login_pages = {PREFIX + "/login": "login.html", PREFIX + "/login/totp": "totp.html"}
    if request.url.path in login_pages:  # the same form again, with the message
        return harden(page(request, login_pages[request.url.path], None, status_code=400,
                           error="error.auth.empty"))
    principal = _session_principal(request)
    t = translator(language(request, principal), country_of(request))
    detail = t("error.missing_fields", fields=", ".join(t(f"field.{f}") if f"field.{f}" in
                                                          catalogue("en") else f
                                                          for f in fields))
    return harden(page(request, "error.html", principal, status_code=400,
                       message="error.invalid", detail=detail))
