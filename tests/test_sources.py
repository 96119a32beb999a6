import re
import tarfile

import pytest

from crosslake.errors import CrosslakeError
from sources.imdb_generator import generate_corpus
from sources.imdb_reader import REVIEW_DIRS, open_corpus

NAME = re.compile(r"^\d+_\d+\.txt$")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("gen") / "aclImdb"
    return root, generate_corpus(root, train=400, test=200, unsup=40, seed=3)


def test_layout_matches_aclimdb(corpus):
    root, summary = corpus
    for rel in REVIEW_DIRS:
        files = sorted(p.name for p in (root / rel).iterdir())
        good = [f for f in files if NAME.match(f) and f"{rel}/{f}" not in summary.malformed]
        assert len(good) == summary.counts[rel]
        # ratings follow the folder: pos 7-10, neg 1-4, unsup 0 (the deliberate mistakes aside)
        ratings = {int(f.split("_")[1][:-4]) for f in good}
        assert ratings <= {"train/pos": {7, 8, 9, 10}, "test/pos": {7, 8, 9, 10}, "train/neg": {1, 2, 3, 4},
                           "test/neg": {1, 2, 3, 4}, "train/unsup": {0}}[rel]
    assert summary.counts == {"train/pos": 200, "train/neg": 200, "test/pos": 100, "test/neg": 100, "train/unsup": 40}
    # the real archive's other files are there too, for the reader to ignore
    assert (root / "imdb.vocab").is_file() and (root / "train" / "urls_pos.txt").is_file()


def test_awkward_parts_are_present(corpus):
    root, summary = corpus
    texts = [p.read_bytes() for d in REVIEW_DIRS for p in (root / d).iterdir()]
    assert sum(b"<br /><br />" in t for t in texts) > len(texts) / 2
    lengths = sorted(len(t.split()) for t in texts if t)
    assert lengths[0] <= 3 and lengths[-1] >= 1500  # very short and very long reviews
    assert summary.duplicates >= 1
    assert len([t for t in texts if t]) - len({t for t in texts if t}) >= summary.duplicates
    kinds = set(summary.malformed.values())
    assert kinds == {"empty", "invalid_utf8", "bad_file_name", "rating_contradicts_folder", "markup_only"}
    for rel, kind in summary.malformed.items():
        data = (root / rel).read_bytes()
        if kind == "empty":
            assert data == b""
        if kind == "invalid_utf8":
            with pytest.raises(UnicodeDecodeError):
                data.decode("utf-8")


def test_same_seed_same_corpus(tmp_path):
    a = generate_corpus(tmp_path / "a", train=20, test=10, unsup=4, seed=5)
    b = generate_corpus(tmp_path / "b", train=20, test=10, unsup=4, seed=5)
    for rel in a.counts:
        assert [p.read_bytes() for p in sorted((tmp_path / "a" / rel).iterdir())] == \
               [p.read_bytes() for p in sorted((tmp_path / "b" / rel).iterdir())]
    assert a.counts == b.counts


def test_sizes_are_capped_at_the_real_dataset(tmp_path):
    with pytest.raises(ValueError, match="between 0 and 25,000"):
        generate_corpus(tmp_path / "x", train=25_001, test=0, unsup=0)


def test_reader_takes_folder_and_original_tarball(corpus, tmp_path):
    root, _ = corpus
    from_dir = open_corpus(root, tmp_path / "landing")
    assert from_dir.archive is None and len(from_dir.review_dirs) == 5
    # the real archive holds a top-level aclImdb/ folder
    archive = tmp_path / "aclImdb_v1.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(root, arcname="aclImdb")
    from_tar = open_corpus(archive, tmp_path / "landing")
    assert from_tar.archive == archive
    assert [d.relative_to(from_tar.root) for d in from_tar.review_dirs] == \
           [d.relative_to(from_dir.root) for d in from_dir.review_dirs]
    member = from_tar.origin_path(f"file:{from_tar.root}/train/pos/1_9.txt")
    assert member == f"file:{archive}!/aclImdb/train/pos/1_9.txt"
    # a second open reuses the extraction
    assert open_corpus(archive, tmp_path / "landing").root == from_tar.root


def test_reader_errors_say_what_to_do(tmp_path):
    with pytest.raises(CrosslakeError, match="does not exist: run `crosslake generate`"):
        open_corpus(tmp_path / "missing", tmp_path / "landing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CrosslakeError, match="no reviews under"):
        open_corpus(tmp_path / "empty", tmp_path / "landing")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(CrosslakeError, match="not a tar archive"):
        open_corpus(tmp_path / "notes.txt", tmp_path / "landing")
    truncated = tmp_path / "cut.tar.gz"
    with tarfile.open(truncated, "w:gz") as tar:
        tar.add(tmp_path / "notes.txt", arcname="aclImdb/train/pos/1_9.txt")
    truncated.write_bytes(truncated.read_bytes()[:40])
    with pytest.raises(CrosslakeError):
        open_corpus(truncated, tmp_path / "landing")
