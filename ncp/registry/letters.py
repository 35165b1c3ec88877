"""The activation letters' file for the mail house (``ncp registry activation-letters``).

One CSV line per letter (UTF-8, comma-separated, a header line): the person's name and
postal address as the social-security register gave them, the language of the letter, the
code in clear and its last valid day, and the portal page where it is entered. The file is the
only place the codes exist in clear (the store keeps their hashes): it is created readable by
its owner only, and is to be deleted once the mail house has printed it. The format is in
docs/registry.md with an example in docs/examples/activation-letters.csv.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from ncp.auth.activation import Letter

COLUMNS = ("matricule", "given_name", "family_name", "street", "postal_code", "city",
           "country", "language", "code", "valid_until", "activation_url")


def _last_day(expires_at: dt.datetime) -> str:
    """The last day the code is good on, as a date a person reads (the expiry is at midnight
    UTC of the following day or earlier)."""
    return (expires_at - dt.timedelta(microseconds=1)).date().isoformat()


def write_letters(out: TextIO, letters: Iterable[Letter], activation_url: str) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    count = 0
    for x in letters:
        r = x.recipient
        writer.writerow([r.matricule, r.given_name, r.family_name, r.street or "",
                         r.postal_code or "", r.city or "", r.country, r.language, x.code,
                         _last_day(x.expires_at), activation_url])
        count += 1
    return count


def open_private(path: Path) -> TextIO:
    """A new file only its owner can read (refuses to overwrite: codes are not to be lost)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return os.fdopen(fd, "w", encoding="utf-8", newline="")
