"""The tokenizer, in plain Python: one definition for training (transforms/features.py,
which applies the same pattern in Spark) and for the review page, which must not import
Spark to tokenise one review."""

from __future__ import annotations

import re
from typing import Mapping

TOKEN_PATTERN = r"[a-z0-9']+"
PAD_ID, OOV_ID = 0, 1  # ids every vocabulary reserves; real tokens start at 2


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens, in order: what with_tokens computes in Spark."""
    return re.findall(TOKEN_PATTERN, text.lower())


def ids_of(tokens: list[str], vocab: Mapping[str, int], max_len: int) -> list[int]:
    """Token ids (unknown -> OOV_ID), cut or padded with PAD_ID to exactly max_len."""
    ids = [vocab.get(t, OOV_ID) for t in list(tokens)[:max_len]]
    return ids + [PAD_ID] * (max_len - len(ids))


def token_ids(text: str, vocab: Mapping[str, int], max_len: int) -> list[int]:
    """One text to model input without Spark (the review page): the same lower-casing,
    TOKEN_PATTERN and ids as with_tokens + with_token_ids."""
    return ids_of(tokenize(text), vocab, max_len)
