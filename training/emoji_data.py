"""Emoji concepts, their captions, and the demo gallery, from registry packages only.

This is the bundled model's training data and the offline demo collection:

- names, groups and subgroups from Unicode's ``emoji-test.txt`` (Debian
  ``unicode-data``), keywords from CLDR ``annotations/en.xml`` (Debian
  ``unicode-cldr-core``);
- their pictures in many designs: :mod:`training.styles`.

Skin-tone variants are left out: they repeat a concept with a colour change.
"""

from __future__ import annotations

import random
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

EMOJI_TEST = Path("/usr/share/unicode/emoji/emoji-test.txt")
CLDR_DIR = Path("/usr/share/unicode/cldr/common")
SKIN_TONES = {chr(c) for c in range(0x1F3FB, 0x1F400)}
# Words that name who does something; "man cook", "woman cook" and "cook" are
# one concept, so the held-out split keeps them on the same side.
_VARIANT_WORDS = {"man", "woman", "person", "men", "women", "people", "face", "boy", "girl"}
_LINE = re.compile(r"^(?P<cps>[0-9A-F ]+?)\s*; fully-qualified\s*# (?P<chars>\S+) E[\d.]+ (?P<name>.+)$")


@dataclass(frozen=True)
class Emoji:
    chars: str  # the emoji itself, e.g. "😀"
    name: str  # Unicode short name, e.g. "grinning face"
    group: str  # e.g. "Smileys & Emotion"
    subgroup: str  # e.g. "face-smiling"
    keywords: tuple[str, ...]  # CLDR keywords, e.g. ("face", "grin")

    @property
    def slug(self) -> str:
        """File-name-safe id, e.g. ``1f600``."""
        return "-".join(f"{ord(c):x}" for c in self.chars if c != "\ufe0f")

    @property
    def concept(self) -> str:
        """Key shared by close variants (man/woman/person forms, cat faces)."""
        words = re.sub(r"[^a-z0-9 ]", " ", self.name.lower()).split()
        kept = [w for w in words if w not in _VARIANT_WORDS]
        return " ".join(sorted(kept or words))

    def captions(self) -> list[str]:
        """Several phrasings of the same emoji, for contrastive training.

        Templates around the name, Unicode's own grouping read as words
        ("animal mammal", "food and drink") and CLDR keywords, so that
        category words and keywords land near the picture, not only names.
        """
        kind = self.subgroup.replace("-", " ")
        group = self.group.replace("&", "and").lower()
        out = [
            self.name,
            f"a {self.name}",
            f"an emoji of {self.name}",
            f"{self.name}, {kind}",
            f"{kind}: {self.name}",
            f"{self.name} ({group})",
        ]
        if self.keywords:
            words = ", ".join(self.keywords)
            out += [words, f"{self.name}: {words}", f"{kind}, {words}"]
        return out


def _keywords() -> dict[str, tuple[str, ...]]:
    """CLDR keywords by emoji (variation selectors stripped)."""
    out: dict[str, tuple[str, ...]] = {}
    for rel in ("annotations/en.xml", "annotationsDerived/en.xml"):
        path = CLDR_DIR / rel
        if not path.exists():
            continue
        for node in ET.parse(path).getroot().iter("annotation"):
            if node.get("type") != "tts" and node.text:
                out[node.get("cp", "").replace("\ufe0f", "")] = tuple(k.strip() for k in node.text.split("|"))
    return out


@lru_cache(maxsize=1)
def read_emoji(test_file: Path = EMOJI_TEST) -> tuple[Emoji, ...]:
    """All fully-qualified emoji without skin tones, in CLDR order."""
    if not test_file.exists():
        raise FileNotFoundError(f"{test_file} is missing: install Debian's unicode-data package")
    keywords = _keywords()
    group = subgroup = ""
    out = []
    for line in test_file.read_text(encoding="utf-8").splitlines():
        if line.startswith("# group:"):
            group = line.split(":", 1)[1].strip()
        elif line.startswith("# subgroup:"):
            subgroup = line.split(":", 1)[1].strip()
        elif (m := _LINE.match(line)) and group != "Component":
            chars = m["chars"]
            if SKIN_TONES.isdisjoint(chars):
                kw = keywords.get(chars.replace("\ufe0f", ""), ())
                out.append(Emoji(chars, m["name"], group, subgroup, kw))
    return tuple(out)


def split_by_concept(emoji: tuple[Emoji, ...], held_out: float = 0.2, seed: int = 0):
    """Split into (train, test) so no concept appears on both sides."""
    concepts = sorted({e.concept for e in emoji})
    random.Random(seed).shuffle(concepts)
    test_concepts = set(concepts[: round(held_out * len(concepts))])
    train = tuple(e for e in emoji if e.concept not in test_concepts)
    test = tuple(e for e in emoji if e.concept in test_concepts)
    return train, test
