"""Write a synthetic movie-review corpus in exactly the aclImdb layout.

The real "Large Movie Review" data cannot be downloaded on our machines, so this
generator stands in for it. What it reproduces, and why:

* The layout: ``<root>/train|test/pos|neg/<id>_<rating>.txt``, ``train/unsup/<id>_0.txt``,
  plus the top-level ``README`` and ``imdb.vocab`` and ``train/urls_*.txt`` that the real
  archive carries, so the reader is exercised against everything it will meet.
* Its awkward parts: ``<br />`` tags and other HTML, very short and very long reviews,
  repeated reviews, and a few malformed files (empty, invalid UTF-8, names that do
  not match the pattern, a rating that contradicts its folder, markup only).
* Its difficulty: a review is a sequence of sentiment "units" mixed with neutral
  plot talk. A unit is *plain* ("the acting was superb"), *negated* ("the acting was
  not superb": the adjective's polarity flips) or a *contrast* ("the acting was
  superb, but the plot was dull": the clause after "but" wins). Units agree with the
  review's label only with a probability that grows with how extreme the star
  rating is, as in real reviews. A bag of words sees negated and contrasted
  adjectives with the wrong sign, which caps a linear unigram model in the high
  80s, while a model that reads word order can read those units correctly.

The defaults of :class:`CorpusMix` were calibrated with ``bench/calibrate_corpus.py``.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator

POSITIVE = (
    "great excellent wonderful superb brilliant moving delightful gripping charming memorable "
    "stunning touching clever beautiful masterful compelling engaging fantastic terrific powerful "
    "enjoyable refreshing outstanding remarkable witty sublime heartfelt riveting impressive "
    "amazing funny lovely perfect solid smart thrilling gorgeous haunting inventive tender"
).split()
NEGATIVE = (
    "terrible awful boring dull horrible dreadful painful pointless tedious weak clumsy lifeless "
    "forgettable mediocre predictable bland awkward stupid lame disappointing messy shallow "
    "ridiculous unwatchable sloppy tiresome poor flat annoying laughable cheap incoherent "
    "pretentious wooden muddled bad irritating hollow sluggish dire"
).split()
ASPECTS = (
    "acting plot script direction cinematography soundtrack dialogue ending pacing cast story "
    "score editing photography characters effects humor screenplay premise performance"
).split()
FILM_NOUNS = "film movie picture flick feature production".split()
NAMES = (
    "Anna Marcus Elena Victor Grace Hugo Irene Jonas Karen Leon Maya Nolan Olga Peter Rosa "
    "Simon Tara Walter Yvonne Zack"
).split()
ROLES = "detective teacher soldier nurse painter farmer journalist pilot widow thief doctor singer".split()
PLACES = "Paris|a small town|the desert|New York|a prison|an island|the mountains|Berlin|a farm".split("|")
DEEDS = (
    "returns home after many years|falls in love with a stranger|hunts for a missing brother|"
    "tries to save the family farm|uncovers a plot at work|loses everything in one night|"
    "plans one last job|learns a secret about the past|is stuck on a long journey|"
    "starts a band with old friends"
).split("|")
SYLLABLES = "ka lo ri men tha vor el sa dun bri ol ne gar fi zu ma rek to lin da".split()
INTENSIFIERS = ["", "", "", "very ", "really ", "quite ", "truly ", "rather ", "pretty "]
NEGATORS = ["not", "never", "hardly", "not at all", "not really", "far from"]

# Real IMDB: ratings 1 and 10 are the most common.
POS_RATINGS, POS_WEIGHTS = (7, 8, 9, 10), (2, 3, 3, 5)
NEG_RATINGS, NEG_WEIGHTS = (1, 2, 3, 4), (5, 3, 3, 2)


@dataclass(frozen=True)
class CorpusMix:
    """How sentiment units are mixed into reviews (the corpus's difficulty knobs)."""

    p_negated: float = 0.15  # share of units that are negated
    p_contrast: float = 0.15  # share of units that are "A, but B" contrasts
    agree_min: float = 0.78  # P(unit agrees with label) at the mildest rating (4 or 7)
    agree_max: float = 0.94  # ... and at the most extreme rating (1 or 10)
    units_per_100_words: float = 4.0
    p_duplicate: float = 0.005  # share of reviews that repeat another review verbatim
    p_very_short: float = 0.01
    p_very_long: float = 0.005
    p_extra_html: float = 0.05  # <i>, <b>, <a>, entities beside the ubiquitous <br />


@dataclass
class CorpusSummary:
    """What was written; saved as ``crosslake_manifest.json`` beside the splits."""

    root: str
    counts: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    malformed: dict[str, str] = field(default_factory=dict)  # relative path -> kind

    @property
    def total_files(self) -> int:
        return sum(self.counts.values()) + len(self.malformed)


def _zipf_choice(rng: random.Random, words: list[str] | tuple[str, ...]) -> str:
    # Mildly skewed word frequencies: some adjectives are common, some rare, as in text.
    idx = int(len(words) * rng.random() ** 1.6)
    return words[min(idx, len(words) - 1)]


class _ReviewWriter:
    def __init__(self, rng: random.Random, mix: CorpusMix):
        self.rng, self.mix = rng, mix

    def adjective(self, positive: bool) -> str:
        return _zipf_choice(self.rng, POSITIVE if positive else NEGATIVE)

    def unit(self, positive: bool) -> str:
        """One sentiment unit whose meaning (read in order) is `positive`."""
        r, mix = self.rng, self.mix
        aspect = r.choice(ASPECTS)
        roll = r.random()
        if roll < mix.p_negated:
            neg = r.choice(NEGATORS)
            adj = self.adjective(not positive)
            return r.choice([
                f"The {aspect} was {neg} {adj}.",
                f"I have to say the {aspect} is {neg} {adj}.",
                f"Honestly, this {r.choice(FILM_NOUNS)} is {neg} {adj}.",
            ])
        if roll < mix.p_negated + mix.p_contrast:
            first, last = self.adjective(not positive), self.adjective(positive)
            other = r.choice(ASPECTS)
            return r.choice([
                f"The {aspect} was {first}, but the {other} was {last}.",
                f"Sure, the {aspect} is {first} but overall it is {last}.",
                f"Some call it {first}, but I thought it was {last}.",
            ])
        adj, inten = self.adjective(positive), r.choice(INTENSIFIERS)
        return r.choice([
            f"The {aspect} was {inten}{adj}.",
            f"What a {adj} {r.choice(FILM_NOUNS)}!",
            f"{r.choice(NAMES)} gives a {inten}{adj} performance.",
            f"I found the {aspect} {inten}{adj}.",
            f"All in all a {adj} {r.choice(FILM_NOUNS)}.",
        ])

    def name(self) -> str:
        """A character or actor name: a few common ones, and a long tail of rare ones, as in
        real reviews (it gives the vocabulary the long tail its size cap has to cut)."""
        r = self.rng
        if r.random() < 0.5:
            return r.choice(NAMES)
        return "".join(r.choice(SYLLABLES) for _ in range(r.randint(2, 3))).capitalize()

    def filler(self) -> str:
        r = self.rng
        return r.choice([
            f"The story follows {self.name()}, a {r.choice(ROLES)} who {r.choice(DEEDS)}.",
            f"It is set in {r.choice(PLACES)} and {self.name()} {r.choice(DEEDS)}.",
            f"I watched this {r.choice(FILM_NOUNS)} with {r.choice(['my wife', 'a friend', 'my kids', 'my dad'])} last {r.choice(['night', 'week', 'month'])}.",
            f"{self.name()} plays the {r.choice(ROLES)} and {self.name()} plays the {r.choice(ROLES)}.",
            f"There is a long scene in {r.choice(PLACES)} near the middle.",
            f"It runs about {r.randint(80, 180)} minutes.",
        ])

    def review(self, positive: bool, rating: int) -> str:
        r, mix = self.rng, self.mix
        roll = r.random()
        if roll < mix.p_very_short:
            return self.adjective(positive).capitalize() + "."
        if roll < mix.p_very_short + mix.p_very_long:
            n_words = r.randint(1800, 2600)
        else:
            n_words = int(min(1000, max(25, r.lognormvariate(5.2, 0.55))))
        extremity = abs(rating - 5.5) - 1.5  # 0 at ratings 4/7, 3 at 1/10
        agree = mix.agree_min + (mix.agree_max - mix.agree_min) * extremity / 3.0
        n_units = max(1, round(n_words * mix.units_per_100_words / 100))
        sentences = [self.unit(positive if r.random() < agree else not positive) for _ in range(n_units)]
        words = sum(len(s.split()) for s in sentences)
        while words < n_words:
            s = self.filler()
            sentences.insert(r.randrange(len(sentences) + 1), s)
            words += len(s.split())
        return self._markup(sentences)

    def _markup(self, sentences: list[str]) -> str:
        r = self.rng
        paragraphs, current = [], []
        for s in sentences:
            current.append(s)
            if r.random() < 0.18:
                paragraphs.append(" ".join(current))
                current = []
        if current:
            paragraphs.append(" ".join(current))
        text = "<br /><br />".join(paragraphs)
        if r.random() < self.mix.p_extra_html:
            text = r.choice([
                lambda t: f"<i>{r.choice(NAMES)}'s Story</i> &amp; more. {t}",
                lambda t: f"{t} <b>Recommended?</b> See <a href=\"http://www.imdb.com/\">IMDb</a>.",
                lambda t: t.replace("was", "was &quot;really&quot;", 1),
            ])(text)
        return text


def _malformed_files() -> list[tuple[str, bytes, str]]:
    """(relative path, content, kind) for every malformed case the cleaner must catch."""
    valid = b"A perfectly fine review of a film that was great."
    return [
        ("train/pos/90000_8.txt", b"", "empty"),
        ("test/neg/90001_2.txt", b"", "empty"),
        ("train/neg/90002_3.txt", b"The acting was \xff\xfe terrible and \xc3\x28 dull.", "invalid_utf8"),
        ("test/pos/90003_9.txt", b"\x80\x81 broken bytes from a bad export", "invalid_utf8"),
        ("train/pos/notes.txt", valid, "bad_file_name"),
        ("train/neg/90004.txt", valid, "bad_file_name"),
        ("test/neg/90005_x.txt", valid, "bad_file_name"),
        ("test/pos/90006_9.txt.bak", valid, "bad_file_name"),
        ("train/pos/90007_2.txt", valid, "rating_contradicts_folder"),
        ("test/neg/90008_11.txt", valid, "rating_contradicts_folder"),
        ("train/pos/90009_9.txt", b"<br /><br /><br />", "markup_only"),
    ]


def _real_layout_extras(root: Path, urls: dict[str, int]) -> None:
    """Files the real archive has beside the reviews: the reader must ignore them."""
    (root / "README").write_text("Synthetic stand-in for the Large Movie Review Dataset v1.0 (aclImdb).\n")
    (root / "imdb.vocab").write_text("\n".join(sorted(set(POSITIVE + NEGATIVE + ASPECTS))) + "\n")
    for split_dir, n in urls.items():
        split, polarity = split_dir.split("/")
        (root / split / f"urls_{polarity}.txt").write_text(
            "".join(f"http://www.imdb.com/title/tt{1000000 + i}/usercomments\n" for i in range(n))
        )


def generate_corpus(
    root: str | Path,
    *,
    train: int = 25_000,
    test: int = 25_000,
    unsup: int = 50_000,
    seed: int = 13,
    mix: CorpusMix = CorpusMix(),
    malformed: bool = True,
    progress: Callable[[int], None] | None = None,
) -> CorpusSummary:
    """Write `train` and `test` labelled reviews (half positive) and `unsup` unlabelled ones.

    Any existing corpus at `root` is replaced. Sizes are capped at the real dataset's.
    """
    for name, n, cap in (("train", train, 25_000), ("test", test, 25_000), ("unsup", unsup, 50_000)):
        if not 0 <= n <= cap:
            raise ValueError(f"{name} size must be between 0 and {cap:,} (the real aclImdb's), got {n:,}")
    root = Path(root)
    if root.exists():
        shutil.rmtree(root)
    rng = random.Random(seed)
    writer = _ReviewWriter(rng, mix)
    summary = CorpusSummary(root=str(root))
    plan = [("train/pos", train - train // 2), ("train/neg", train // 2),
            ("test/pos", test - test // 2), ("test/neg", test // 2), ("train/unsup", unsup)]
    for rel, n in plan:
        (root / rel).mkdir(parents=True, exist_ok=True)
        summary.counts[rel] = n
        written: list[str] = []
        for i, (text, rating) in enumerate(_reviews(writer, rng, rel, n)):
            if written and rng.random() < mix.p_duplicate:
                text = rng.choice(written)
                summary.duplicates += 1
            written.append(text)
            (root / rel / f"{i}_{rating}.txt").write_text(text, encoding="utf-8")
            if progress:
                progress(1)
    if malformed:
        for rel, content, kind in _malformed_files():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(content)
            summary.malformed[rel] = kind
    _real_layout_extras(root, {rel: n for rel, n in plan if rel != "train/unsup"})
    (root / "crosslake_manifest.json").write_text(json.dumps(asdict(summary), indent=2))
    return summary


def _reviews(writer: _ReviewWriter, rng: random.Random, rel: str, n: int) -> Iterator[tuple[str, int]]:
    polarity = rel.split("/")[1]
    for _ in range(n):
        if polarity == "unsup":
            yield writer.review(rng.random() < 0.5, rng.choice((1, 2, 3, 4, 7, 8, 9, 10))), 0
        else:
            positive = polarity == "pos"
            ratings, weights = (POS_RATINGS, POS_WEIGHTS) if positive else (NEG_RATINGS, NEG_WEIGHTS)
            rating = rng.choices(ratings, weights)[0]
            yield writer.review(positive, rating), rating
