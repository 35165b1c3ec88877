"""On-disk cache of compiled schematrons, under ``<var_dir>/cache/schematron/``.

Each compiled schema gets a folder named after the schema and the digest of every source file
(see :attr:`LoadedSchema.digest`), holding ``compiled.xsl`` and a copy of the documents the
stylesheet opens with ``doc()`` (the eHDSI value sets, ``include/voc-*.xml``). ``doc()`` resolves
against the stylesheet's own location, so the folder is self-contained: a later change of the
specification folder cannot silently change a cached validator.

A referenced document missing from the specification (the eHDSI substance value set, too large
for the published export) is written as an empty value set and reported in
:attr:`CompiledSchema.missing_documents`: membership checks against it then fail closed for coded
substances, which the caller must know.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ncp.validation.schematron import (
    COMPILER_VERSION,
    generate_xslt,
    load_schema,
    referenced_documents,
)

_EMPTY_VALUE_SET = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    "<!-- Written by ncp: this value set is not part of the published specification export. -->\n"
    "<valueSets><valueSet><conceptList/></valueSet></valueSets>\n"
)


@dataclass(frozen=True)
class CompiledSchema:
    """Where a compiled schematron lives on disk, and what had to be supplied to build it."""

    schema_path: Path
    stylesheet: Path
    phase: str
    digest: str
    missing_documents: tuple[str, ...]


def cache_root(var_dir: Path) -> Path:
    return Path(var_dir) / "cache" / "schematron"


def source_digest(schema_path: Path, phase: str | None) -> str:
    """Hash of the compiler version, the phase and every schematron/XML file beside the schema.

    Cheaper than resolving the includes (no parsing), and it errs on the safe side: any change in
    the folder, used or not, gives a new cache entry.
    """
    h = hashlib.sha256(f"{COMPILER_VERSION}\0{phase or ''}\0{schema_path.name}".encode())
    folder = schema_path.parent
    for f in sorted(p for p in folder.rglob("*") if p.suffix in (".sch", ".xml") and p.is_file()):
        h.update(f.relative_to(folder).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:20]


_memo: dict[tuple[Path, str | None, Path, int], CompiledSchema] = {}


def _stamp(folder: Path) -> int:
    """A cheap fingerprint (names, sizes, modification times) of the schematron folder, so the
    in-process memo notices an edited file without re-reading megabytes."""
    return hash(tuple(sorted((str(p), st.st_size, st.st_mtime_ns) for p in folder.rglob("*")
                             if p.suffix in (".sch", ".xml") and (st := p.stat()))))


def compiled_schema(schema_path: Path, var_dir: Path, *,
                    phase: str | None = None) -> CompiledSchema:
    """The compiled form of ``schema_path``, compiling it first if the cache has no current copy."""
    schema_path = Path(schema_path).resolve()
    key = (schema_path, phase, Path(var_dir).resolve(), _stamp(schema_path.parent))
    if key in _memo and _memo[key].stylesheet.is_file():
        return _memo[key]
    digest = source_digest(schema_path, phase)
    folder = cache_root(var_dir) / f"{schema_path.stem}-{digest}"
    meta_file = folder / "meta.json"
    if not meta_file.is_file():
        _build(schema_path, phase, folder)
    meta = json.loads(meta_file.read_text())
    compiled = CompiledSchema(schema_path, folder / "compiled.xsl", meta["phase"], digest,
                              tuple(meta["missing_documents"]))
    _memo[key] = compiled
    return compiled


def _build(schema_path: Path, phase: str | None, folder: Path) -> None:
    schema = load_schema(schema_path, phase=phase)
    meta_file = folder / "meta.json"
    folder.parent.mkdir(parents=True, exist_ok=True)
    # Build in a temporary folder and rename: two processes compiling at once never see half a
    # cache entry.
    work = Path(tempfile.mkdtemp(prefix=f".{schema.path.stem}-", dir=folder.parent))
    try:
        missing = []
        for rel in sorted(referenced_documents(schema)):
            if rel.startswith(("/", "http:", "https:", "file:")) or ".." in Path(rel).parts:
                raise ValueError(f"schematron references a document outside its folder: {rel}")
            source = schema.path.parent / rel
            target = work / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_file():
                shutil.copyfile(source, target)
            else:
                missing.append(rel)
                target.write_text(_EMPTY_VALUE_SET, encoding="utf-8")
        generated = generate_xslt(schema)
        (work / "compiled.xsl").write_bytes(generated.xslt)
        (work / "meta.json").write_text(json.dumps({
            "schema": str(schema.path), "phase": schema.phase, "missing_documents": missing,
            "document_parameters": generated.document_parameters,
        }, indent=1))
        try:
            os.rename(work, folder)
        except OSError:
            if not meta_file.is_file():  # someone else won the race only if the entry exists
                raise
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
