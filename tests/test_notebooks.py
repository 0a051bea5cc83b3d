"""The notebooks run end to end (small sizes) in a real Jupyter kernel."""

from __future__ import annotations


import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")


@pytest.mark.parametrize("name, own_data", [("retrain.ipynb", False), ("retrain.ipynb", True),
                                            ("explore_features.ipynb", False)])
def test_notebook_executes_without_error(repo_root, tmp_path, monkeypatch, name, own_data):
    monkeypatch.setenv("FRAUDSCORE_NB_N", "1500")
    monkeypatch.setenv("FRAUDSCORE_NB_OUTPUT", str(tmp_path / "model"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    if own_data:  # the "your own labelled Parquet" path: a time split of one file, no simulator
        from fraudscore.simulation import write_simulation

        write_simulation(tmp_path / "own.parquet", 2_000, fraud_rate=0.2, seed=77, progress=False)
        monkeypatch.setenv("FRAUDSCORE_NB_DATA", str(tmp_path / "own.parquet"))
    book = nbformat.read(repo_root / "notebooks" / name, as_version=4)
    assert all(not cell.get("outputs") for cell in book.cells if cell.cell_type == "code"), "outputs must be stripped"
    client = nbclient.NotebookClient(book, timeout=900, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for c in book.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    if name == "retrain.ipynb":
        assert (tmp_path / "model" / "manifest.json").exists()
        report = (tmp_path / "model-report" / "REPORT.md").read_text()
        # Own data: the test rows are the latest 30 % of the file (600 of 2,000), not a simulated seed.
        assert ("| all | 600 |" in report) == own_data, report[:600]
