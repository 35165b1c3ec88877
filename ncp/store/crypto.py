"""Encryption at rest: each document under its own data key, wrapped by a master key.

Envelope encryption: content is sealed with AES-256-GCM under a fresh 256-bit data key; the data
key is wrapped with AES key wrap (RFC 3394) under the active master key, whose id is stored with
the row. Rotating the master key therefore re-wraps 40-byte keys, not documents, and can run
online: readers find the old master key in the key ring until the rotation has finished.

The GCM associated data binds each ciphertext to its document's unique id, so a ciphertext copied
onto another row is detected like any other modification (:class:`TamperedContent`).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap


class TamperedContent(Exception):
    """A stored ciphertext or wrapped key failed its integrity check; nothing is returned."""


class UnknownMasterKey(Exception):
    """A row names a master key that the key ring does not hold."""


@dataclass(frozen=True, slots=True)
class Sealed:
    key_id: str
    wrapped_key: bytes
    nonce: bytes
    ciphertext: bytes


class KeyRing:
    """The master keys: one active (for new rows), older ones kept for reading until re-wrapped."""

    def __init__(self, keys: dict[str, bytes], active: str) -> None:
        if active not in keys:
            raise ValueError("the active master key is not in the key ring")
        for key_id, key in keys.items():
            if len(key) != 32:
                raise ValueError(f"master key {key_id!r} is not 256 bits")
        self._keys = dict(keys)
        self.active = active

    @property
    def key_ids(self) -> list[str]:
        return list(self._keys)

    def master(self, key_id: str) -> bytes:
        try:
            return self._keys[key_id]
        except KeyError:
            raise UnknownMasterKey(key_id) from None

    def seal(self, plaintext: bytes, *, aad: bytes) -> Sealed:
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(12)
        ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, aad)
        return Sealed(self.active, self.wrap(self.active, data_key), nonce, ciphertext)

    def open(self, sealed: Sealed, *, aad: bytes) -> bytes:
        try:
            data_key = self.unwrap(sealed.key_id, sealed.wrapped_key)
            return AESGCM(data_key).decrypt(sealed.nonce, sealed.ciphertext, aad)
        except (InvalidUnwrap, InvalidTag):
            raise TamperedContent("stored content failed its integrity check") from None

    def envelope(self) -> tuple[str, bytes, bytes]:
        """A fresh data key for one row: (master key id, wrapped data key, data key)."""
        data_key = AESGCM.generate_key(bit_length=256)
        return self.active, self.wrap(self.active, data_key), data_key

    def data_key(self, key_id: str, wrapped_key: bytes) -> bytes:
        """A row's data key, unwrapped (for :func:`seal_text` / :func:`open_text`)."""
        try:
            return self.unwrap(key_id, wrapped_key)
        except InvalidUnwrap:
            raise TamperedContent("a wrapped data key failed its integrity check") from None

    def rewrap(self, key_id: str, wrapped_key: bytes) -> bytes:
        """The data key re-wrapped under the active master key."""
        try:
            data_key = self.unwrap(key_id, wrapped_key)
        except InvalidUnwrap:
            raise TamperedContent("a wrapped data key failed its integrity check") from None
        return self.wrap(self.active, data_key)

    # -- the two operations that touch a master key: the hook point of a KMS or an HSM.
    # A PKCS#11 ring overrides these with C_WrapKey / C_UnwrapKey (CKM_AES_KEY_WRAP, RFC 3394)
    # on a token-resident key named by ``key_id``, so the master key never enters the process;
    # everything else (data keys, AES-GCM, rotation, the archive) stays as it is. See
    # docs/architecture.md, "Encryption at rest".

    def wrap(self, key_id: str, data_key: bytes) -> bytes:
        return aes_key_wrap(self.master(key_id), data_key)

    def unwrap(self, key_id: str, wrapped_key: bytes) -> bytes:
        return aes_key_unwrap(self.master(key_id), wrapped_key)

    # -- persistence: a JSON file {"active": id, "keys": {id: base64}} readable by its owner only

    @classmethod
    def load(cls, path: Path) -> KeyRing:
        data = json.loads(path.read_text())
        keys = {k: base64.b64decode(v) for k, v in data["keys"].items()}
        return cls(keys, data["active"])

    def save(self, path: Path) -> None:
        """Write the ring durably and atomically: a uniquely named temporary file (0600) in the
        same folder, synced, renamed over ``path``, then the folder synced.

        Why each step: a fixed temporary name let two rotations rename each other's file away
        (FileNotFoundError); without the syncs a power loss after the rename could leave an
        empty ring while the database already names the new key.
        """
        payload = {
            "active": self.active,
            "keys": {k: base64.b64encode(v).decode() for k, v in self._keys.items()},
        }
        write_private_json(path, payload)

    @classmethod
    def load_or_create(cls, path: Path) -> KeyRing:
        """The key ring at ``path``, created with one fresh master key if absent (development)."""
        if path.exists():
            return cls.load(path)
        key_id = new_key_id()
        ring = cls({key_id: secrets.token_bytes(32)}, key_id)
        ring.save(path)
        return ring

    def with_new_active_key(self) -> KeyRing:
        key_id = new_key_id()
        keys = dict(self._keys)
        keys[key_id] = secrets.token_bytes(32)
        return KeyRing(keys, key_id)

    def without(self, key_ids: list[str]) -> KeyRing:
        keys = {k: v for k, v in self._keys.items() if k not in key_ids or k == self.active}
        return KeyRing(keys, self.active)


def seal_text(data_key: bytes, text: str | None, aad: bytes) -> bytes | None:
    """One short value (a title, a reason) sealed under a row's data key: nonce || ciphertext.
    ``None`` stays ``None`` (nothing to hide, and the column keeps meaning "absent")."""
    if text is None:
        return None
    nonce = os.urandom(12)
    return nonce + AESGCM(data_key).encrypt(nonce, text.encode(), aad)


def open_text(data_key: bytes, blob: bytes | None, aad: bytes) -> str | None:
    if blob is None:
        return None
    try:
        return AESGCM(data_key).decrypt(blob[:12], blob[12:], aad).decode()
    except InvalidTag:
        raise TamperedContent("a sealed value failed its integrity check") from None


def write_private_json(path: Path, payload: object) -> None:
    """Replace ``path`` by ``payload`` as JSON, 0600, durably (see :meth:`KeyRing.save`)."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:  # mkstemp creates the file 0600
            json.dump(payload, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def new_key_id() -> str:
    return "mk-" + secrets.token_hex(6)
