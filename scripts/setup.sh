#!/usr/bin/env bash
# Idempotent set-up for crosslake; both README commands (`make pipeline`, `make test`) call it.
#   1. a JDK (Spark 4 needs Java 17+) and Maven, PostgreSQL and Chromium from Debian's packages,
#      where missing (the tests start their own throwaway database server, and drive the review
#      page in headless Chromium);
#   2. .venv with the pinned Python packages (pins: pyproject.toml), skipped when unchanged;
#   3. the JVM jars Spark needs (pins: jars/pom.xml) into .jars/, skipped when unchanged, and a
#      class-data archive of the classes a job loads from them, which starts each job's JVM
#      seconds sooner (crosslake/class_archive.py; rebuilt when the jars, the packages or the
#      JDK change; about a minute);
#   4. with the argument `gpu` (make test passes it): the RAPIDS Accelerator jar for the gpu
#      profile (pin and checksum: jars/gpu.env) into .jars-gpu/, about 1 GB, skipped when unchanged;
#   5. with the argument `k8s` (make test, scripts/k8s_render.sh): kustomize, built from the Go
#      module proxy at the version pinned below, into .tools/bin/;
#   6. with the argument `airflow` (make test): Airflow in its own .venv-airflow (pins:
#      dags/requirements.txt), where the tests load the DAG with Airflow's DagBag.
# The parts that do not need each other run side by side, each logging to build/setup/PART.log
# (a part that fails stops the set-up with the end of its log). On a new 2-core machine the
# whole of `make test`'s set-up takes about 5 minutes (one part after another it took 10);
# a second run with nothing changed takes about a second.
set -euo pipefail
cd "$(dirname "$0")/.."
WANTED=" $* "    # optional parts: gpu, k8s, airflow
KUSTOMIZE_VERSION=v5.7.1
# uv installs both Python environments from the same index pip uses: it downloads and unpacks
# in parallel (.venv in 1.5 minutes here, pip takes 4.5). Where uv cannot run, pip does the work.
UV_VERSION=0.13.9
LOGS=build/setup

log() { printf '[setup] %s\n' "$*"; }
stamp_of() { sha256sum "$@" | sha256sum | cut -c1-16; }
wanted() { [[ "$WANTED" == *" $1 "* ]]; }
mkdir -p "$LOGS"

# --- parts that run in the background -----------------------------------------------------------
declare -A PART_PID=() PART_START=()
start_part() {  # start_part NAME COMMAND...: COMMAND in the background, its output in build/setup/NAME.log
  local name=$1; shift
  ( "$@" ) > "$LOGS/$name.log" 2>&1 &
  PART_PID[$name]=$!
  PART_START[$name]=$SECONDS
}
finish_part() {  # finish_part NAME: waits for it; a failed part stops the set-up, showing its log
  local name=$1 pid=${PART_PID[$1]:-}
  [ -n "$pid" ] || return 0
  unset "PART_PID[$name]"
  if wait "$pid"; then
    log "$name: ready (started $((SECONDS - PART_START[$name])) s ago)"
  else
    echo "[setup] $name failed; the end of $LOGS/$name.log:" >&2
    tail -n 30 "$LOGS/$name.log" >&2
    for other in "${PART_PID[@]}"; do kill "$other" 2>/dev/null || true; done
    exit 1
  fi
}
trap 'for p in "${PART_PID[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

# --- 1. Debian's packages -----------------------------------------------------------------------
apt_install() {
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}
java_major() { java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1; }
jvm_missing=()
if ! command -v java >/dev/null || [ "$(java_major)" -lt 17 ]; then jvm_missing+=(openjdk-17-jre-headless); fi
command -v mvn >/dev/null || jvm_missing+=(maven)
if [ ${#jvm_missing[@]} -gt 0 ]; then   # Maven and the class archive need them: wait for these
  log "installing Debian packages: ${jvm_missing[*]}"
  apt_install "${jvm_missing[@]}"
fi
others_missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || others_missing+=(postgresql)
command -v chromium >/dev/null || others_missing+=(chromium)
if [ ${#others_missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${others_missing[*]} (in the background)"
  start_part debian apt_install "${others_missing[@]}"
fi

# --- 3. JVM jars (in the background) ------------------------------------------------------------
jar_stamp=$(stamp_of jars/pom.xml)
spark_jars() {
  rm -rf .jars
  mvn -q -B -f jars/pom.xml dependency:copy-dependencies \
      -DoutputDirectory="$PWD/.jars" -DexcludeTransitive=true
  echo "$jar_stamp" > .jars/.crosslake-stamp
}
if [ "$(cat .jars/.crosslake-stamp 2>/dev/null)" != "$jar_stamp" ]; then
  log "resolving Spark jars from Maven Central into .jars/ (in the background)"
  start_part jars spark_jars
fi

# --- 4. The RAPIDS Accelerator jar (gpu profile), on request, in the background -----------------
if wanted gpu; then
  # shellcheck source=../jars/gpu.env
  . jars/gpu.env
  gpu_jar=.jars-gpu/$RAPIDS_ARTIFACT-$RAPIDS_VERSION.jar
  rapids_jar() {
    rm -rf .jars-gpu && mkdir -p .jars-gpu/.part
    # Maven fetches the jar alone (the artifact publishes no usable pom; nothing transitive is
    # needed), through a local repository of its own: it runs beside the Spark jars' Maven, and the
    # 1 GB jar is not kept twice.
    mvn -q -B dependency:copy -Dartifact="$RAPIDS_COORDINATES" -Dtransitive=false \
        -Dmaven.repo.local="$PWD/.jars-gpu/.m2" -DoutputDirectory="$PWD/.jars-gpu/.part"
    mv .jars-gpu/.part/*.jar "$gpu_jar.part" && rm -rf .jars-gpu/.part .jars-gpu/.m2
    got=$(sha1sum "$gpu_jar.part" | cut -d' ' -f1)
    if [ "$got" != "$RAPIDS_SHA1" ]; then
      rm -f "$gpu_jar.part"
      echo "$(basename "$gpu_jar"): SHA-1 $got is not the pinned $RAPIDS_SHA1 (jars/gpu.env)"
      return 1
    fi
    mv "$gpu_jar.part" "$gpu_jar"
    echo "$RAPIDS_SHA1" > .jars-gpu/.crosslake-stamp
  }
  if [ "$(cat .jars-gpu/.crosslake-stamp 2>/dev/null)" != "$RAPIDS_SHA1" ]; then
    log "resolving the RAPIDS Accelerator $RAPIDS_VERSION from Maven Central into .jars-gpu/ (about 1 GB, first time only, in the background)"
    start_part gpu-jar rapids_jar
  fi
fi

# --- 5. kustomize (renders k8s/), on request, in the background ---------------------------------
if wanted k8s && [ "$(.tools/bin/kustomize version 2>/dev/null)" != "$KUSTOMIZE_VERSION" ]; then
  if ! command -v go >/dev/null; then
    # Debian's golang-go (1.19) is too old to build kustomize 5.7; a Go toolchain from go.dev is needed.
    echo "[setup] kustomize is built from source and needs Go 1.22 or newer on PATH (https://go.dev/dl/)" >&2
    exit 1
  fi
  log "building kustomize $KUSTOMIZE_VERSION from the Go module proxy into .tools/bin/ (in the background)"
  start_part kustomize env GOBIN="$PWD/.tools/bin" GOFLAGS=-mod=mod \
      go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
fi

# --- 2. Python environments ---------------------------------------------------------------------
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  log "creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
py_install() {  # py_install VENV REQUIREMENTS...: uv where it runs, pip otherwise
  local venv=$1; shift
  # --compile-bytecode: uv leaves the .pyc files out unless asked (pip writes them), and where
  # PYTHONDONTWRITEBYTECODE is set every process would compile torch, pyspark and GX from source.
  if [ -x .venv/bin/uv ] && .venv/bin/uv pip install -q --compile-bytecode --python "$venv/bin/python" "$@"; then
    return 0
  fi
  echo "[setup] uv did not install into $venv; pip does it instead"
  "$venv/bin/pip" install -q --disable-pip-version-check "$@"
}
if [ "$(.venv/bin/uv --version 2>/dev/null)" != "uv $UV_VERSION" ]; then
  .venv/bin/pip install -q --disable-pip-version-check "uv==$UV_VERSION" \
    || log "no uv (pip installs the packages instead, a few minutes slower)"
fi
if wanted airflow; then
  af_stamp=$(stamp_of dags/requirements.txt)
  airflow_env() {
    [ -x .venv-airflow/bin/python ] || "$PYTHON" -m venv .venv-airflow
    py_install .venv-airflow -r dags/requirements.txt
    echo "$af_stamp" > .venv-airflow/.crosslake-stamp
  }
  if [ "$(cat .venv-airflow/.crosslake-stamp 2>/dev/null)" != "$af_stamp" ]; then
    log "installing Airflow into .venv-airflow (pins: dags/requirements.txt; in the background)"
    start_part airflow airflow_env
  fi
fi
py_stamp=$(stamp_of pyproject.toml scripts/setup.sh)
if [ "$(cat .venv/.crosslake-stamp 2>/dev/null)" != "$py_stamp" ]; then
  log "installing Python packages into .venv (first time: a few minutes, torch is large)"
  py_install .venv "setuptools>=77" wheel -e ".[dev]"
  echo "$py_stamp" > .venv/.crosslake-stamp
fi

# --- 3b. the class-data archive (needs .venv and the jars) --------------------------------------
finish_part jars
cds_stamp="$jar_stamp $py_stamp $(java -version 2>&1 | head -1)"
if [ "$(cat .jars/.classes-stamp 2>/dev/null)" != "$cds_stamp" ]; then
  log "building the JVM class-data archive .jars/classes.jsa (about a minute, once)"
  rm -f .jars/classes.jsa
  if .venv/bin/python -m crosslake.class_archive > "$LOGS/class-archive.log" 2>&1; then
    echo "$cds_stamp" > .jars/.classes-stamp
  else  # only start-up time is lost without it: say so and go on
    log "warning: no class-data archive (jobs start a few seconds slower); see $LOGS/class-archive.log"
  fi
fi

for part in debian gpu-jar kustomize airflow; do finish_part "$part"; done
log "ready: .venv ($(.venv/bin/python --version)), $(ls .jars/*.jar | wc -l) jars in .jars/ ($SECONDS s)"
