"""Write a synthetic IMDB-style corpus (aclImdb layout) into the drop zone, or the
example tabular dataset (loans) as CSV files or into its source database.

    crosslake generate [--train N] [--test N] [--unsup N] [--out PATH]
    crosslake generate --dataset loans [--rows N] [--to csv|database]
    python -m jobs.generate ...
"""

from __future__ import annotations

import sys

if __name__ == "__main__":  # run as a file (spark-submit jobs/x.py): import from the project root, not jobs/
    sys.path[0] = str(__import__("pathlib").Path(__file__).resolve().parents[1])

from crosslake.arguments import count, folder_path
from crosslake.config import GENERATE_MAX, Config
from crosslake.cli import STAGES
from crosslake.runner import job_main
from stages.generate import MARKER  # noqa: F401  (the marker file; tests and docs name it here)

NAME = "generate"
HELP = STAGES[NAME].help  # the one-line help lives in crosslake/cli.py (read by `crosslake --help`)
NEEDS_SPARK = False
LAKE = "none"  # writes the source folder, not the lake


def add_arguments(parser) -> None:
    for split, cap in GENERATE_MAX.items():
        what = "unlabelled" if split == "unsup" else f"labelled {'training' if split == 'train' else 'test'}"
        parser.add_argument(f"--{split}", type=count(0, cap), help=f"{what} reviews (0 to {cap:,})")
    parser.add_argument("--seed", type=int, help="random seed (same seed, same corpus)")
    parser.add_argument("--out", type=folder_path,
                        help="target folder (default: source.path); replaced only if empty or written by generate")
    parser.add_argument("--dataset", help="write the example tabular dataset instead (loans)")
    parser.add_argument("--rows", type=count(1), default=2000, help="--dataset: rows to write (default 2000)")
    parser.add_argument("--to", choices=["csv", "database"], default="csv",
                        help="--dataset: CSV files in its source.path (default), or the table its extract "
                             "reads (credentials from the environment; the table is replaced)")


def run(_spark, cfg: Config, *, train=None, test=None, unsup=None, seed=None, out=None, dataset=None, rows=2000,
        to="csv"):
    from workloads import pick

    return pick(cfg, dataset).generate(cfg, train=train, test=test, unsup=unsup, seed=seed, out=out, rows=rows,
                                       to=to)


def main(argv: list[str] | None = None) -> int:
    return job_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
