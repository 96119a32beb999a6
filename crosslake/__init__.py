"""crosslake: Spark + Delta data pipelines that train on one cluster and score on another."""

import os

# PyTorch's CPU threads (GNU OpenMP) spin while they wait for work. A training process shares
# its cores with Spark (local mode, the petastorm reader, a second job on the node), and a
# spinning thread takes the core from whoever needs it: on 2 cores two CPU trainings at once
# took 81.5 s where one took 3.9 s (7.1 s waiting passively), and one beside a busy process
# 12.6 s (7.3 s): bench/threads.py. libgomp reads this when torch is first
# imported, and every entry point (the CLI, the spark-submit entry file, a notebook's
# `import jobs...`) imports crosslake first. An explicit OMP_WAIT_POLICY is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
