"""`crosslake --help` and `crosslake STAGE --help` are fast: they import no heavy library
(no Spark, torch, Great Expectations, petastorm, pandas or numpy), and `crosslake --help`
imports no job module at all (the stage list and its help come from crosslake/cli.py).

One fresh interpreter does every case in turn (each a new parser, --help, SystemExit), and
records what each case left in sys.modules: a heavy import would stay there for the cases
after it, so the cases run from the lightest (the top-level help) on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from crosslake.cli import STAGES

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pyspark", "torch", "great_expectations", "petastorm", "pandas", "numpy")

PROBE = """
import contextlib, io, json, sys
from crosslake.cli import build_parser
HEAVY = %r
cases = {}
for stage in [None, *%r]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            build_parser().parse_args(["--help"] if stage is None else [stage, "--help"])
            code = "returned"
        except SystemExit as exc:
            code = exc.code
    cases[stage or ""] = {
        "code": code, "help": out.getvalue(),
        "heavy": sorted({m.split(".")[0] for m in sys.modules if m.split(".")[0] in HEAVY}),
        "jobs": sorted(m for m in sys.modules if m == "jobs" or m.startswith("jobs.")),
    }
print(json.dumps(cases))
"""


def probe() -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", PROBE % (HEAVY, list(STAGES))], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_help_imports_no_job_and_no_heavy_library_for_the_command_and_every_stage():
    cases = probe()
    assert list(cases) == ["", *STAGES]

    top = cases[""]
    assert top["code"] == 0
    assert top["jobs"] == [], f"`crosslake --help` imported {top['jobs']}"
    assert top["heavy"] == [], f"`crosslake --help` imported {top['heavy']}"
    assert top["help"].startswith("usage: crosslake [-h] STAGE ...")
    for stage, entry in STAGES.items():  # every stage listed with its one-line help (start of it)
        assert f"    {stage}" in top["help"] and entry.help.split()[0] in top["help"], stage
    assert "exit codes: 0 ok, 1 failed, 2 bad usage or config" in top["help"]  # the epilog is kept

    for stage, entry in STAGES.items():
        case = cases[stage]
        assert case["code"] == 0, stage
        assert case["heavy"] == [], f"`crosslake {stage} --help` imported {case['heavy']}"
        assert case["help"].startswith(f"usage: crosslake {stage} [-h]"), stage
        assert " ".join(entry.help.split()[:4]) in " ".join(case["help"].split()), stage  # its description
        assert "--profile PROFILE" in case["help"] and "common options" in case["help"], stage
        assert f"jobs.{stage}" in case["jobs"], stage  # the stage's own arguments come from its job


def test_every_job_reads_its_help_from_the_stage_list():
    import importlib

    for stage, entry in STAGES.items():
        module = importlib.import_module(entry.module)
        assert module.NAME == stage and module.HELP == entry.help, stage


def test_importing_crosslake_makes_torch_threads_wait_passively_unless_told_otherwise():
    """libgomp reads OMP_WAIT_POLICY once, when torch loads; every entry point (the CLI, the
    spark-submit entry file, a notebook) imports crosslake before torch, and a policy the
    environment sets is kept (bench/threads.py measures why)."""
    probe = "import os, crosslake; print(os.environ.get('OMP_WAIT_POLICY'))"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    for given, expected in ((None, "PASSIVE"), ("ACTIVE", "ACTIVE")):
        run_env = env if given is None else {**env, "OMP_WAIT_POLICY": given}
        done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=run_env, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0 and done.stdout.strip() == expected, (given, done.stdout, done.stderr)
    entry = (ROOT / "scripts" / "build_dist.sh").read_text().split("crosslake_submit.py\" <<'PY'")[1]
    assert entry.index("import crosslake") < entry.index("main()")  # the submitted driver too
