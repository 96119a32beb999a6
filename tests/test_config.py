from pathlib import Path

import pytest

from crosslake.config import load_config
from crosslake.errors import ConfigError


def test_profile_overlays_base_and_keeps_unset_keys():
    base_like = load_config("local")
    test = load_config("test")
    assert test.profile == "test"
    assert test.spark.master == "local[2]" and test.spark.conf["spark.sql.shuffle.partitions"] == 2
    # keys the overlay does not mention come from base.yaml
    assert test.spark.conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert test.tables == base_like.tables
    assert test.train.kernel_sizes == [3, 4, 5]


def test_profile_from_environment(monkeypatch):
    monkeypatch.setenv("CROSSLAKE_PROFILE", "test")
    assert load_config().profile == "test"
    monkeypatch.delenv("CROSSLAKE_PROFILE")
    assert load_config().profile == "local"


def test_unknown_profile_names_the_choices():
    with pytest.raises(ConfigError, match=r"unknown profile 'prod'.*local.*test"):
        load_config("prod")


def test_set_overrides_are_typed_and_checked():
    cfg = load_config("test", overrides=["train.epochs=9", "score.splits=[test]"])
    assert cfg.train.epochs == 9 and cfg.score.splits == ["test"]
    with pytest.raises(ConfigError, match="train.epochs' must be int"):
        load_config("test", overrides=["train.epochs=many"])
    with pytest.raises(ConfigError, match="unknown key.*epoch.*'train'"):
        load_config("test", overrides=["train.epoch=3"])
    with pytest.raises(ConfigError, match="section.key=value"):
        load_config("test", overrides=["oops"])


def test_lake_root_resolution(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_config("test").lake.root == str(tmp_path / "lake")
    assert load_config("test", lake_root="elsewhere").table_path("silver") == str(tmp_path / "elsewhere/silver/reviews")
    monkeypatch.setenv("CROSSLAKE_LAKE_ROOT", "s3a://bucket/lake")
    assert load_config("test").table_path("gold") == "s3a://bucket/lake/gold/reviews"
    with pytest.raises(ConfigError, match="unknown table 'platinum'"):
        load_config("test").table_path("platinum")


def test_cluster_profiles_split_the_roles_and_combine_with_size_profiles():
    train, score = load_config("onprem-gpu,test"), load_config("cloud-cpu,test")
    assert train.cluster.roles == ["training"] and score.cluster.roles == ["scoring"]
    assert train.generate == load_config("test").generate  # the later profile's sizes apply
    assert train.lake.root == score.lake.root and train.lake.root.startswith("s3a://")
    assert train.scratch != train.lake.root and "://" not in train.scratch  # own local working folder
    assert train.table_path("runs").endswith("_ledger/onprem-gpu/runs")  # each side its own ledger
    assert score.table_path("runs").endswith("_ledger/cloud-cpu/runs")
    for name in ("bronze", "silver", "gold", "vocabulary"):
        train.require_writer(name)
        with pytest.raises(ConfigError, match=f"table '{name}' is written only by the training cluster"):
            score.require_writer(name)
    for name in ("predictions", "live_predictions", "feedback", "incoming", "stream_metrics"):
        score.require_writer(name)
        with pytest.raises(ConfigError, match="only by the scoring cluster"):
            train.require_writer(name)
    local = load_config("local")
    for name in local.tables:  # one machine plays both roles
        local.require_writer(name)


def test_owner_declarations_are_checked():
    with pytest.raises(ConfigError, match="tables.silver.owner must be one of training, scoring, each"):
        load_config("test", overrides=["tables.silver.owner=cloud"])
    with pytest.raises(ConfigError, match=r"needs \{cluster\} in its path"):
        load_config("test", overrides=["tables.runs.path=_ledger/runs"])
    with pytest.raises(ConfigError, match="cluster.roles: unknown role"):
        load_config("test", overrides=["cluster.roles=[training, serving]"])


def test_a_cluster_takes_the_jars_from_its_nodes_when_the_profile_names_their_folder():
    """spark.node_jars: the executors' classpath names the nodes' folder, nothing is sent with the
    application (tests/test_two_clusters.py runs it on a standalone cluster)."""
    from crosslake.session import jar_settings

    jars = ["/a/delta.jar", "/a/aws.jar"]
    local = {"spark.driver.extraClassPath": "/a/delta.jar:/a/aws.jar"}
    assert jar_settings("local[2]", jars, None) == local == jar_settings("local[*]", jars, "/opt/jars")
    assert jar_settings("spark://m:7077", jars, None) == {"spark.jars": "/a/delta.jar,/a/aws.jar"}
    assert jar_settings("spark://m:7077", jars, "/opt/jars/") == {**local, "spark.executor.extraClassPath": "/opt/jars/*"}
    assert load_config("local").spark.node_jars is None
    assert load_config("local", overrides=["spark.node_jars=/opt/crosslake/jars"]).spark.node_jars == "/opt/crosslake/jars"


def test_a_cluster_refuses_local_folders_its_nodes_do_not_share():
    """Under a cluster master the executors run elsewhere: a local path they read or write must
    be under cluster.shared_paths (a mount on every node) or on object storage; local mode
    takes anything (tests/test_two_clusters.py: a driver-local source refused on a real cluster)."""
    from crosslake.errors import ConfigError
    from crosslake.storage import check_reachable

    shared = load_config("local", overrides=["cluster.shared_paths=[/mnt/shared, rel]"]).cluster.shared_paths
    assert shared == ["/mnt/shared", str(Path.cwd() / "rel")] and load_config("local").cluster.shared_paths == []
    ok = dict(what="the lake root", setting="lake.root", shared=shared)
    for master, path in (("local[2]", "/home/me/lake"), ("spark://m:7077", "s3a://bucket/lake"),
                         ("spark://m:7077", "/mnt/shared/lake"), ("k8s://https://api:6443", "file:/mnt/shared"),
                         ("yarn", "rel/lake")):
        check_reachable(master, path, **ok)
    for path in ("/home/me/lake", "/mnt/shared2/lake", "/mnt/shared/../elsewhere"):
        with pytest.raises(ConfigError) as refused:
            check_reachable("spark://m:7077", path, **ok)
        message = str(refused.value)
        assert "\n" not in message and f"the lake root {path} is a folder on this machine" in message
        assert "spark://m:7077" in message and "set lake.root to object storage" in message
        assert "cluster.shared_paths=[<the mount point>]" in message  # no guessed folder to declare
