"""The JVM class-data archive (crosslake/class_archive.py): the setup step builds it, a local
driver JVM starts with it, configured JVM options stay, and it can be turned off. (What it
saves is measured in bench/startup.py, not here.)"""

from __future__ import annotations

from pathlib import Path

from crosslake.session import CLASS_ARCHIVE_ENV, JARS_DIR_ENV, archive_options, jars_dir


def test_a_local_driver_jvm_gets_the_archive_and_keeps_configured_options(tmp_path, monkeypatch):
    monkeypatch.setenv(JARS_DIR_ENV, str(tmp_path))
    monkeypatch.delenv(CLASS_ARCHIVE_ENV, raising=False)
    assert archive_options(None) is None  # no archive built: nothing added
    assert archive_options("-Xss4m") == "-Xss4m"
    (tmp_path / "classes.jsa").write_bytes(b"x")
    flag = f"-XX:SharedArchiveFile={tmp_path / 'classes.jsa'}"
    assert archive_options(None) == flag
    assert archive_options("-Xss4m -Dx=1") == f"-Xss4m -Dx=1 {flag}"
    assert archive_options("-XX:SharedArchiveFile=/elsewhere.jsa") == "-XX:SharedArchiveFile=/elsewhere.jsa"
    monkeypatch.setenv(CLASS_ARCHIVE_ENV, "off")
    assert archive_options("-Xss4m") == "-Xss4m"


def test_the_setup_step_built_the_archive_and_this_runs_jvm_maps_it(spark):
    archive = jars_dir() / "classes.jsa"
    assert archive.is_file() and archive.stat().st_size > 10 * 2**20, "scripts/setup.sh builds .jars/classes.jsa"
    jvm = spark.sparkContext._jvm
    arguments = list(jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())
    assert f"-XX:SharedArchiveFile={archive}" in arguments
    diagnostic = jvm.java.lang.management.ManagementFactory.getPlatformMXBean(
        jvm.java.lang.Class.forName("com.sun.management.HotSpotDiagnosticMXBean"))
    assert Path(diagnostic.getVMOption("SharedArchiveFile").getValue()) == archive
