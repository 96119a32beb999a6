#!/usr/bin/env bash
# What spark-submit needs, built into dist/ (or the folder given as $1):
#   crosslake.zip          the project's packages, for --py-files (the driver and every
#                          executor's Python workers import transforms, train, serving)
#   crosslake_submit.py    the file spark-submit runs: `crosslake_submit.py STAGE [options]`,
#                          the same stages and options as the `crosslake` command
#   conf/                  the configuration (crosslake_submit.py uses it unless
#                          CROSSLAKE_CONF_DIR points elsewhere, e.g. a mounted ConfigMap)
#   jars.txt               the value for --jars: the jars from .jars/, comma-separated
#   crosslake-*.whl        the project as a wheel, to install into an image with its pins
# The Python packages the project depends on (pyproject.toml) must be installed where the
# driver and the executors run (the venv here; the image on a cluster).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-dist}")
bash scripts/setup.sh >/dev/null
rm -rf "$out" && mkdir -p "$out"
.venv/bin/python - "$out" <<'PY'
import sys
import zipfile
from pathlib import Path

packages = ["crosslake", "jobs", "transforms", "expectations", "train", "sources", "serving", "stages", "workloads"]
with zipfile.ZipFile(Path(sys.argv[1]) / "crosslake.zip", "w", zipfile.ZIP_DEFLATED) as zf:
    for package in packages:
        for path in sorted(Path(package).rglob("*.py")):
            zf.write(path, path.as_posix())
PY
cp -r conf "$out/conf"
cat > "$out/crosslake_submit.py" <<'PY'
"""spark-submit entry point: `spark-submit [...] --py-files crosslake.zip crosslake_submit.py STAGE [options]`."""
import os
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
os.environ.setdefault("CROSSLAKE_CONF_DIR", str(here / "conf"))
zipped = here / "crosslake.zip"
if zipped.is_file() and str(zipped) not in sys.path:
    sys.path.insert(0, str(zipped))  # also when run with plain python, for a quick check

import crosslake  # noqa: E402
from crosslake.cli import main  # noqa: E402

print(f"crosslake_submit: code from {Path(crosslake.__file__).parent}", file=sys.stderr)
sys.exit(main())
PY
ls "$PWD"/.jars/*.jar | paste -sd, - > "$out/jars.txt"
.venv/bin/pip wheel -q --no-deps --disable-pip-version-check -w "$out" . 2>/dev/null
echo "built $out: $(cd "$out" && ls | paste -sd' ' -)"
