"""The tokenizer, in plain Python: one definition for training (transforms/features.py,
which applies the same rules and pattern in Spark) and for the review page, which must not
import Spark to tokenise one review.

A text is lower-cased, rewritten by the workload's `TokenizerRules` (configuration:
features.tokenizer), then cut into TOKEN_PATTERN's words. Each rule is one regular
expression written once, in the common subset of Python's and Java's syntax (ASCII
classes only), with its replacement spelled for each engine; tests/transforms check
that both engines give the same tokens.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Mapping

TOKEN_PATTERN = r"[a-z0-9']+"
PAD_ID, OOV_ID = 0, 1  # ids every vocabulary reserves; real tokens start at 2
# What a rule leaves in a token's place: words TOKEN_PATTERN keeps whole, and that real text
# does not use (a review that says "user" keeps its word).
URL, USER, NUMBER = "xxurl", "xxuser", "xxnum"


@dataclass(frozen=True)
class TokenizerRules:
    """Rewrites of the lower-cased text before it is cut into words.

    urls:     http(s)://... and www.... become one token, xxurl
    mentions: @name becomes xxuser (who is addressed rarely says what is meant)
    hashtags: #word becomes word (the tag's word is the word)
    numbers:  123, 4.5, 1,000 become xxnum
    repeats:  a letter written more than this many times in a row is cut to this many
              ("soooooo" and "sooooo" are one word); 0 leaves words as written
    All off is the tokenizer of models stored before the rules existed.
    """

    urls: bool = False
    mentions: bool = False
    hashtags: bool = False
    numbers: bool = False
    repeats: int = 0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "TokenizerRules":
        """Rules as stored (None: stored before rules existed, all off). A rule this code does
        not know (stored by a newer version) is refused: tokenising without it would silently
        give other words. Raises ValueError naming it."""
        unknown = sorted(set(data or {}) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"tokenizer rule(s) {', '.join(unknown)} that this code does not apply")
        return cls(**dict(data or {}))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def steps(self) -> list[tuple[str, str, str]]:
        """(pattern, Python replacement, Java replacement), in the order they apply."""
        out = []
        if self.urls:  # first: a URL holds @, #, digits and letters the other rules would take
            out.append((r"(https?://|www\.)[^ \t\n\r]+", f" {URL} ", f" {URL} "))
        if self.mentions:
            out.append((r"@[a-z0-9_]+", f" {USER} ", f" {USER} "))
        if self.hashtags:
            out.append((r"#([a-z0-9_]+)", r" \1 ", " $1 "))
        if self.numbers:
            out.append((r"[0-9]+([.,][0-9]+)*", f" {NUMBER} ", f" {NUMBER} "))
        if self.repeats > 0:
            n = self.repeats
            out.append((rf"([a-z])\1{{{n},}}", "\\1" * n, "$1" * n))
        return out

    def apply(self, lowered: str) -> str:
        for pattern, python, _java in self.steps():
            lowered = re.sub(pattern, python, lowered)
        return lowered


NO_RULES = TokenizerRules()


def tokenize(text: str, rules: TokenizerRules = NO_RULES) -> list[str]:
    """Lower-cased word tokens, in order: what with_tokens computes in Spark."""
    return re.findall(TOKEN_PATTERN, rules.apply(text.lower()))


def ids_of(tokens: list[str], vocab: Mapping[str, int], max_len: int) -> list[int]:
    """Token ids (unknown -> OOV_ID), cut or padded with PAD_ID to exactly max_len."""
    ids = [vocab.get(t, OOV_ID) for t in list(tokens)[:max_len]]
    return ids + [PAD_ID] * (max_len - len(ids))


def token_ids(text: str, vocab: Mapping[str, int], max_len: int, rules: TokenizerRules = NO_RULES) -> list[int]:
    """One text to model input without Spark (the review page): the same lower-casing,
    rules, TOKEN_PATTERN and ids as with_tokens + with_token_ids."""
    return ids_of(tokenize(text, rules), vocab, max_len)
