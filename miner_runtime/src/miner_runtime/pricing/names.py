"""Team names: validators send SportsDataIO's full names ("Kansas City Chiefs"); results
and odds sources spell some teams differently ("LA Clippers", "Man United").

Every name is reduced to a key (accents, punctuation, case and club suffixes such as "FC"
removed), then an alias table maps other spellings' keys to one canonical key per team.
The table ships with the package (`data/team_aliases.json`) and operators extend it with
`pricing.team_aliases`. The reference miner matched by abbreviation and so never found a
team; a key match on full names with aliases is what makes history usable.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources

# Words that clubs carry or drop depending on the source.
_NOISE = frozenset({"fc", "cf", "afc", "sc", "ac", "cfc", "the", "club", "de", "calcio", "1"})
_NON_ALNUM = re.compile(r"[^a-z0-9 ]+")


@lru_cache(maxsize=8192)
def name_key(name: str) -> str:
    """ "Atlético de Madrid" -> "atletico madrid"; "Brighton & Hove Albion FC" -> "brighton
    hove albion". Stable, so keys can be stored."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    words = _NON_ALNUM.sub(" ", plain.lower().replace("&", " ")).split()
    kept = [w for w in words if w not in _NOISE]
    return " ".join(kept or words)


def _shipped_aliases() -> dict[str, str]:
    text = resources.files("miner_runtime.pricing").joinpath("data/team_aliases.json").read_text()
    table: dict[str, list[str]] = json.loads(text)
    return {
        name_key(alias): name_key(canonical)
        for canonical, aliases in table.items()
        for alias in aliases
    }


class TeamNames:
    """Maps any known spelling of a team to its canonical key."""

    def __init__(self, extra_aliases: Mapping[str, str] | None = None) -> None:
        self._aliases = _shipped_aliases()
        for alias, canonical in (extra_aliases or {}).items():
            self._aliases[name_key(alias)] = name_key(canonical)

    def canonical(self, name: str) -> str:
        key = name_key(name)
        return self._aliases.get(key, key)
