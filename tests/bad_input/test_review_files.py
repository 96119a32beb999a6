"""The bad-input catalogue for the review corpus (folder -> bronze -> silver).

Each case ends in one of three ways, never in a lost row:
  * quarantined: the file's row lands in quarantine with the failed checks named (its
    bytes kept when it was read; a file that must not be read keeps null content);
  * accepted after cleaning: the review is published with the text it was meant to have;
  * a clear one-line error (exit 2 for a wrong path), with nothing written.
For every run: rows in = published + quarantined + duplicates dropped.

The file-level cases share one ingest + clean of one corpus (a handful of good reviews
beside the bad files, so collateral damage would show); the changed-source, block-message,
label-skew and path cases run on their own.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from crosslake import lake, quality
from crosslake.config import load_config
from crosslake.errors import DataQualityError
from jobs import clean, ingest
from tests.helpers import one_line_error

SECRET = b"TOP SECRET: root password is hunter2\n"
GOOD_POS = [f"Review {i}: the acting was superb and the story moving, a film to remember." for i in range(8)]
GOOD_NEG = [f"Review {i}: the plot was dull and the dialogue wooden, a waste of an evening." for i in range(8)]
CONFLICT = "One text, two opinions: filed under both folders."
REPEAT = "A repeated review that means the same in both copies."


def cfg_for(root: Path, *overrides: str):
    return load_config("test", lake_root=str(root / "lake"),
                       overrides=[f"source.path={root / 'aclImdb'}", *overrides])


def write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


def good_corpus(corpus: Path, n: int = 8) -> None:
    for i in range(n):
        write(corpus / "train" / "pos" / f"{i}_9.txt", GOOD_POS[i])
        write(corpus / "train" / "neg" / f"{i}_2.txt", GOOD_NEG[i])


# file (under aclImdb/) -> the failed checks of its quarantine row
QUARANTINED = {
    "train/pos/500_9.txt": ["link_outside_source"],
    "train/pos/501_9.txt": ["symlink"],
    "train/pos/502_9.txt": ["dangling_link"],
    "train/pos/503_9.txt": ["link_loop"],
    "train/pos/504_9.txt": ["link_loop"],
    "train/pos/505_9.txt": ["special_file"],
    "train/pos/506_9.txt/a.txt": ["file_name_is_id_rating_txt", "nested_file"],
    "train/pos/506_9.txt/deeper/b_9.txt": ["file_name_is_id_rating_txt", "nested_file"],
    "train/pos/.hidden_9.txt": ["file_name_is_id_rating_txt"],
    "train/pos/_507_9.txt": ["file_name_is_id_rating_txt"],
    "train/pos/600_8.txt": ["conflicting_labels"],
    "train/pos/601_9.txt": ["conflicting_labels"],
    "train/neg/602_2.txt": ["conflicting_labels"],
    "train/neg/012346_3.txt": ["duplicate_review_id"],
    "train/neg/12346_3.txt": ["duplicate_review_id"],
    "train/neg/700_2.txt": ["control_characters", "text_not_empty"],
    "train/neg/701_2.txt": ["text_not_empty"],
    "train/neg/703_2.txt": ["control_characters"],
    "train/neg/704_2.txt": ["control_characters"],
    "train/neg/705_2.txt": ["file_too_large:7000"],
}
NOT_READ = {"train/pos/500_9.txt": "link_outside_source", "train/pos/501_9.txt": "symlink",
            "train/pos/502_9.txt": "dangling_link", "train/pos/503_9.txt": "link_loop",
            "train/pos/504_9.txt": "link_loop", "train/pos/505_9.txt": "special_file",
            "train/pos/506_9.txt/a.txt": "nested_file", "train/pos/506_9.txt/deeper/b_9.txt": "nested_file",
            "train/neg/705_2.txt": "file_too_large"}


def bad_corpus(root: Path) -> None:
    corpus = root / "aclImdb"
    good_corpus(corpus)
    pos, neg = corpus / "train" / "pos", corpus / "train" / "neg"
    write(root / "outside" / "secret.txt", SECRET)
    os.symlink(root / "outside" / "secret.txt", pos / "500_9.txt")          # a host file outside the corpus
    os.symlink(neg / "0_2.txt", pos / "501_9.txt")                         # inside: not read twice
    os.symlink(root / "nowhere.txt", pos / "502_9.txt")                     # dangling
    os.symlink(pos / "504_9.txt", pos / "503_9.txt")                        # a loop of two links
    os.symlink(pos / "503_9.txt", pos / "504_9.txt")
    os.mkfifo(pos / "505_9.txt")                                            # would block a reader forever
    write(pos / "506_9.txt" / "a.txt", "nested, not a review")              # a directory named like a review
    write(pos / "506_9.txt" / "deeper" / "b_9.txt", "nested deeper")
    write(pos / ".hidden_9.txt", "hidden bytes are kept")
    write(pos / "_507_9.txt", "underscore bytes are kept")
    for name, folder in (("600_8.txt", pos), ("601_9.txt", pos), ("602_2.txt", neg)):
        write(folder / name, CONFLICT)                                      # one text, both labels
    write(pos / "610_8.txt", REPEAT)                                        # one text, one label: a repeat
    write(corpus / "test" / "pos" / "611_8.txt", REPEAT)
    write(neg / "012346_3.txt", "Leading zero: the same id as the next one.")
    write(neg / "12346_3.txt", "No leading zero: the same id as the previous one.")
    write(neg / "700_2.txt", b"\x00\x00\x00\x00")                            # NUL bytes only
    write(neg / "701_2.txt", "\u200b\u200c\u200d\u2060\ufeff\u00a0 \u00a0")  # invisible and no-break spaces only
    write(neg / "702_2.txt", "\ufeffA leading byte-order mark, then a dull film.")
    write(neg / "703_2.txt", "Dull film\x07 with a bell and \x1b[31m an escape.")
    write(neg / "704_2.txt", "A C1 control\u0085 character inside.")
    write(neg / "705_2.txt", b"x" * 7000)                                   # over ingest.max_file_bytes=4096


@pytest.fixture(scope="module")
def batch(tmp_path_factory, spark):
    root = tmp_path_factory.mktemp("reviews")
    bad_corpus(root)
    cfg = cfg_for(root, "ingest.max_file_bytes=4096", "clean.max_quarantine_fraction=0.9",
                  "clean.max_label_skew=1.0")
    ingested = ingest.run(spark, cfg)
    cleaned = clean.run(spark, cfg)
    rel = F.regexp_extract("source_path", r"/aclImdb/(.*)$", 1)
    tables = {t: lake.read_table(spark, cfg, t).withColumn("file", rel).cache()
              for t in ("bronze", "silver", "quarantine")}
    return root, cfg, ingested, cleaned, tables


@pytest.mark.parametrize("name", sorted(QUARANTINED))
def test_bad_file_is_quarantined_with_its_reason(batch, name):
    _, _, _, _, tables = batch
    rows = {t: df.filter(F.col("file") == name).collect() for t, df in tables.items()}
    assert len(rows["bronze"]) == 1                                   # counted, once
    assert [sorted(r.failed_checks) for r in rows["quarantine"]] == [QUARANTINED[name]]
    assert rows["silver"] == []
    if name in NOT_READ:                                              # never opened: no bytes anywhere
        assert rows["bronze"][0].content is None and rows["bronze"][0].file_issue == NOT_READ[name]
        assert rows["quarantine"][0].content is None


def test_the_row_equation_holds_and_the_good_rows_publish(batch):
    _, _, ingested, cleaned, tables = batch
    n_bronze = tables["bronze"].count()
    assert ingested.files_listed == n_bronze == 16 + len(QUARANTINED) + 3   # + the BOM file and two repeats
    assert cleaned.rows_in == n_bronze
    assert cleaned.quarantined == len(QUARANTINED) and cleaned.duplicates == 1
    assert cleaned.rows_in == cleaned.published + cleaned.quarantined + cleaned.duplicates
    assert cleaned.published == 16 + 1 + 1                            # good ones, the BOM file, one repeat
    assert ingested.not_read == {"link_outside_source": 1, "symlink": 1, "dangling_link": 1, "link_loop": 2,
                                 "special_file": 1, "nested_file": 2, "file_too_large": 1}
    assert (f"rows in {cleaned.rows_in} = published {cleaned.published} + quarantined {cleaned.quarantined} "
            f"+ duplicates dropped 1") in cleaned.report()


def test_a_link_to_a_host_file_is_never_read(batch):
    root, _, _, _, tables = batch
    secret = SECRET.strip().decode()
    for t in ("bronze", "quarantine"):
        assert tables[t].filter(F.col("content").isNotNull()).filter(
            F.instr(F.col("content").cast("string"), "hunter2") > 0).count() == 0, t
    assert tables["silver"].filter(F.col("text").contains("hunter2")).count() == 0
    assert tables["quarantine"].filter(F.col("raw_text").contains(secret)).count() == 0
    (row,) = tables["bronze"].filter(F.col("file") == "train/pos/500_9.txt").collect()
    assert row.length == len(str(root / "outside" / "secret.txt"))   # the link's own size, not the file's


def test_hidden_files_keep_their_bytes(batch):
    _, _, _, _, tables = batch
    got = {r.file: bytes(r.content) for r in tables["quarantine"].filter(F.col("file").rlike(r"/[._]")).collect()}
    assert got == {"train/pos/.hidden_9.txt": b"hidden bytes are kept",
                   "train/pos/_507_9.txt": b"underscore bytes are kept"}


def test_an_oversized_file_keeps_its_size_not_its_bytes(batch):
    _, _, _, _, tables = batch
    (row,) = tables["bronze"].filter(F.col("file") == "train/neg/705_2.txt").collect()
    assert (row.content, row.length, row.file_issue) == (None, 7000, "file_too_large")


def test_a_bom_is_removed_and_the_text_published(batch):
    _, _, _, _, tables = batch
    (row,) = tables["silver"].filter(F.col("file") == "train/neg/702_2.txt").collect()
    assert row.text == "A leading byte-order mark, then a dull film." and row.label == 0


def test_one_text_under_one_label_is_deduplicated_the_test_copy_kept(batch):
    _, _, _, _, tables = batch
    rows = tables["silver"].filter(F.col("text") == REPEAT).collect()
    assert [(r.review_id, r.split) for r in rows] == [("test/pos/611", "test")]
    assert tables["silver"].filter(F.col("text") == CONFLICT).count() == 0


def test_conflicts_are_recorded_as_row_checks(batch):
    _, _, _, cleaned, _ = batch
    by_name = {c.check: c for c in cleaned.checks if c.group == "row"}
    assert by_name["conflicting_labels"].unexpected_count == 3 and not by_name["conflicting_labels"].success
    assert by_name["duplicate_review_id"].unexpected_count == 2
    assert by_name["file_too_large"].unexpected_count == 1
    assert by_name["link_outside_source"].unexpected_count == 1
    assert cleaned.quarantine_reasons["file_too_large:7000"] == 1


@pytest.fixture(scope="module")
def blocked(batch, spark):
    """One more clean of the batch's bronze with both limits strict: what does the user read?"""
    root = batch[0]
    strict = cfg_for(root, "ingest.max_file_bytes=4096", "clean.max_label_skew=0.01", "clean.label_skew_min_rows=5")
    with pytest.raises(DataQualityError) as info:
        clean.run(spark, strict)
    return str(info.value)


def test_the_block_message_gives_fraction_limit_and_setting(batch, blocked):
    cleaned = batch[3]
    total, n = cleaned.rows_in, cleaned.quarantined
    assert "\n" not in blocked and blocked.startswith("silver publish blocked by data quality: ")
    assert (f"silver_reviews.quarantine_fraction: quarantined {n / total:.1%} of rows ({n} of {total}), above "
            f"clean.max_quarantine_fraction=0.05: fix the source or raise the limit with "
            f"--set clean.max_quarantine_fraction=<limit>") in blocked


def test_a_quarantine_skewed_to_one_label_blocks_naming_both_rates(batch, blocked):
    tables = batch[4]
    # labelled: a file directly in a pos/neg folder (the nested ones have no folder label)
    quarantined = tables["quarantine"].filter(F.col("file").rlike(r"^train/(pos|neg)/[^/]+$")).collect()
    published = tables["silver"].filter(F.col("label").isNotNull()).collect()
    q_pos = sum(r.file.startswith("train/pos/") for r in quarantined) / len(quarantined)
    p_pos = (sum(r.label for r in published) + 1) / (len(published) + 1)   # + the repeat dropped (positive)
    assert (f"silver_reviews.label_skew: {q_pos:.1%} of the {len(quarantined)} quarantined labelled rows are "
            f"positive against {p_pos:.1%} of the {len(published) + 1} published ones, a gap of "
            f"{round(abs(q_pos - p_pos), 6):.1%} above clean.max_label_skew=0.01: ") in blocked
    assert "--set clean.max_label_skew=<limit>" in blocked


def test_label_skew_judges_only_enough_labelled_rows(spark):
    """The check on its own (a boolean label, as a tabular dataset has): rates, threshold, minimum."""
    rows = [(True, True)] * 8 + [(True, False)] * 2 + [(True, None)] * 5 + [(False, True)] * 5 + [(False, False)] * 5
    df = spark.createDataFrame(rows, "quarantined boolean, y boolean")
    judged = quality.label_skew(df, suite="s", label="y", positive=True, max_skew=0.2, min_rows=10)
    assert not judged.success and judged.observed_value == {
        "quarantined_positive_rate": 0.8, "published_positive_rate": 0.5, "quarantined_labelled": 10,
        "published_labelled": 10, "skew": 0.3}
    assert quality.label_skew(df, suite="s", label="y", positive=True, max_skew=0.2, min_rows=11).success
    assert quality.label_skew(df, suite="s", label="y", positive=True, max_skew=0.3, min_rows=10).success
    message = quality.describe_failure(judged, {"label_skew": ("clean.max_label_skew", 0.2)})
    assert message.startswith("s.label_skew: 80.0% of the 10 quarantined labelled rows are positive against "
                              "50.0% of the 10 published ones, a gap of 30.0% above clean.max_label_skew=0.2")


def test_a_changed_source_is_mirrored(tmp_path, spark):
    corpus = tmp_path / "aclImdb"
    good_corpus(corpus, n=6)
    cfg = cfg_for(tmp_path)
    first = ingest.run(spark, cfg)
    clean.run(spark, cfg)
    assert (first.added, first.changed, first.deleted, first.unchanged) == (12, 0, 0, 0)
    pos, neg = corpus / "train" / "pos", corpus / "train" / "neg"
    for name in ("0_9.txt", "1_9.txt"):
        (pos / name).unlink()
    (neg / "0_2.txt").unlink()
    (neg / "1_2.txt").write_text("Rewritten: the film was dull, longer than before and worse.")
    (pos / "2_9.txt").rename(pos / "42_9.txt")
    again = ingest.run(spark, cfg)
    cleaned = clean.run(spark, cfg)
    assert (again.added, again.changed, again.deleted, again.unchanged) == (1, 1, 4, 7)
    assert again.files_read == 2                                      # the unchanged 7 are not read again
    assert "1 added, 1 changed, 4 deleted, 7 unchanged" in again.report()
    want = {f"file:{p}": p.read_bytes() for p in sorted(corpus.rglob("*.txt"))}
    bronze = {r.source_path: bytes(r.content) for r in lake.read_table(spark, cfg, "bronze").collect()}
    assert bronze == want
    silver = {r.review_id: r.text for r in lake.read_table(spark, cfg, "silver").collect()}
    assert sorted(silver) == sorted(["train/pos/3", "train/pos/4", "train/pos/5", "train/pos/42",
                                     "train/neg/1", "train/neg/2", "train/neg/3", "train/neg/4", "train/neg/5"])
    assert silver["train/neg/1"].startswith("Rewritten") and silver["train/pos/42"] == GOOD_POS[2]
    assert cleaned.rows_in == cleaned.published == 9
    # nothing changed since: nothing read, nothing committed
    version = lake.current_version(spark, cfg.table_path("bronze"))
    third = ingest.run(spark, cfg)
    assert (third.added, third.changed, third.deleted, third.unchanged, third.files_read) == (0, 0, 0, 9, 0)
    assert third.table.version == version
    # a file only touched (same bytes, new time) is read, found unchanged, and its time kept
    os.utime(pos / "3_9.txt", (1_000_000_000, 1_000_000_000))
    touched = ingest.run(spark, cfg)
    assert (touched.added, touched.changed, touched.deleted, touched.unchanged, touched.files_read) == (0, 0, 0, 9, 1)




def test_corpus_path_mistakes_exit_2(tmp_path, spark, capsys):
    a = ["--profile", "test", "--lake-root", str(tmp_path / "lake")]
    assert ingest.main(a + ["--source", str(tmp_path / "nowhere")]) == 2
    assert f"source {tmp_path / 'nowhere'} does not exist" in one_line_error(capsys)
    (tmp_path / "notes.txt").write_text("not an archive")
    assert ingest.main(a + ["--source", str(tmp_path / "notes.txt")]) == 2
    assert "is a file but not a tar archive" in one_line_error(capsys)
    (tmp_path / "empty" / "train" / "pos").mkdir(parents=True)
    assert ingest.main(a + ["--source", str(tmp_path / "empty")]) == 2
    assert "no reviews under" in one_line_error(capsys)
    assert not (tmp_path / "lake" / "bronze").exists()


def test_one_corpus_landed_by_two_routes_publishes_each_review_once(tmp_path, spark):
    """The same corpus from its folder and from its archive (two sources: paths differ), and
    from its folder reached by another path (same paths, another origin): nothing is blocked
    as a colliding id, nothing is deleted across sources, no path lands twice."""
    import tarfile

    corpus = tmp_path / "aclImdb"
    good_corpus(corpus, n=4)
    archive = tmp_path / "aclImdb_v1.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(corpus, arcname="aclImdb")
    cfg = cfg_for(tmp_path)
    folder = ingest.run(spark, cfg)
    packed = ingest.run(spark, cfg, source=str(archive))
    assert (folder.added, packed.added, packed.deleted) == (8, 8, 0)
    again = ingest.run(spark, cfg)                        # the folder again: the archive's rows stay
    assert (again.added, again.deleted, again.unchanged) == (0, 0, 8)
    assert lake.read_table(spark, cfg, "bronze").count() == 16
    cleaned = clean.run(spark, cfg)
    assert (cleaned.rows_in, cleaned.published, cleaned.quarantined, cleaned.duplicates) == (16, 8, 0, 8)
    silver = {r.review_id: r.text for r in lake.read_table(spark, cfg, "silver").collect()}
    assert silver == {**{f"train/pos/{i}": GOOD_POS[i] for i in range(4)},
                      **{f"train/neg/{i}": GOOD_NEG[i] for i in range(4)}}
    # the folder by another route (its parent: the reader finds aclImdb/ inside): same paths, taken over
    parent = ingest.run(spark, cfg, source=str(tmp_path))
    assert (parent.added, parent.changed, parent.deleted, parent.unchanged) == (0, 0, 0, 8)
    bronze = lake.read_table(spark, cfg, "bronze")
    assert bronze.count() == 16 and bronze.select("source_path").distinct().count() == 16
