"""The scoring side: model-backed Spark UDFs (and, later, streaming and the review page)."""
