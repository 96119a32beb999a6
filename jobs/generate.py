"""Write a synthetic IMDB-style corpus (aclImdb layout) into the drop zone.

    crosslake generate [--train N] [--test N] [--unsup N] [--out PATH]
    python -m jobs.generate ...
"""

from __future__ import annotations

import sys

if __name__ == "__main__":  # run as a file (spark-submit jobs/x.py): import from the project root, not jobs/
    sys.path[0] = str(__import__("pathlib").Path(__file__).resolve().parents[1])
from dataclasses import dataclass

from tqdm import tqdm

from crosslake.config import Config
from crosslake.runner import job_main
from sources.imdb_generator import generate_corpus

NAME = "generate"
HELP = (
    "Write a synthetic movie-review corpus in the exact aclImdb layout "
    "(train|test/pos|neg/<id>_<rating>.txt, train/unsup/) into source.path, "
    "including HTML, duplicates and a few malformed files. Sizes default to the profile's."
)
NEEDS_SPARK = False


def add_arguments(parser) -> None:
    parser.add_argument("--train", type=int, help="labelled training reviews (max 25,000)")
    parser.add_argument("--test", type=int, help="labelled test reviews (max 25,000)")
    parser.add_argument("--unsup", type=int, help="unlabelled reviews (max 50,000)")
    parser.add_argument("--seed", type=int, help="random seed (same seed, same corpus)")
    parser.add_argument("--out", help="target folder (default: source.path); replaced if present")


@dataclass
class GenerateResult:
    path: str
    files: int
    duplicates: int
    malformed: int

    def report(self) -> str:
        return (f"corpus: {self.path}\n  {self.files:,} files "
                f"({self.duplicates} repeated reviews, {self.malformed} malformed on purpose)")


def run(_spark, cfg: Config, *, train=None, test=None, unsup=None, seed=None, out=None) -> GenerateResult:
    g = cfg.generate
    sizes = dict(train=g.train if train is None else train, test=g.test if test is None else test,
                 unsup=g.unsup if unsup is None else unsup)
    with tqdm(total=sum(sizes.values()), desc="generate", unit="review", disable=None) as bar:
        summary = generate_corpus(out or cfg.source.path, seed=g.seed if seed is None else seed,
                                  progress=bar.update, **sizes)
    return GenerateResult(summary.root, summary.total_files, summary.duplicates, len(summary.malformed))


def main(argv: list[str] | None = None) -> int:
    return job_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
