"""What PyTorch's waiting threads cost when a CPU training shares its cores, side by side in
one run: libgomp's default wait (its threads spin before they sleep) against
OMP_WAIT_POLICY=PASSIVE (they sleep at once), which `import crosslake` sets unless the
environment says otherwise (crosslake/__init__.py).

    .venv/bin/python bench/threads.py [--steps 150] [--repeat 3]

Three situations, each in new processes (libgomp reads the policy when torch loads):
  alone   one training process, the machine otherwise idle;
  pair    two training processes at once, each with as many threads as cores (two jobs on
          one node, or two test workers);
  beside  one training beside one busy process (a Spark task, the petastorm reader).
Each process trains the CNN of the `test` profile for --steps batches of random token ids;
the figure is the wall time of a process, the median over --repeat, interleaved.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import save_result

ROOT = Path(__file__).resolve().parents[1]
POLICIES = {"default": None, "passive": "PASSIVE"}

TRAIN = """
import sys, time
import torch  # first: libgomp starts with the environment as given
sys.path.insert(0, {root!r})
from crosslake.config import load_config
from train.model import ModelSpec, TextCNN
cfg = load_config("test")
spec = ModelSpec.from_config(cfg.train, vocab_size=cfg.features.vocab_size + 2, max_len=cfg.features.max_len)
torch.manual_seed(0)
model = TextCNN(spec)
opt = torch.optim.Adam(model.parameters())
x = torch.randint(0, spec.vocab_size, (cfg.train.batch_size, spec.max_len))
y = torch.randint(0, 2, (cfg.train.batch_size,)).float()
started = time.perf_counter()
for _ in range({steps}):
    opt.zero_grad()
    torch.nn.functional.binary_cross_entropy_with_logits(model(x).squeeze(-1), y).backward()
    opt.step()
print(time.perf_counter() - started)
"""
BUSY = "while True: pass"


def env_for(policy: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    return env if policy is None else {**env, "OMP_WAIT_POLICY": policy}


def trainings(n: int, policy: str | None, steps: int, beside_busy: bool = False) -> float:
    """Start n trainings at once (and a busy process, if asked); the slowest one's seconds."""
    busy = subprocess.Popen([sys.executable, "-c", BUSY]) if beside_busy else None
    try:
        procs = [subprocess.Popen([sys.executable, "-c", TRAIN.format(root=str(ROOT), steps=steps)],
                                  stdout=subprocess.PIPE, text=True, env=env_for(policy)) for _ in range(n)]
        seconds = []
        for proc in procs:
            out, _ = proc.communicate(timeout=1800)
            if proc.returncode != 0:
                raise SystemExit(f"a training process failed (exit {proc.returncode})")
            seconds.append(float(out.strip().splitlines()[-1]))
        return max(seconds)
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    situations = {"alone": (1, False), "pair": (2, False), "beside": (1, True)}
    times: dict[str, list[float]] = {f"{s}_{p}": [] for s in situations for p in POLICIES}
    for i in range(args.repeat):
        for situation, (n, busy) in situations.items():
            for name, policy in POLICIES.items():
                t = trainings(n, policy, args.steps, busy)
                times[f"{situation}_{name}"].append(t)
                print(f"[{i + 1}/{args.repeat}] {situation:6s} {name:8s} {t:6.1f} s", flush=True)
    median = {k: statistics.median(v) for k, v in times.items()}
    figures = {"median_s": median,
               "slowdown_default": {s: median[f"{s}_default"] / median["alone_default"] for s in situations},
               "slowdown_passive": {s: median[f"{s}_passive"] / median["alone_passive"] for s in situations},
               "passive_speedup": {s: median[f"{s}_default"] / median[f"{s}_passive"] for s in situations}}
    for s in situations:
        print(f"{s:6s}: default {median[f'{s}_default']:6.1f} s, passive {median[f'{s}_passive']:6.1f} s "
              f"({figures['passive_speedup'][s]:.1f}x)")
    print(f"wrote {save_result('threads', figures, steps=args.steps, repeat=args.repeat, cores=os.cpu_count(), started=time.strftime('%H:%M'))}")


if __name__ == "__main__":
    main()
