"""Pseudonymous keys for counting repeat visits, without knowing who came back.

A customer may agree to give an identifier of their choosing (the reference on a letter,
a library card number). The store keeps only a keyed hash of it (HMAC-SHA256 under a
secret that lives outside the store and the centre file), so the same identifier gives
the same key, and the key cannot be turned back into the identifier without the secret.
Without the customer's agreement nothing is kept. The same secret serves every centre in
a store, so a customer seen at two centres is one customer. ``gateway purge`` clears the
keys of old visits.

The secret is read from the file named by ``GATEWAY_PSEUDONYM_KEY_FILE`` or from
``GATEWAY_PSEUDONYM_KEY``. Changing it starts the count afresh: old keys match no new one.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from gateway.errors import NotAllowed

MIN_SECRET = 16


def secret() -> bytes:
    """The pseudonym secret, or a plain sentence saying how to set one."""
    path = os.environ.get("GATEWAY_PSEUDONYM_KEY_FILE")
    if path:
        try:
            value = Path(path).read_bytes().strip()
        except OSError:
            raise NotAllowed(
                f"The pseudonym key file {path} cannot be read; repeat visits are not counted."
            ) from None
    else:
        value = os.environ.get("GATEWAY_PSEUDONYM_KEY", "").strip().encode()
    if len(value) < MIN_SECRET:
        raise NotAllowed(
            "Repeat visits are not counted here: set GATEWAY_PSEUDONYM_KEY_FILE to a file "
            f"holding a secret of at least {MIN_SECRET} characters."
        )
    return value


def repeat_key(identifier: str, key: bytes) -> str:
    """The keyed hash of an identifier, ignoring case and spaces (32 hex digits)."""
    normal = "".join(identifier.split()).casefold()
    if not normal:
        raise NotAllowed("Give the identifier the customer chose, for example a reference.")
    return hmac.new(key, normal.encode(), hashlib.sha256).hexdigest()[:32]
