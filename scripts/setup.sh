#!/usr/bin/env bash
# Idempotent set-up for crosslake; both README commands (`make pipeline`, `make test`) call it.
#   1. a JDK (Spark 4 needs Java 17+) and Maven, from Debian's packages, if missing;
#   2. .venv with the pinned Python packages (pins: pyproject.toml), skipped when unchanged;
#   3. the JVM jars Spark needs (pins: jars/pom.xml) into .jars/, skipped when unchanged, and a
#      class-data archive of the classes a job loads from them, which starts each job's JVM
#      seconds sooner (crosslake/class_archive.py; rebuilt when the jars, the packages or the
#      JDK change; about a minute);
#   4. PostgreSQL and Chromium from Debian's packages (the tests start their own throwaway
#      database server, and drive the review page in headless Chromium);
#   5. with the argument `gpu` (make test passes it): the RAPIDS Accelerator jar for the gpu
#      profile (pin and checksum: jars/gpu.env) into .jars-gpu/, about 1 GB, skipped when unchanged;
#   6. with the argument `k8s` (make test, scripts/k8s_render.sh): kustomize, built from the Go
#      module proxy at the version pinned below, into .tools/bin/;
#   7. with the argument `airflow` (make test): Airflow in its own .venv-airflow (pins:
#      dags/requirements.txt), where the tests load the DAG with Airflow's DagBag.
# A second run with nothing changed takes about a second.
set -euo pipefail
cd "$(dirname "$0")/.."
WANTED=" $* "    # optional parts: gpu, k8s, airflow
KUSTOMIZE_VERSION=v5.7.1

log() { printf '[setup] %s\n' "$*"; }
stamp_of() { sha256sum "$@" | sha256sum | cut -c1-16; }

apt_install() {
  log "installing Debian packages: $*"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

# --- 1. JVM and Maven ---------------------------------------------------------------------------
java_major() { java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1; }
if ! command -v java >/dev/null || [ "$(java_major)" -lt 17 ]; then
  apt_install openjdk-17-jre-headless
fi
command -v mvn >/dev/null || apt_install maven
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_install postgresql
command -v chromium >/dev/null || apt_install chromium

# --- 2. Python environment ----------------------------------------------------------------------
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  log "creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
py_stamp=$(stamp_of pyproject.toml scripts/setup.sh)
if [ "$(cat .venv/.crosslake-stamp 2>/dev/null)" != "$py_stamp" ]; then
  log "installing Python packages (first time: several minutes, torch is large)"
  .venv/bin/pip install -q --disable-pip-version-check --upgrade pip "setuptools>=77" wheel
  .venv/bin/pip install -q --disable-pip-version-check -e ".[dev]"
  echo "$py_stamp" > .venv/.crosslake-stamp
fi

# --- 3. JVM jars ---------------------------------------------------------------------------------
jar_stamp=$(stamp_of jars/pom.xml)
if [ "$(cat .jars/.crosslake-stamp 2>/dev/null)" != "$jar_stamp" ]; then
  log "resolving Spark jars from Maven Central into .jars/"
  rm -rf .jars
  mvn -q -B -f jars/pom.xml dependency:copy-dependencies \
      -DoutputDirectory="$PWD/.jars" -DexcludeTransitive=true
  echo "$jar_stamp" > .jars/.crosslake-stamp
fi
cds_stamp="$jar_stamp $py_stamp $(java -version 2>&1 | head -1)"
if [ "$(cat .jars/.classes-stamp 2>/dev/null)" != "$cds_stamp" ]; then
  log "building the JVM class-data archive .jars/classes.jsa (about a minute, once)"
  rm -f .jars/classes.jsa
  if .venv/bin/python -m crosslake.class_archive > .jars/classes.log 2>&1; then
    echo "$cds_stamp" > .jars/.classes-stamp
  else  # only start-up time is lost without it: say so and go on
    log "warning: no class-data archive (jobs start a few seconds slower); see .jars/classes.log"
  fi
fi
# --- 5. The RAPIDS Accelerator jar (gpu profile), on request -------------------------------------
wanted() { [[ "$WANTED" == *" $1 "* ]]; }
if wanted gpu; then
  # shellcheck source=../jars/gpu.env
  . jars/gpu.env
  gpu_jar=.jars-gpu/$RAPIDS_ARTIFACT-$RAPIDS_VERSION.jar
  if [ "$(cat .jars-gpu/.crosslake-stamp 2>/dev/null)" != "$RAPIDS_SHA1" ]; then
    log "resolving the RAPIDS Accelerator $RAPIDS_VERSION from Maven Central into .jars-gpu/ (about 1 GB, first time only)"
    rm -rf .jars-gpu && mkdir -p .jars-gpu/.part
    # Maven fetches the jar alone (the artifact publishes no usable pom; nothing transitive is needed).
    mvn -q -B dependency:copy -Dartifact="$RAPIDS_COORDINATES" -Dtransitive=false \
        -DoutputDirectory="$PWD/.jars-gpu/.part"
    mv .jars-gpu/.part/*.jar "$gpu_jar.part" && rmdir .jars-gpu/.part
    got=$(sha1sum "$gpu_jar.part" | cut -d' ' -f1)
    if [ "$got" != "$RAPIDS_SHA1" ]; then
      rm -f "$gpu_jar.part"
      echo "[setup] $(basename "$gpu_jar"): SHA-1 $got is not the pinned $RAPIDS_SHA1 (jars/gpu.env)" >&2
      exit 1
    fi
    mv "$gpu_jar.part" "$gpu_jar"
    echo "$RAPIDS_SHA1" > .jars-gpu/.crosslake-stamp
  fi
fi
# --- 6. kustomize (renders k8s/), on request --------------------------------------------------------
if wanted k8s && [ "$(.tools/bin/kustomize version 2>/dev/null)" != "$KUSTOMIZE_VERSION" ]; then
  if ! command -v go >/dev/null; then
    # Debian's golang-go (1.19) is too old to build kustomize 5.7; a Go toolchain from go.dev is needed.
    echo "[setup] kustomize is built from source and needs Go 1.22 or newer on PATH (https://go.dev/dl/)" >&2
    exit 1
  fi
  log "building kustomize $KUSTOMIZE_VERSION from the Go module proxy into .tools/bin/"
  GOBIN="$PWD/.tools/bin" GOFLAGS=-mod=mod go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
fi
# --- 7. Airflow, in its own environment, on request ---------------------------------------------
if wanted airflow; then
  af_stamp=$(stamp_of dags/requirements.txt)
  if [ "$(cat .venv-airflow/.crosslake-stamp 2>/dev/null)" != "$af_stamp" ]; then
    log "installing Airflow into .venv-airflow (pins: dags/requirements.txt)"
    [ -x .venv-airflow/bin/python ] || "$PYTHON" -m venv .venv-airflow
    .venv-airflow/bin/pip install -q --disable-pip-version-check -r dags/requirements.txt
    echo "$af_stamp" > .venv-airflow/.crosslake-stamp
  fi
fi
log "ready: .venv ($(.venv/bin/python --version)), $(ls .jars/*.jar | wc -l) jars in .jars/"
