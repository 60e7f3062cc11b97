"""Reading the project's TOML files (settings, presets) with one-sentence errors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from avatarcam.errors import AvatarcamError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


def read_toml(path: Path, named: str, missing_fix: str, error: type[AvatarcamError]) -> dict[str, Any]:
    """The top-level table of the TOML file at `path`; a missing or malformed file raises
    `error` with one sentence starting with `named` (e.g. "The presets file x.toml"), ending
    with `missing_fix` when the file is not there."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{named} does not exist; {missing_fix}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise error(f"{named} is not valid TOML ({err}); fix that line.") from None
