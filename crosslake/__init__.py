"""crosslake: Spark + Delta data pipelines that train on one cluster and score on another."""

__version__ = "0.1.0"
