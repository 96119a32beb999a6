from pyspark.sql import functions as F

from transforms.features import OOV_ID, PAD_ID, vocabulary, with_token_ids, with_tokens


def test_with_tokens_lowercases_and_keeps_order(spark):
    df = spark.createDataFrame([("Not GREAT, but it's fine.",), ("",), (None,)], "text string")
    assert [r.tokens for r in df.transform(with_tokens).collect()] == \
           [["not", "great", "but", "it's", "fine"], [], None]


def test_vocabulary_ranks_by_count_then_token_and_applies_limits(spark):
    df = spark.createDataFrame([(["b", "a", "c", "a"],), (["b", "a", "d"],), (["e"],), (None,)], "tokens array<string>")
    vocab = {r.token: (r.id, r["count"]) for r in vocabulary(df, size=10, min_count=2).collect()}
    assert vocab == {"a": (2, 3), "b": (3, 2)}  # ids start after pad (0) and OOV (1); c, d, e are too rare
    small = {r.token: r.id for r in vocabulary(df, size=1, min_count=1).collect()}
    assert small == {"a": 2}


def test_with_token_ids_maps_pads_and_cuts(spark):
    df = spark.createDataFrame([(["a", "zzz", "b"],), (["b"] * 10,), ([],), (None,)], "tokens array<string>")
    out = df.transform(with_token_ids, vocab={"a": 2, "b": 3}, max_len=4).collect()
    assert [r.token_ids for r in out] == [[2, OOV_ID, 3, PAD_ID], [3, 3, 3, 3], [0, 0, 0, 0], [0, 0, 0, 0]]
    assert [r.n_tokens for r in out] == [3, 10, 0, 0]
    lengths = df.transform(with_token_ids, vocab={}, max_len=7).select(F.size("token_ids").alias("n")).collect()
    assert {r.n for r in lengths} == {7}
