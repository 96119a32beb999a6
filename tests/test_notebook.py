"""notebooks/walkthrough.ipynb runs top to bottom, headless (papermill, this venv's kernel), on a
tiny corpus in a temporary lake, and does what it says: a new silver version with the arrived
reviews, readable history, a data-quality report, a trained and promoted model, predictions."""

from __future__ import annotations

from pathlib import Path

import nbformat
import papermill
import pytest

from crosslake.config import load_config
from tests import s3
from tests.secret_search import leaks
from train import registry

pytestmark = pytest.mark.slow  # starts the crosslake command (or spark-submit, Airflow, ...) in new processes


ROOT = Path(__file__).resolve().parents[1]
SECRETS = {"AWS_ACCESS_KEY_ID": "AKIANOTEBOOKINJECTED", "AWS_SECRET_ACCESS_KEY": "notebook-injected-secret-5d2e",
           "LENDING_DB_PASSWORD": "notebook-injected-db-password-91"}
SMALL = ["generate.train=400", "generate.test=160", "generate.unsup=20", "train.epochs=2",
         "features.max_len=64", "baseline.max_iter=10"]


def _text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", ""))
        parts.append(out.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def test_the_walkthrough_runs_headless_and_does_what_it_says(tmp_path):
    executed = tmp_path / "walkthrough.ipynb"
    parameters = dict(profile="test", lake_root=str(tmp_path / "lake"), source_path=str(tmp_path / "aclImdb"),
                      overrides=SMALL)
    # Any cell error raises here (papermill.PapermillExecutionError), naming the cell. The kernel
    # inherits known secrets, which must not surface in any output.
    with s3.environment(SECRETS):
        papermill.execute_notebook(str(ROOT / "notebooks/walkthrough.ipynb"), str(executed), parameters=parameters,
                                   kernel_name="python3", cwd=str(tmp_path), progress_bar=False)
    assert leaks(list(SECRETS.values()), texts={"notebook": executed.read_text()}, folders=[tmp_path / "lake"]) == []

    nb = nbformat.read(executed, as_version=4)
    outputs = "\n".join(_text(c) for c in nb.cells if c.cell_type == "code")
    assert "(+3)" in outputs, "the three arrived reviews are in the new silver version"
    assert "data-quality report:" in outputs and "test accuracy: CNN" in outputs
    assert any("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    # The model it trained and promoted is in the lake it was given, traced to source files.
    cfg = load_config("test", lake_root=str(tmp_path / "lake"))
    assert registry.resolve(cfg.model_store, cfg.models.name, "production") >= 1
    assert f"source:{tmp_path / 'aclImdb'} (files as landed)" in outputs   # the lineage trace's last step
