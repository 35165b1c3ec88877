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
        wrapped = aes_key_wrap(self._keys[self.active], data_key)
        return Sealed(self.active, wrapped, nonce, ciphertext)

    def open(self, sealed: Sealed, *, aad: bytes) -> bytes:
        try:
            data_key = aes_key_unwrap(self.master(sealed.key_id), sealed.wrapped_key)
            return AESGCM(data_key).decrypt(sealed.nonce, sealed.ciphertext, aad)
        except (InvalidUnwrap, InvalidTag):
            raise TamperedContent("stored content failed its integrity check") from None

    def rewrap(self, key_id: str, wrapped_key: bytes) -> bytes:
        """The data key re-wrapped under the active master key."""
        try:
            data_key = aes_key_unwrap(self.master(key_id), wrapped_key)
        except InvalidUnwrap:
            raise TamperedContent("a wrapped data key failed its integrity check") from None
        return aes_key_wrap(self._keys[self.active], data_key)

    # -- persistence: a JSON file {"active": id, "keys": {id: base64}} readable by its owner only

    @classmethod
    def load(cls, path: Path) -> KeyRing:
        data = json.loads(path.read_text())
        keys = {k: base64.b64decode(v) for k, v in data["keys"].items()}
        return cls(keys, data["active"])

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "active": self.active,
            "keys": {k: base64.b64encode(v).decode() for k, v in self._keys.items()},
        }
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(payload, fh, indent=2)
        os.replace(tmp, path)

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


def new_key_id() -> str:
    return "mk-" + secrets.token_hex(6)
