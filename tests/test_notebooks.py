"""The notebooks run end to end (small sizes) in a real Jupyter kernel."""

from __future__ import annotations


import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")


@pytest.mark.parametrize("name", ["retrain.ipynb", "explore_features.ipynb"])
def test_notebook_executes_without_error(repo_root, tmp_path, monkeypatch, name):
    monkeypatch.setenv("FRAUDSCORE_NB_N", "1500")
    monkeypatch.setenv("FRAUDSCORE_NB_OUTPUT", str(tmp_path / "model"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    book = nbformat.read(repo_root / "notebooks" / name, as_version=4)
    assert all(not cell.get("outputs") for cell in book.cells if cell.cell_type == "code"), "outputs must be stripped"
    client = nbclient.NotebookClient(book, timeout=900, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for c in book.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    if name == "retrain.ipynb":
        assert (tmp_path / "model" / "manifest.json").exists()
        assert (tmp_path / "model-report" / "REPORT.md").exists()
