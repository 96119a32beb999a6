"""Find the review files of an aclImdb corpus: the real directory, the original
``aclImdb_v1.tar.gz`` unchanged, or what ``crosslake generate`` wrote.

Only the review folders are read (``train|test/pos|neg`` and ``train/unsup``); the
archive's other files (README, imdb.vocab, urls_*.txt, *.feat) are not reviews and are
left alone. Every entry inside a review folder becomes a bronze row, whatever its name, so
that a misnamed file lands in quarantine instead of vanishing; links, special files and
nested directories are judged by the policy in crosslake/files.py (never followed out of
the source, always counted).

Mistakes in the path itself (it does not exist, a file that is not a tar archive, no
review folders under it) are configuration errors: exit code 2.
"""

from __future__ import annotations

import hashlib
import logging
import tarfile
from dataclasses import dataclass
from pathlib import Path

from crosslake.errors import ConfigError, CrosslakeError

REVIEW_DIRS = ("train/pos", "train/neg", "test/pos", "test/neg", "train/unsup")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Corpus:
    root: Path                 # the folder holding train/ and test/
    review_dirs: list[Path]    # the review folders present
    origin: str                # what the user pointed at (a folder or an archive)
    archive: Path | None = None
    extracted_to: Path | None = None

    def origin_path(self, path: str) -> str:
        """Map a file path under an extracted archive back to `archive!/member`."""
        if self.archive is None:
            return path
        return path.replace(str(self.extracted_to), f"{self.archive}!", 1)


def open_corpus(path: str | Path, landing_dir: str | Path) -> Corpus:
    """Locate the review folders of the corpus at `path` (extracting an archive first)."""
    path = Path(path).expanduser().resolve()
    if not path.exists():
        raise ConfigError(
            f"source {path} does not exist: run `crosslake generate` to write a synthetic corpus "
            f"there, or set source.path (--set source.path=...) to an aclImdb folder or aclImdb_v1.tar.gz"
        )
    archive = extracted = None
    if path.is_file():
        if not _is_tar(path):
            raise ConfigError(f"source {path} is a file but not a tar archive: expected aclImdb_v1.tar.gz")
        archive = path
        path = extracted = _extract(path, Path(landing_dir))
    root = _find_root(path)
    # A review folder that is a link is listed too (crosslake/files.py judges where it points).
    dirs = [root / d for d in REVIEW_DIRS if (root / d).is_dir() or (root / d).is_symlink()]
    if not dirs or not any((d.is_symlink() or any(d.iterdir())) for d in dirs):
        raise ConfigError(
            f"no reviews under {path}: expected aclImdb folders {', '.join(REVIEW_DIRS)} with "
            f"<id>_<rating>.txt files; run `crosslake generate` or point source.path at the corpus"
        )
    return Corpus(root=root, review_dirs=dirs, origin=str(archive or path), archive=archive, extracted_to=extracted)


def _is_tar(path: Path) -> bool:
    try:
        return tarfile.is_tarfile(path)
    except (tarfile.TarError, EOFError, OSError) as exc:  # a truncated .gz fails inside is_tarfile
        raise ConfigError(f"cannot read archive {path}: {exc}; is the download complete?") from exc


def _find_root(path: Path) -> Path:
    for candidate in (path, path / "aclImdb"):
        if (candidate / "train").is_dir() or (candidate / "test").is_dir():
            return candidate
    return path


def _extract(archive: Path, landing_dir: Path) -> Path:
    """Extract once per archive content (keyed by its size and mtime), safely."""
    st = archive.stat()
    key = hashlib.sha256(f"{archive.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:12]
    target = landing_dir / f"{archive.name}.{key}"
    done = target / ".extracted"
    if done.exists():
        return target
    log.info("extracting %s into %s", archive, target)
    target.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive) as tar:
            # filter="data" refuses absolute paths, '..', links out of the folder, devices.
            tar.extractall(target, filter="data")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise CrosslakeError(f"cannot read archive {archive}: {exc}; is the download complete?") from exc
    done.touch()
    return target
