"""XML Schemas of the IHE transactions, loaded once per process.

An :class:`lxml.etree.XMLSchema` takes tens of milliseconds to build, so each file is compiled
at most once per process and shared by the gateway and the tests. Schema files are the
published ones under ``../shared/specs/xsd`` (see ``../shared/specs/README.md``);
``NCP_SPECS_DIR`` points elsewhere when the layout differs.

Schema documents are parsed with network access off: every import in the shipped XSDs is a
relative ``schemaLocation``.
"""

from __future__ import annotations

import functools
import os
import threading
from pathlib import Path
from typing import Literal

from lxml import etree

from ncp.ihe.errors import MessageError
from ncp.ihe.registry import Transaction
from ncp.settings import default_specs_dir

#: The project checkout is ``<root>/main``; the shared artefacts are ``<root>/shared/specs``.

#: Compiled schemas with their lock. One validator object keeps one ``error_log``, so concurrent
#: validations with the same schema are serialized to report each its own first error.
_compiled: dict[Path, tuple[etree.XMLSchema, threading.Lock]] = {}
_compile_lock = threading.Lock()


class SchemaViolation(MessageError):
    """The element does not validate against the transaction's XML Schema."""


def specs_dir() -> Path:
    """Folder of the eHDSI artefacts: ``$NCP_SPECS_DIR`` or ``<checkout>/../shared/specs``."""
    return default_specs_dir()


@functools.lru_cache(maxsize=256)
def _schema_path(specs_env: str | None, relative: str) -> Path:
    """``specs/xsd/<relative>``, resolved; cached per ``$NCP_SPECS_DIR`` value (the key).

    Why: resolving walks the file system (one ``lstat`` per path component) and building the
    paths is pure-Python work, on every validated request otherwise.
    """
    return (specs_dir() / "xsd" / relative).resolve()


def _path(relative: str) -> Path:
    return _schema_path(os.environ.get("NCP_SPECS_DIR"), relative)


def _load(path: Path) -> tuple[etree.XMLSchema, threading.Lock]:
    entry = _compiled.get(path)
    if entry is None:
        with _compile_lock:
            entry = _compiled.get(path)
            if entry is None:
                parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
                schema = etree.XMLSchema(etree.parse(str(path), parser=parser))
                entry = _compiled[path] = (schema, threading.Lock())
    return entry


def load_schema(relative: str) -> etree.XMLSchema:
    """The compiled schema ``specs/xsd/<relative>`` (compiled on first use, then cached)."""
    return _load(_path(relative))[0]


def schema_for(transaction: Transaction, direction: Literal["request", "response"]
               ) -> etree.XMLSchema:
    """The schema validating the request or response body of ``transaction``."""
    rel = transaction.request_schema if direction == "request" else transaction.response_schema
    return load_schema(rel)


def validate(element: etree._Element, relative: str) -> None:
    """Validate ``element`` (a document or any element, e.g. a SOAP Body child) against
    ``specs/xsd/<relative>``; raise :class:`SchemaViolation` with the first error."""
    schema, lock = _load(_path(relative))
    with lock:
        ok = schema.validate(element)
        log = schema.error_log
    if not ok:
        first = log[0] if len(log) else None
        detail = first.message if first is not None else "schema validation failed"
        line = f"line {first.line}" if first is not None else ""
        raise SchemaViolation(f"{Path(relative).name}: {detail}", location=line)


def validate_body(element: etree._Element, transaction: Transaction,
                  direction: Literal["request", "response"]) -> None:
    """Validate a request or response body element of ``transaction``."""
    rel = transaction.request_schema if direction == "request" else transaction.response_schema
    validate(element, rel)
