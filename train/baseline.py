"""The classic linear baseline: TF-IDF + logistic regression in Spark ML.

It reads exactly what the CNN reads (gold's token ids, cut to the same length), as a
bag of words: the only thing it lacks is word order, which is what the comparison is for.
"""

from __future__ import annotations

from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.feature import IDF, CountVectorizer
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from crosslake.config import BaselineConfig


def with_bag_of_words(gold: DataFrame) -> DataFrame:
    """Requires: token_ids. Adds: words (array<string>, padding removed)."""
    return gold.withColumn(
        "words", F.transform(F.filter("token_ids", lambda i: i != 0), lambda i: i.cast("string")))


def fit_baseline(train_df: DataFrame, cfg: BaselineConfig) -> PipelineModel:
    pipeline = Pipeline(stages=[
        CountVectorizer(inputCol="words", outputCol="tf", vocabSize=cfg.num_features),
        IDF(inputCol="tf", outputCol="features"),
        LogisticRegression(featuresCol="features", labelCol="label", regParam=cfg.reg_param,
                           elasticNetParam=cfg.elastic_net, maxIter=cfg.max_iter,
                           standardization=cfg.standardization),
    ])
    return pipeline.fit(train_df.transform(with_bag_of_words))


def accuracy(model: PipelineModel, df: DataFrame) -> float:
    scored = model.transform(df.transform(with_bag_of_words))
    row = scored.agg(F.avg((F.col("prediction") == F.col("label")).cast("double")).alias("acc")).first()
    return float(row["acc"])
