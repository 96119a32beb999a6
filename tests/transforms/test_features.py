from pyspark.sql import functions as F

import pytest

from transforms.features import OOV_ID, PAD_ID, vocabulary, with_token_ids, with_tokens
from transforms.tokens import NO_RULES, TokenizerRules, tokenize


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


# Real text as people write it: links, handles, tags, numbers, stretched words, emoji,
# accents, HTML left-overs, nothing but symbols.
MESSY = [
    "Sooooo GOOD!!! see https://t.co/AbC?x=1&y=2, or www.Example.com/path.",
    "@Bob_99 you HAVE to watch #BestFilmEver #2 tonight :) 10/10",
    "It cost $1,000,000.50 and ran 2.5 hours... not worth it.",
    "caf\u00e9 na\u00efve \U0001F600\U0001F44D brilliant!!!!! aaaargh",
    "email me at fan@movies.org or @ @@ ## # http:// www.",
    "<br /><br />Loved it<br />", "", "   ", "!!!???",
]
ALL = TokenizerRules(urls=True, mentions=True, hashtags=True, numbers=True, repeats=3)


@pytest.mark.parametrize("rules", [NO_RULES, ALL, TokenizerRules(urls=True, repeats=2)], ids=["none", "all", "some"])
def test_spark_and_python_tokenise_real_text_alike(spark, rules):
    df = spark.createDataFrame([(i, t) for i, t in enumerate(MESSY)], "i int, text string")
    in_spark = [r.tokens for r in df.transform(with_tokens, rules=rules).orderBy("i").collect()]
    assert in_spark == [tokenize(t, rules) for t in MESSY]


def test_tokenizer_rules_do_what_they_say():
    assert tokenize(MESSY[0], ALL)[:6] == ["sooo", "good", "see", "xxurl", "or", "xxurl"]
    assert tokenize(MESSY[1], ALL) == ["xxuser", "you", "have", "to", "watch", "bestfilmever", "xxnum", "tonight",
                                       "xxnum", "xxnum"]
    assert tokenize(MESSY[2], ALL) == ["it", "cost", "xxnum", "and", "ran", "xxnum", "hours", "not", "worth", "it"]
    assert tokenize("brilliant!!!!! aaaargh", TokenizerRules(repeats=2)) == ["brilliant", "aargh"]
    # off, the words are as written (the tokenizer of models stored before the rules)
    assert tokenize(MESSY[1]) == ["bob", "99", "you", "have", "to", "watch", "bestfilmever", "2", "tonight", "10", "10"]
