"""The tabular workload's steps: datasets declared in conf/ (datasets.<name>).

The stage jobs (`crosslake ingest|clean|features|pipeline --dataset NAME`) call these;
they are the same stages as the review workload's, with the cleaning rules, suite and
features read from the dataset's declaration instead of written in Python.
"""
