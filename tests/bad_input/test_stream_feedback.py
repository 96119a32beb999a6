"""Bad input on the scoring side: the stream's drop zone and the feedback labels file.

One lake, one model, one drop zone holding every case, streamed twice (available-now):
the first run sees the files as dropped, the second a file appended to after it was read
and a file of re-sent ids. Then the drop-zone predictions are labelled through
`feedback label --file`. Every case asserts the outcome and the counts: lines in =
scored + rejected + repeated + resent; every reject holds the line as it arrived;
stream_metrics' rejected == the rows in stream_rejects.
"""

from __future__ import annotations

import json

import pytest
from pyspark.sql import functions as F

from crosslake import lake
from crosslake.config import load_config
from crosslake.errors import ConfigError
from crosslake.runner import job_parser
from jobs import feedback, stream
from tests.test_review_page import VOCAB, tiny_model
from train import registry
from train.store import save_model
from tests.helpers import drop_file


def rec(rid, text) -> str:
    return json.dumps({"review_id": rid, "text": text})


# (line, outcome) per file of the first run; files are dropped whole (written aside, renamed in)
FIRST = {
    "a.jsonl": [
        (rec("g1", "a superb film"), "scored"),
        (rec("g2", "dull and awful"), "scored"),
        (rec("g3", "great story"), "scored"),
        ('{"review_id": 123, "text": "a number as id"}', "review_id_not_a_string:number"),
        ('{"review_id": true, "text": "a boolean as id"}', "review_id_not_a_string:boolean"),
        ('{"review_id": ["l"], "text": "a list as id"}', "review_id_not_a_string:array"),
        ('{"review_id": {"id": "o"}, "text": "an object as id"}', "review_id_not_a_string:object"),
        ('{"review_id": "t1", "text": 42}', "text_not_a_string:number"),
        ('{"review_id": "t2", "text": {"body": "x"}}', "text_not_a_string:object"),
        ('{"review_id": "t3", "text": false}', "text_not_a_string:boolean"),
        ('{"review_id": null, "text": "null id"}', "no_review_id"),
        ('{"review_id": "t4"}', "no_text"),
        ('["g9", "a list, not an object"]', "not_a_json_object:array"),
        ("{not json", "not_valid_json"),
        ('{"review_id": "t5", "text": "ok"} trailing', "not_valid_json"),
        ('{"review_id": "d1", "review_id": "d2", "text": "two ids"}', "duplicate_key_in_json"),
        ("the same bad line", "not_valid_json"),
        ("the same bad line", "not_valid_json"),           # identical rejects are two rows
        ("", "blank_line"),
        (rec("c1", "one text"), "conflicting_texts_in_batch"),
        (rec("c1", "another text"), "conflicting_texts_in_batch"),
        (rec("r1", "said twice"), "scored"),
        (rec("r1", "said twice"), "repeated"),
    ],
    "b.jsonl": [("the same bad line", "not_valid_json"), (rec("b1", "wonderful acting"), "scored")],
    "sub/nested.jsonl": [(rec("n1", "boring plot"), "scored")],       # sub-folders are read
    "part=1/k.jsonl": [(rec("k1", "great fun"), "scored")],           # not taken for a partition
}
BOM_LINE = "\ufeff" + rec("bom1", "a superb story")                  # a Windows editor's first line
LATIN1 = b'{"review_id": "lat1", "text": "caf\xe9 cr\xe8me"}\n'      # Latin-1 bytes, not UTF-8
# files Spark's file source never reads: reported once each, not per line
HIDDEN = {".hidden.jsonl": "hidden", "_under.jsonl": "underscore", ".tmp/inside.jsonl": "in_hidden_folder"}
SECOND = [(rec("g1", "a superb film"), "resent"), (rec("g2", "a new text under an old id"),
                                                   "id_already_scored_with_other_text"),
          (rec("s1", "great story"), "scored")]


drop = drop_file


def lines_of(cases) -> bytes:
    return "".join(line + "\n" for line, _ in cases).encode()


@pytest.fixture(scope="module")
def story(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("stream-bad-input")
    cfg = load_config("test", lake_root=str(root / "lake"), overrides=[f"source.path={root / 'aclImdb'}"])
    version, _ = save_model(cfg.model_store, cfg.models.name, tiny_model(), VOCAB, {"data": {}})
    registry.set_alias(cfg.model_store, cfg.models.name, "production", version)
    zone = root / "dropzone"
    zone.mkdir()
    for name, cases in FIRST.items():
        drop(zone, name, lines_of(cases))
    drop(zone, "bom.jsonl", (BOM_LINE + "\n").encode())
    drop(zone, "latin1.jsonl", LATIN1)
    for name in HIDDEN:
        drop(zone, name, (rec("h1", "never read") + "\n").encode())
    out = {"cfg": cfg, "zone": zone}
    out["first"] = stream.run(spark, cfg, source="files", path=str(zone))
    out["rejects1"] = lake.read_table(spark, cfg, "stream_rejects").collect()
    out["live1"] = {r.review_id: r for r in lake.read_table(spark, cfg, "live_predictions").collect()}
    out["metrics1"] = lake.read_table(spark, cfg, "stream_metrics").collect()
    # after the run: lines appended to a processed file, and a file of re-sent ids
    with open(zone / "b.jsonl", "a") as fh:
        fh.write(rec("late", "appended after b.jsonl was read") + "\n")
    drop(zone, "c.jsonl", lines_of(SECOND))
    out["second"] = stream.run(spark, cfg, source="files", path=str(zone))
    out["rejects"] = lake.read_table(spark, cfg, "stream_rejects").collect()
    out["live"] = {r.review_id: r for r in lake.read_table(spark, cfg, "live_predictions").collect()}
    out["metrics"] = lake.read_table(spark, cfg, "stream_metrics").collect()
    return out


def line_rejects(rows):
    return [r for r in rows if not r.reason.startswith("file_not_read:")]


def test_every_line_has_its_outcome_and_the_counts_add_up(story):
    first = story["first"]
    expected = [o for cases in FIRST.values() for _, o in cases] + ["scored", "invalid_utf8"]  # bom, latin1
    assert first.rows_in == len(expected) == first.rows + first.rejected + first.repeated + first.resent
    assert first.rows == expected.count("scored") and first.repeated == expected.count("repeated")
    assert first.resent == 0 and first.rejected == len([o for o in expected if o not in ("scored", "repeated")])
    m = story["metrics1"]
    assert sum(r.rows_in for r in m) == first.rows_in and sum(r.rows for r in m) == first.rows
    assert sum(r.rejected for r in m) == len(line_rejects(story["rejects1"])) == first.rejected
    assert sum(r.repeated for r in m) == first.repeated
    scored = {json.loads(line)["review_id"] for cases in FIRST.values() for line, o in cases if o == "scored"}
    assert set(story["live1"]) == scored | {"bom1"}


@pytest.mark.parametrize("reason", sorted({o for cases in FIRST.values() for _, o in cases
                                           if o not in ("scored", "repeated")}))
def test_a_bad_line_is_rejected_with_its_reason_and_kept_as_it_arrived(story, reason):
    want = sorted((name, i + 1, line) for name, cases in FIRST.items() for i, (line, o) in enumerate(cases)
                  if o == reason)
    got = sorted((r.file.split("/dropzone/")[1], r.line, r.record) for r in line_rejects(story["rejects1"])
                 if r.reason == reason)
    assert got == want


def test_identical_bad_lines_are_each_kept(story):
    same = [r for r in story["rejects1"] if r.record == "the same bad line"]
    assert len(same) == 3 and len({(r.file, r.line) for r in same}) == 3


def test_wrong_types_are_not_scored_under_a_coerced_id(story):
    assert not {"123", "true", '["l"]', "t1", "t2", "t3", "t4", "c1", "d1", "d2", "t5"} & set(story["live"])


def test_a_bom_is_not_part_of_the_first_record_and_latin1_is_rejected(story):
    assert "bom1" in story["live1"]
    (latin,) = [r for r in story["rejects1"] if r.reason == "invalid_utf8"]
    assert latin.record == '{"review_id": "lat1", "text": "caf\ufffd cr\ufffdme"}' and latin.line == 1
    assert "lat1" not in story["live"]


def test_files_spark_will_not_read_are_reported_once_each(story):
    first = story["first"]
    found = {r.file.split("/dropzone/")[1]: r.reason for r in story["rejects1"]
             if r.reason.startswith("file_not_read:")}
    assert found == {name: f"file_not_read:{why}" for name, why in HIDDEN.items()}
    assert first.ignored_files == first.unread_files == len(HIDDEN)
    assert "h1" not in story["live"]


def test_an_append_to_a_read_file_is_reported_and_resent_ids_counted(story):
    second = story["second"]
    assert second.rows_in == len(SECOND) == second.rows + second.rejected + second.repeated + second.resent
    assert (second.rows, second.rejected, second.resent) == (1, 1, 1)
    assert story["live"]["g2"].batch_id == story["live1"]["g2"].batch_id  # kept its first prediction
    (conflict,) = [r for r in story["rejects"] if r.reason == "id_already_scored_with_other_text"]
    assert conflict.record == SECOND[1][0] and conflict.file.endswith("/c.jsonl") and conflict.line == 2
    changed = [r for r in story["rejects"] if r.reason == "file_not_read:changed_after_read"]
    assert [r.file.rsplit("/", 1)[1] for r in changed] == ["b.jsonl"]
    assert json.loads(changed[0].record)["size"] == (story["zone"] / "b.jsonl").stat().st_size
    # the hidden files already reported are not recorded again; the append is new
    assert second.ignored_files == 1 and second.unread_files == len(HIDDEN) + 1
    assert "late" not in story["live"]
    m = story["metrics"]
    file_level = [r for r in story["rejects"] if r.reason.startswith("file_not_read:")]
    assert sum(r.rejected for r in m) == len(line_rejects(story["rejects"]))
    assert len(file_level) == story["first"].ignored_files + second.ignored_files
    assert sum(r.resent for r in m) == 1


def test_drop_zone_predictions_can_be_labelled_and_conflicts_are_rejected(story, spark, tmp_path):
    cfg = story["cfg"]
    labels = tmp_path / "labels.csv"
    # a spreadsheet's CSV: a byte-order mark before the header
    labels.write_bytes("\ufeffreview_id,label\ng1,1\ng2,0\nb1,1\nb1,1\ng3,1\ng3,0\nn1,0\n".encode())
    result = feedback.run(spark, cfg, action="label", file=str(labels))
    assert (result.lines, result.rows, result.rejected, result.repeated) == (7, 4, 2, 1)
    table = {r.review_id: r for r in lake.read_table(spark, cfg, "feedback").collect()}
    assert set(table) == {"g1", "g2", "b1", "n1"}
    assert (table["g1"].text, table["g1"].label) == ("a superb film", 1)
    assert (table["n1"].text, table["n1"].label) == ("boring plot", 0)
    rejects = lake.read_table(spark, cfg, "feedback_rejects").orderBy("line").collect()
    assert [(r.review_id, r.label, r.line, r.reason) for r in rejects] == [
        ("g3", 1, 6, "conflicting_labels"), ("g3", 0, 7, "conflicting_labels")]
    assert "2 rejected (conflicting_labels" in result.report()

    # a later file contradicting the table: rejected, the table keeps its label
    again = tmp_path / "again.csv"
    again.write_text("review_id,label\ng1,0\nk1,1\n")
    second = feedback.run(spark, cfg, action="label", file=str(again))
    assert (second.lines, second.rows, second.rejected) == (2, 1, 1)
    table = {r.review_id: r for r in lake.read_table(spark, cfg, "feedback").collect()}
    assert table["g1"].label == 1 and table["k1"].text == "great fun"
    assert lake.read_table(spark, cfg, "feedback_rejects").filter(F.col("review_id") == "g1").count() == 1


@pytest.mark.parametrize("argv, message", [
    (["--trigger", "-5"], "argument --trigger: takes available-now or a number of seconds > 0, got '-5'"),
    (["--trigger", "0"], "argument --trigger: takes available-now or a number of seconds > 0, got '0'"),
    (["--trigger", "soon"], "argument --trigger: takes available-now or a number of seconds > 0, got 'soon'"),
    (["--source", "files", "--path", "{missing}"], "argument --path: drop zone {missing} does not exist"),
    (["--source", "files", "--path", "{file}"], "argument --path: drop zone {file} is a file, not a folder"),
    (["--timeout", "-1"], "argument --timeout: takes a number of seconds > 0, got '-1'"),
])
def test_stream_usage_errors_are_one_line_before_spark(argv, message, tmp_path, capsys):
    (tmp_path / "f.jsonl").write_text("{}\n")
    fill = {"missing": str(tmp_path / "nowhere"), "file": str(tmp_path / "f.jsonl")}
    assert stream.main([a.format(**fill) for a in argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message.format(**fill) in err[0]


def test_a_configured_drop_zone_that_is_a_file_is_a_config_error(make_cfg, spark, tmp_path):
    (tmp_path / "zone.jsonl").write_text("{}\n")
    cfg = make_cfg(f"stream.dropzone={tmp_path / 'zone.jsonl'}")
    with pytest.raises(ConfigError, match=r"is a file, not a folder: pass --path \(stream.dropzone\)"):
        stream.run(spark, cfg, source="files")


@pytest.mark.parametrize("content, message", [
    (None, "feedback label needs --file labels.csv"),
    ("review_id,label\ncaf\xe9,1\n".encode("latin-1"),
     "is not UTF-8 text (byte 0xe9 at offset 19): save it as UTF-8 CSV"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is not UTF-8 text (byte 0x89 at offset 0)"),
    (b"review_id,label\x00\x00\x00", "is not text (a NUL byte at offset 15)"),
])
def test_feedback_usage_errors_are_one_line_before_spark(content, message, tmp_path, capsys):
    argv = ["label"]
    if content is not None:
        (tmp_path / "labels.csv").write_bytes(content)
        argv += ["--file", str(tmp_path / "labels.csv")]
    assert feedback.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]


def test_feedback_margin_out_of_range_is_a_usage_error(capsys):
    assert feedback.main(["review", "--margin", "5"]) == 2
    assert "argument --margin: must be between 0 and 0.5" in capsys.readouterr().err


def test_a_labels_file_saved_by_a_spreadsheet_is_read(tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_bytes("\ufeffreview_id,label\r\na1,1\r\na2,0\r\n".encode())  # BOM and CRLF
    assert job_parser(feedback).parse_args(["label", "--file", str(labels)]).file == str(labels)
    assert [(ln.line, ln.review_id, ln.label) for ln in feedback.read_labels(str(labels))] == [
        (2, "a1", 1), (3, "a2", 0)]


def test_help_states_the_drop_zone_and_labels_rules():
    text = " ".join(job_parser(stream).format_help().split())
    assert "The zone takes NEW files: write each file outside the zone" in text
    assert "lines appended to it or a rewrite are not read" in text and "file_not_read:<why>" in text
    assert "seconds (> 0)" in text
    labels = " ".join(job_parser(feedback).format_help().split())
    assert "label (required)" in labels and "byte-order mark is fine" in labels and "conflicting_labels" in labels
