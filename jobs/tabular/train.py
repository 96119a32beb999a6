"""Train the tabular MLP on a declared dataset: <name>_gold (pinned) -> model <name>_mlp.

The same path as the text CNN (petastorm from a pinned Delta version, checkpoints,
early stopping, curves, the registry's `candidate` alias), with a feed-forward network
over gold's feature vectors, and a Spark ML logistic regression on the same vectors as
the baseline to beat.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from crosslake.config import Config
from crosslake.errors import CrosslakeError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)


@dataclass
class DatasetTrainResult:
    model_name: str
    model_version: int
    model_path: str
    gold_version: int
    test_accuracy: float
    baseline_test_accuracy: float
    device: str
    rows: dict[str, int]

    def report(self) -> str:
        verdict = "beats" if self.test_accuracy > self.baseline_test_accuracy else "does NOT beat"
        return (f"model: {self.model_path} ({self.model_name} v{self.model_version}, trained on gold version "
                f"{self.gold_version}, {self.device}, {self.rows['train']:,} train rows)\n"
                f"  test accuracy: MLP {self.test_accuracy:.4f} | logistic regression baseline "
                f"{self.baseline_test_accuracy:.4f} (the MLP {verdict} the baseline)")


def baseline_accuracy(train: DataFrame, test: DataFrame, *, max_iter: int) -> float:
    """Logistic regression on the same feature vectors: what the MLP has to beat."""
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.functions import array_to_vector
    from pyspark.sql import functions as F

    as_vectors = lambda df: df.withColumn("vec", array_to_vector("features"))  # noqa: E731
    model = LogisticRegression(featuresCol="vec", labelCol="label", maxIter=max_iter).fit(as_vectors(train))
    scored = model.transform(as_vectors(test))
    return float(scored.agg(F.avg((F.col("prediction") == F.col("label")).cast("double"))).first()[0])


def run(spark: SparkSession, cfg: Config, name: str, *, gold_version: int | None = None,
        fresh: bool = False) -> DatasetTrainResult:
    from crosslake import lake
    from jobs.train import SPLITS, train_and_store
    from pyspark.sql import functions as F
    from train.device import seed_everything
    from train.model import MLPSpec, TabularMLP

    ds = cfg.dataset(name)
    tcfg = dataclasses.replace(cfg.train, **ds.train)
    table = f"{name}_gold"
    gold_version = lake.pinned_version(spark, cfg, table, gold_version)
    gold = lake.read_table(spark, cfg, table, version=gold_version)
    first = gold.select("silver_version", "encoding_version", F.size("features").alias("width")).first()
    if first is None:
        raise CrosslakeError(f"{table} version {gold_version} is empty: run `crosslake features --dataset {name}`")
    splits = {s: gold.filter(F.col("split") == s) for s in SPLITS}
    baseline_acc = baseline_accuracy(splits["train"], splits["test"], max_iter=cfg.baseline.max_iter)
    log.info("baseline test accuracy %.4f", baseline_acc)
    encoding = [r.asDict() for r in lake.read_table(spark, cfg, f"{name}_encoding", version=first.encoding_version)
                .orderBy("position").collect()]
    seed_everything(tcfg.seed)
    spec = MLPSpec(in_dim=first.width, hidden=tuple(ds.model.hidden), dropout=ds.model.dropout)
    model_name = f"{name}_mlp"
    trained = train_and_store(
        spark, cfg, TabularMLP(spec), name=model_name, splits=splits, feature_col="features", tcfg=tcfg,
        gold_table=table, gold_version=gold_version, vocabulary={}, unit="row", baseline_acc=baseline_acc,
        data={"silver_version": first.silver_version, "encoding_version": first.encoding_version},
        config={"dataset": name, "model": dataclasses.asdict(ds.model)}, fresh=fresh,
        files={"encoding.json": json.dumps(encoding, indent=1).encode()})
    return DatasetTrainResult(model_name, trained.version, trained.path, gold_version, trained.test.accuracy,
                              baseline_acc, trained.device, trained.rows)
