"""The tabular workload's training step (jobs/tabular/train.py), until it moves beside the
other model stages. Ingest, clean and features of a declared dataset are the shared stages
(stages/) over its workload (workloads/tabular.py).
"""
