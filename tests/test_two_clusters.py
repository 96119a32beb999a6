"""Two clusters, one bucket: the training side (onprem-gpu) and the scoring side
(cloud-cpu) run as separate processes with separate profiles and separate local
folders, and share nothing but a real S3-compatible server (moto) on loopback.

The story, in order (one module fixture; each test checks one part of it):
  1. training side: the pipeline through spark-submit of the `make dist` bundle to a real
     standalone Spark cluster (tests/standalone.py: a master and two workers, separate JVMs
     with their own work and local folders, started from a clean environment: no AWS keys,
     no venv on PATH) -> model v1 in production, tables on s3a://. The jars are on the
     nodes (spark.node_jars), not sent with the application; executors authenticate with
     their node's credentials file, never with the driver's keys
  2. scoring side: batch scoring twice (the second changes nothing); a training job is
     refused there, and a scoring job on the training side
  3. reviews arrive in the incoming table; the stream scorer is SIGKILLed at random
     points several times and restarted; every row ends with exactly one prediction
  4. the training side puts v2 in production; new rows are scored by v2 without re-scoring old ones
  5. people label the live predictions; the training side's next run reads that feedback
     and the retrained model gets right the reviews v1 could not read

Each side's first runs are processes of their own (a cold start: the JVM, the S3A client,
the profile): the training pipeline (spark-submit), batch scoring, the refused jobs and
every stream run that gets SIGKILLed (the `crosslake` command). The runs after those (the
stream's restart, the stream after the promotion, the feedback and the retrain) are the
same command through its main([...]) in this test process, on that side's profile and
local folder, with only the bucket's address and credentials in common, as a notebook on
that side runs them: what they prove is what crosses the bucket (a restart finds only what
the killed process left there), not another process start, and four more cold starts cost
this story a third of its time. (That exit codes reach the caller under spark-submit:
tests/jobs/test_jobs.py.)
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from crosslake import lake
from crosslake.config import load_config
from crosslake.errors import ConfigError
from tests import s3, standalone
from tests.helpers import CROSSLAKE, error_line, in_process, random_seed
from train import registry
from train.scoring import load_scorer
from train.store import versions

pytestmark = pytest.mark.slow  # starts the crosslake command (or spark-submit, Airflow, ...) in new processes

TRAINING, SCORING = "onprem-gpu,test", "cloud-cpu,test"
SMALL = ["--set", "generate.train=800", "--set", "generate.test=300", "--set", "generate.unsup=30",
         "--set", "train.epochs=5"]  # a third of the test profile's corpus: this story starts many processes

# Words the generated corpus never uses: model v1 cannot know what they mean.
NEW_POSITIVE = "zorbly quenfit plavish morvant glimmersome tadorous".split()
NEW_NEGATIVE = "grottle snirkish blavvy frumpled dreckous vomple".split()
FILLER = "the movie was {a} and the acting felt {b} , i found the story {c} overall".split()


def new_word_review(i: int, positive: bool) -> str:
    words = NEW_POSITIVE if positive else NEW_NEGATIVE
    rng = random.Random(i)
    a, b, c = (rng.choice(words) for _ in range(3))
    return " ".join(FILLER).format(a=a, b=b, c=c)


class Sides:
    """Runs `crosslake` as each cluster does: its own profile, its own local folder, and
    only the bucket's address and credentials in common."""

    def __init__(self, root: Path, store: s3.ObjectStore):
        self.root, self.store = root, store
        self.lake = store.uri("lake")
        self.outputs: list[str] = []

    def argv(self, profile: str, *args: str) -> list[str]:
        side = profile.split(",")[0]
        return [CROSSLAKE, *args, "--profile", profile, "--lake-root", self.lake,
                "--set", f"source.path={self.root / 'onprem' / 'aclImdb'}",
                "--set", f"lake.scratch={self.root / side}", *SMALL,
                # on this machine every node sees root: declared as the mount a real cluster's nodes share
                "--set", f"cluster.shared_paths=[{self.root}]"]

    def env(self) -> dict[str, str]:
        return {**os.environ, **self.store.env(), "PYTHONWARNINGS": "ignore::FutureWarning"}

    def run(self, profile: str, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(self.argv(profile, *args), capture_output=True, text=True, timeout=900,
                              env=self.env(), cwd=self.root)
        self.outputs.append(done.stdout + done.stderr)
        if ok:
            assert done.returncode == 0, done.stderr[-4000:]
        return done

    def submit(self, dist: Path, master: str, profile: str, *args: str, options: tuple[str, ...] = ()):
        """The command through spark-submit of the bundle, with the jars on the nodes."""
        done = standalone.submit(dist, self.root, *self.argv(profile, *args)[1:], options=options, master=master,
                                 node_jars=True, env=self.store.env())
        self.outputs.append(done.stdout + done.stderr)
        assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
        return done

    def in_process(self, profile: str, *args: str) -> subprocess.CompletedProcess:
        """The same command through crosslake.cli.main in this process (its stdout and stderr kept)."""
        done = in_process(*self.argv(profile, *args)[1:], env=self.store.env())
        self.outputs.append(done.stdout + done.stderr)
        return done

    def cfg(self, profile: str):
        return load_config(profile, lake_root=self.lake)


def append_incoming(spark, cfg, rows: list[tuple[str, str]]) -> None:
    """What the scoring side's front door does: append received reviews (one commit, one file)."""
    df = (spark.createDataFrame(rows, "review_id string, text string")
          .withColumn("received_at", F.current_timestamp()).coalesce(1))
    lake.write_table(df, cfg, "incoming", mode="append")


def kill_and_restart(sides: Sides, kills: int, rng: random.Random) -> list[float]:
    """Start the stream, SIGKILL it (JVM and all) after a random delay, `kills` times; then
    let it finish. Returns the delays used.

    The killed runs take one commit per micro-batch, so a kill lands between, inside or after
    many batch boundaries. The run that finishes is an ordinary restart (in this process, the
    profile's batch size): it must replay the batch a kill interrupted exactly as its offsets were recorded,
    then take the rest, which it does in one or two batches instead of one per commit (each
    micro-batch on the bucket costs several Delta commits: seconds that prove nothing more)."""
    delays = []
    for _ in range(kills):
        delay = rng.uniform(10, 22)
        proc = subprocess.Popen(sides.argv(SCORING, "stream", "--set", "stream.max_files_per_trigger=1"),
                                env=sides.env(), cwd=sides.root, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            proc.wait(timeout=delay)  # finished before the kill: fine, the next start has nothing to do
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        delays.append(round(delay, 1))
    sides.in_process(SCORING, "stream")
    return delays


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    return standalone.bundle(tmp_path_factory.mktemp("bundle") / "dist")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """The training side's cluster: each node has the bucket's credentials in its own file."""
    with standalone.running(tmp_path_factory.mktemp("standalone"), workers=2, cores=1, memory="1500m",
                            credentials=(s3.ACCESS_KEY, s3.SECRET_KEY)) as running:
        yield running


def event_log(store: s3.ObjectStore) -> list[dict]:
    return [json.loads(line) for key in store.keys("spark-events/")
            for line in store.client().get_object(Bucket=store.bucket, Key=key)["Body"].read().splitlines()]


@pytest.fixture(scope="module")
def story(tmp_path_factory, spark, s3_server, dist, cluster):
    root = tmp_path_factory.mktemp("two-clusters")
    store = s3_server.fresh("two-clusters")
    s3.attach(spark, store)
    sides = Sides(root, store)
    train_cfg, score_cfg = sides.cfg(TRAINING), sides.cfg(SCORING)
    out: dict = {"sides": sides, "train_cfg": train_cfg, "score_cfg": score_cfg, "store": store}

    # 1. training side: spark-submit to its standalone cluster, the event log on the bucket
    store.client().put_object(Bucket=store.bucket, Key="spark-events/")
    events = ("--conf", "spark.eventLog.enabled=true", "--conf", f"spark.eventLog.dir={store.uri('spark-events')}",
              "--conf", "spark.eventLog.compress=false")
    out["submit"] = sides.submit(dist, cluster.url, TRAINING, "pipeline", options=events)
    (app,) = [a for a in cluster.applications() if a["name"] == "crosslake-pipeline"]
    out["app"], out["app_dirs"], out["events"] = app, [p for p in cluster.work_dirs() if p.name == app["id"]], event_log(store)
    out["submitted_runs"] = lake.read_table(spark, train_cfg, "runs").orderBy("started_at").collect()
    # 2. scoring side: batch (re-scoring is a no-op: tests/jobs/test_jobs.py); the one-writer rule
    out["score_run"] = sides.run(SCORING, "score")
    out["refused_clean"] = sides.run(SCORING, "clean", ok=False)
    out["refused_score"] = sides.run(TRAINING, "score", ok=False)

    # 3. reviews arrive in 8 commits; the stream is killed at random points and restarted
    labels = {}
    with s3.environment(store.env()):
        for batch in range(8):
            rows = []
            for j in range(20):
                i = batch * 20 + j
                labels[f"live-{i}"] = i % 2
                rows.append((f"live-{i}", new_word_review(i, positive=i % 2 == 1)))
            append_incoming(spark, score_cfg, rows)
        seed = random_seed()
        print(f"\nstream kill seed {seed} (CROSSLAKE_TEST_SEED={seed} replays this run)")
        out["kill_seed"] = seed
        out["kill_delays"] = kill_and_restart(sides, kills=2, rng=random.Random(seed))
        out["live_after_kills"] = lake.read_table(spark, score_cfg, "live_predictions").collect()
        out["v1"] = registry.resolve(train_cfg.model_store, train_cfg.models.name, "production")

        # 4. the training side puts another version in production (the CNN or its baseline,
        #    whichever the promotion passed over); the stream follows it
        name = train_cfg.models.name
        v2 = next(v for v in versions(train_cfg.model_store, name) if v != out["v1"])
        registry.set_alias(train_cfg.model_store, name, "production", v2)
        out["v2"] = v2
        later = [(f"late-{i}", new_word_review(1000 + i, positive=i % 2 == 1)) for i in range(10)]
        for i in range(10):
            labels[f"late-{i}"] = i % 2
        append_incoming(spark, score_cfg, later)
    out["stream_run"] = sides.in_process(SCORING, "stream")
    out["live"] = lake.read_table(spark, score_cfg, "live_predictions").collect()
    out["metrics"] = lake.read_table(spark, score_cfg, "stream_metrics").collect()

    # 5. feedback: a person labels every live prediction; the training side retrains
    labels_csv = root / "labels.csv"
    labels_csv.write_text("review_id,label\n" + "".join(f"{k},{v}\n" for k, v in labels.items()))
    out["feedback_run"] = sides.in_process(SCORING, "feedback", "label", "--file", str(labels_csv))
    out["feedback"] = lake.read_table(spark, score_cfg, "feedback").collect()
    out["retrain"] = sides.in_process(TRAINING, "pipeline")
    out["silver_feedback"] = (lake.read_table(spark, train_cfg, "silver")
                              .filter(F.col("review_id").startswith("feedback/")).collect())
    with s3.environment(store.env()):
        retrained = registry.aliases(train_cfg.model_store, train_cfg.models.name)["candidate"]
        out["latest"] = load_scorer(train_cfg.model_store, train_cfg.models.name, retrained)
        out["first"] = load_scorer(train_cfg.model_store, train_cfg.models.name, out["v1"])
        for scorer in (out["latest"], out["first"]):
            scorer.predict_records(["read while the store is reachable"])  # its weights are read lazily
    out["labels"] = labels
    out["keys"] = store.keys()
    yield out


def test_both_sides_keep_everything_in_the_bucket_and_nothing_else_in_common(story):
    keys = story["keys"]
    for prefix in ("lake/bronze/reviews/_delta_log/", "lake/silver/reviews/_delta_log/", "lake/gold/reviews/",
                   "lake/predictions/reviews/_delta_log/", "lake/predictions/live/_delta_log/",
                   "lake/models/sentiment_cnn/v1/model.safetensors", "lake/models/sentiment_cnn/aliases.json",
                   "lake/_checkpoints/streams/incoming/offsets/", "lake/feedback/reviews/_delta_log/",
                   "lake/_ledger/onprem-gpu/runs/", "lake/_ledger/cloud-cpu/runs/"):
        assert any(k.startswith(prefix) for k in keys), prefix
    root = story["sides"].root
    # each side's local folder holds only its own working files: no table lives there
    assert not list((root / "cloud-cpu").rglob("_delta_log")) and not list((root / "onprem-gpu").rglob("_delta_log"))


def test_the_bundle_holds_what_spark_submit_needs(dist):
    import zipfile

    names = zipfile.ZipFile(dist / "crosslake.zip").namelist()
    for module in ("crosslake/cli.py", "jobs/ingest.py", "transforms/features.py", "train/loop.py",
                   "serving/udf.py", "expectations/gold.py", "sources/imdb_reader.py"):
        assert module in names
    assert (dist / "conf" / "base.yaml").is_file() and (dist / "crosslake_submit.py").is_file()
    jars = (dist / "jars.txt").read_text().strip().split(",")
    assert all(Path(j).is_file() for j in jars) and any("delta-spark" in j for j in jars)
    assert list(dist.glob("crosslake-*.whl"))


def test_the_training_pipeline_runs_through_spark_submit_on_its_cluster(story, dist, cluster):
    output = story["submit"].stdout + story["submit"].stderr
    # the code that ran is the bundle's, not the checkout's (the venv also has it installed)
    assert f"crosslake_submit: code from {dist / 'crosslake.zip'}/crosslake" in output
    assert f"master {cluster.url})" in output  # spark-submit's --master wins over the profile's local[2]
    runs = story["submitted_runs"]
    assert [r.job for r in runs] == ["pipeline", "ingest", "clean", "features", "train", "promote"]  # no scoring role
    assert all(r.status == "success" for r in runs)
    assert runs[0].parent_run_id is None and {r.parent_run_id for r in runs[1:]} == {runs[0].run_id}

    # the pipeline's Spark work ran on the cluster: its application, with executors on both workers ...
    app, folders = story["app"], story["app_dirs"]
    assert app["state"] == "FINISHED" and app["cores"] >= 2
    assert len(folders) == 2, folders
    # ... where its tasks ran: the application's event log (written to the bucket) has tasks
    # finished on executors of both workers, none on the driver
    events = story["events"]
    tasks = [e["Task Info"] for e in events if e["Event"] == "SparkListenerTaskEnd"]
    executors = {e["Executor ID"] for e in events if e["Event"] == "SparkListenerExecutorAdded"}
    assert len(executors) == 2 and {t["Executor ID"] for t in tasks} == executors and len(tasks) > 50
    logs = "".join(f.read_text(errors="replace") for folder in folders for f in folder.rglob("std*"))
    # ... and no jar was copied into either worker's folder for it: the jars are the node's
    assert not [f for folder in folders for f in folder.rglob("*.jar")]
    assert sum(f.stat().st_size for folder in folders for f in folder.rglob("*") if f.is_file()) < 20 * 2**20
    # the executors wrote the tables into the bucket with their node's credentials, which no log shows
    assert s3.SECRET_KEY not in logs and s3.SECRET_KEY not in output


def test_what_executors_cannot_reach_fails_in_one_line(dist, tmp_path, cluster, s3_server):
    """A source folder on the driver's disk that no node shares, then executors without the
    bucket's credentials (their node's credentials file is not where the application says):
    each one line that says what the nodes need."""
    store = s3_server.fresh("submit-nokeys")
    corpus = tmp_path / "aclImdb"
    common = ["--profile", "test", "--lake-root", store.uri("lake"), "--set", f"source.path={corpus}"]
    from jobs import generate

    assert generate.main(["--train", "20", "--test", "10", "--unsup", "0", *common]) == 0
    done = standalone.submit(dist, tmp_path, "ingest", *common, master=cluster.url, node_jars=True, env=store.env())
    assert done.returncode == 2, done.stderr[-3000:]  # a configuration error
    line = error_line(done.stdout + done.stderr)
    assert f"the source folder {corpus} is a folder on this machine, but the executors of {cluster.url}" in line
    assert "cluster.shared_paths=[" in line
    common += ["--set", f"cluster.shared_paths=[{tmp_path}]"]  # as if tmp_path were a mount every node has
    done = standalone.submit(dist, tmp_path, "ingest", *common, master=cluster.url, node_jars=True, env=store.env(),
                             options=("--conf", "spark.executorEnv.AWS_SHARED_CREDENTIALS_FILE=/nonexistent",
                                      "--conf", "spark.task.maxFailures=1"))
    assert done.returncode == 1, done.stderr[-3000:]
    line = error_line(done.stdout + done.stderr)  # spark-submit passes the Python driver's stderr on as its stdout
    assert "no credentials for the object store were found where the work ran" in line
    assert "AWS_SHARED_CREDENTIALS_FILE" in line and s3.SECRET_KEY not in done.stdout + done.stderr


def test_batch_scoring_on_the_other_side_uses_the_promoted_model(story, spark):
    preds = lake.read_table(spark, story["score_cfg"], "predictions")
    silver = lake.read_table(spark, story["train_cfg"], "silver").filter(F.col("split").isin("test", "unsup"))
    assert preds.count() == silver.count() > 0  # every row of the training side's table, once
    assert {r.model_version for r in preds.select("model_version").distinct().collect()} == {story["v1"]}
    assert {r.input_table for r in preds.select("input_table").distinct().collect()} == {"silver"}
    assert f"with model v{story['v1']}" in story["score_run"].stdout


def test_each_side_refuses_to_write_the_other_sides_tables(story):
    clean, score = story["refused_clean"], story["refused_score"]
    assert clean.returncode == 2 and "`clean` writes tables of the training side" in clean.stderr
    assert "cluster 'cloud-cpu'" in clean.stderr
    assert score.returncode == 2 and "`score` writes tables of the scoring side" in score.stderr


def test_the_one_writer_rule_holds_below_the_jobs_too(story, spark):
    df = spark.createDataFrame([("x",)], "review_id string")
    with pytest.raises(ConfigError, match="table 'silver' is written only by the training cluster"):
        lake.write_table(df, story["score_cfg"], "silver", mode="append")
    with pytest.raises(ConfigError, match="the model store is written only by the training cluster"):
        story["score_cfg"].require_writer("models")


def test_sigkilled_stream_scores_every_row_exactly_once(story):
    rows = story["live_after_kills"]
    ids = [r.review_id for r in rows]
    expected = {f"live-{i}" for i in range(160)}
    assert len(ids) == len(set(ids)) == 160 and set(ids) == expected, \
        f"kill delays {story['kill_delays']} (seed {story['kill_seed']})"
    assert {r.model_version for r in rows} == {story["v1"]}


def test_a_new_production_model_is_picked_up_without_rescoring_or_losing_rows(story):
    live = {r.review_id: r for r in story["live"]}
    assert len(story["live"]) == len(live) == 170
    assert {live[f"late-{i}"].model_version for i in range(10)} == {story["v2"]}
    before = {r.review_id: (r.model_version, r.batch_id) for r in story["live_after_kills"]}
    assert all((live[k].model_version, live[k].batch_id) == v for k, v in before.items())  # untouched
    assert "10 new rows scored" in story["stream_run"].stdout


def test_the_stream_reports_its_progress(story):
    metrics = story["metrics"]
    assert sum(m.rows for m in metrics) >= 170  # a replayed batch is counted again, never fewer
    for m in metrics:
        assert m.duration_s > 0 and abs(m.rows_per_s - m.rows / m.duration_s) < 1e-6
        assert 0 <= m.latency_p50_s <= m.latency_p99_s
    assert "latency p50" in story["stream_run"].stderr


def test_feedback_flows_back_and_the_retrained_model_learns_it(story, spark):
    feedback = {r.review_id: r for r in story["feedback"]}
    labels = story["labels"]
    assert set(feedback) == set(labels)
    wrong = [k for k, r in feedback.items() if r.prediction != labels[k]]
    assert {k for k, r in feedback.items() if r.reason == "wrong"} == set(wrong) and wrong
    assert f"{len(labels)} labelled rows, {len(wrong)} of them predicted wrong" in story["feedback_run"].stdout
    # the training side took every labelled review into its train split (a text sent twice, once)
    silver = story["silver_feedback"]
    distinct = len({r.text for r in story["feedback"]})
    assert len(silver) == distinct and {r.split for r in silver} == {"train"}
    assert {r.text for r in silver} == {r.text for r in story["feedback"]}
    assert f"plus {distinct} labelled feedback rows in the train split" in story["retrain"].stdout
    latest, first = story["latest"], story["first"]
    assert latest.metadata["data"]["silver_version"] > first.metadata["data"]["silver_version"]
    # reviews with the new words that nobody labelled: v1 cannot read them, the retrained model can
    held_out = [(f"h{i}", new_word_review(5000 + i, positive=i % 2 == 1), i % 2) for i in range(60)]

    def accuracy(scorer) -> float:  # the Spark-free scoring path: any kind of model
        probs = scorer.predict_records([text for _, text, _ in held_out])
        return sum(int(p >= 0.5) == label for p, (_, _, label) in zip(probs.tolist(), held_out)) / len(held_out)

    before, after = accuracy(first), accuracy(latest)
    assert after >= 0.9 and after - before >= 0.3, (before, after)


def test_credentials_never_reach_logs_tables_or_the_store(story, spark):
    secret = s3.SECRET_KEY
    for text in story["sides"].outputs:
        assert secret not in text and s3.ACCESS_KEY not in text
    runs = lake.read_table(spark, story["score_cfg"], "runs").toJSON().collect()
    assert not any(secret in r for r in runs)
    meta = json.dumps(story["latest"].metadata)
    assert secret not in meta and s3.ACCESS_KEY not in meta
