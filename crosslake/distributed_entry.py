"""Where data-parallel worker processes start (train/distributed.py launches them).

Spark's TorchDistributor writes the code each process runs to a file named `train.py`
and runs it from its folder; on sys.path that file shadows this project's `train`
package. This module lives outside that package: importing it (the first thing a worker
does when it unpickles `worker`) takes such folders off sys.path before anything from
`train` is imported.
"""

from __future__ import annotations

import os
import sys

sys.path[:] = [p for p in sys.path
               if not (os.path.isfile(os.path.join(p or ".", "train.py"))
                       and not os.path.isdir(os.path.join(p or ".", "train")))]


def worker(*args, **kwargs):
    from train.distributed import worker as run

    return run(*args, **kwargs)
