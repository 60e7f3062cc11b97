"""Avatars prepared from a portrait once and reused: `run --portrait` looks up the photo's
content hash in a cache folder and prepares it only on the first use (or after an
avatarcam update changed the avatar format)."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from avatarcam.render.avatar import Avatar, AvatarError, load_avatar, prepare_avatar
from avatarcam.render.errors import PortraitError

log = logging.getLogger(__name__)

HASH_BYTES = 16  # hex digits of the content hash in folder names: plenty to keep photos apart


def cache_root() -> Path:
    """Where prepared avatars and exported render graphs are kept ($AVATARCAM_CACHE,
    else $XDG_CACHE_HOME/avatarcam, else ~/.cache/avatarcam)."""
    if "AVATARCAM_CACHE" in os.environ:
        return Path(os.environ["AVATARCAM_CACHE"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "avatarcam"


def avatar_for_portrait(portrait: Path, root: Path | None = None) -> Avatar:
    """The avatar of `portrait`, prepared now if the cache has none."""
    try:
        digest = hashlib.sha256(portrait.read_bytes()).hexdigest()[:HASH_BYTES]
    except OSError as err:
        raise PortraitError(f"Cannot read the portrait {portrait} ({err.strerror}); check the path.") from None
    folder = (root or cache_root()) / "avatars" / digest
    try:
        return load_avatar(folder)
    except AvatarError:
        log.info("Preparing the avatar for %s (once; later runs reuse %s).", portrait, folder)
        return prepare_avatar(portrait, folder)
