#!/usr/bin/env bash
# Idempotent set-up for crosslake; both README commands (`make pipeline`, `make test`) call it.
#   1. a JDK (Spark 4 needs Java 17+) and Maven, from Debian's packages, if missing;
#   2. .venv with the pinned Python packages (pins: pyproject.toml), skipped when unchanged;
#   3. the JVM jars Spark needs (pins: jars/pom.xml) into .jars/, skipped when unchanged;
#   4. PostgreSQL and Chromium from Debian's packages (the tests start their own throwaway
#      database server, and drive the review page in headless Chromium).
# A second run with nothing changed takes about a second.
set -euo pipefail
cd "$(dirname "$0")/.."

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
log "ready: .venv ($(.venv/bin/python --version)), $(ls .jars/*.jar | wc -l) jars in .jars/"
