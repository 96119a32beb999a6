"""The stream scorer on a local lake with a drop zone of JSON-lines files: bad lines are
rejected with a reason, repeated ids scored once, nothing lost; the always-on trigger
picks up a file dropped while it runs. (The Delta-table source, SIGKILL restarts and the
object store are in tests/test_two_clusters.py.)"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from crosslake import lake
from jobs import stream
from tests.helpers import drop_file
from tests.review_site import VOCAB, tiny_model
from train import registry
from train.store import save_model


def drop(folder: Path, name: str, lines: list[str]) -> None:
    drop_file(folder, name, "".join(line + "\n" for line in lines))


def review(rid: str, text: str) -> str:
    return json.dumps({"review_id": rid, "text": text})


def test_drop_zone_rows_are_scored_once_and_bad_lines_rejected_with_a_reason(make_cfg, spark, tmp_path):
    cfg = make_cfg()
    version, _ = save_model(cfg.model_store, cfg.models.name, tiny_model(), VOCAB, {"data": {}})
    registry.set_alias(cfg.model_store, cfg.models.name, "production", version)
    zone = tmp_path / "dropzone"
    zone.mkdir()
    drop(zone, "a.jsonl", [review("a1", "a superb film"), review("a2", "dull and awful"),
                           review("a3", "great story"), "{not json", json.dumps({"review_id": "a4"}),
                           review("a1", "a superb film")])
    first = stream.run(spark, cfg, source="files", path=str(zone))
    live = {r.review_id: r for r in lake.read_table(spark, cfg, "live_predictions").collect()}
    assert set(live) == {"a1", "a2", "a3"} and live["a1"].prediction == 1 and live["a2"].prediction == 0
    rejects = {r.reason: (r.record, r.line) for r in lake.read_table(spark, cfg, "stream_rejects").collect()}
    assert rejects == {"not_valid_json": ("{not json", 4), "no_text": ('{"review_id": "a4"}', 5)}  # as they arrived
    (m,) = lake.read_table(spark, cfg, "stream_metrics").collect()
    assert (m.rows_in, m.rows, m.rejected, m.repeated) == (6, 3, 2, 1)  # 6 = 3 scored + 2 rejected + 1 repeat
    assert first.rows == 3 and first.rejected == 2 and first.repeated == 1

    drop(zone, "b.jsonl", [review("b1", "wonderful acting"), review("a2", "sent again, already scored")])
    second = stream.run(spark, cfg, source="files", path=str(zone))
    after = {r.review_id: r for r in lake.read_table(spark, cfg, "live_predictions").collect()}
    assert set(after) == {"a1", "a2", "a3", "b1"}
    # a2 came back with another text: rejected, not "scored" and dropped
    assert (second.rows, second.rejected) == (1, 1)
    assert "id_already_scored_with_other_text" in {r.reason for r in lake.read_table(spark, cfg, "stream_rejects")
                                                   .collect()}
    assert all(after[k].batch_id == live[k].batch_id for k in live)  # nothing re-scored

    # always on: a file dropped while the stream runs is scored within a trigger or two
    threading.Timer(6, drop, args=(zone, "c.jsonl", [review("c1", "boring plot")])).start()
    started = time.monotonic()
    always = stream.run(spark, cfg, source="files", path=str(zone), trigger="1", timeout=40)
    assert time.monotonic() - started >= 40 and always.rows == 1
    assert "c1" in {r.review_id for r in lake.read_table(spark, cfg, "live_predictions").collect()}
