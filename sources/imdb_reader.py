"""Find the review files of an aclImdb corpus: the real directory, the original
``aclImdb_v1.tar.gz`` unchanged, or what ``crosslake generate`` wrote.

Only the review folders are read (``train|test/pos|neg`` and ``train/unsup``); the
archive's other files (README, imdb.vocab, urls_*.txt, *.feat) are not reviews and are
left alone. Every file inside a review folder is read, whatever its name, so that a
misnamed file lands in quarantine instead of vanishing.
"""

from __future__ import annotations

import hashlib
import logging
import tarfile
from dataclasses import dataclass
from pathlib import Path

from crosslake.errors import CrosslakeError

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
        raise CrosslakeError(
            f"source {path} does not exist: run `crosslake generate` to write a synthetic corpus "
            f"there, or set source.path (--set source.path=...) to an aclImdb folder or aclImdb_v1.tar.gz"
        )
    archive = extracted = None
    if path.is_file():
        if not _is_tar(path):
            raise CrosslakeError(f"source {path} is a file but not a tar archive: expected aclImdb_v1.tar.gz")
        archive = path
        path = extracted = _extract(path, Path(landing_dir))
    root = _find_root(path)
    dirs = [root / d for d in REVIEW_DIRS if (root / d).is_dir()]
    if not dirs or not any(any(d.iterdir()) for d in dirs):
        raise CrosslakeError(
            f"no reviews under {path}: expected aclImdb folders {', '.join(REVIEW_DIRS)} with "
            f"<id>_<rating>.txt files; run `crosslake generate` or point source.path at the corpus"
        )
    return Corpus(root=root, review_dirs=dirs, origin=str(archive or path), archive=archive, extracted_to=extracted)


def _is_tar(path: Path) -> bool:
    try:
        return tarfile.is_tarfile(path)
    except (tarfile.TarError, EOFError, OSError) as exc:  # a truncated .gz fails inside is_tarfile
        raise CrosslakeError(f"cannot read archive {path}: {exc}; is the download complete?") from exc


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
