"""The Results contract: columns, order, round trips, and refusal of malformed tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fraudscore.results import DECISIONS, RESULT_COLUMNS, Result, Results


def _results(n=3):
    reasons = np.empty(n, dtype=object)
    for i in range(n):
        reasons[i] = [{"code": "HEADLESS_BROWSER", "value": 2.1}, {"code": "SPEEDING", "value": -0.3}] if i == 0 else []
    return Results.from_columns(
        n,
        submission_id=np.array([f"s{i}" for i in range(n)], dtype=object),
        score=np.linspace(0.9, 0.1, n),
        risk=np.round(np.linspace(90, 10, n)),
        decision=np.array(["reject"] + ["accept"] * (n - 2) + ["error"], dtype=object),
        reasons=reasons,
        error=np.array([None] * (n - 1) + ["MISSING_SURVEY_ID"], dtype=object),
        model_version=np.array(["test-1"] * n, dtype=object),
    )


def test_columns_follow_the_contract_in_order():
    frame = _results().to_pandas()
    assert tuple(frame.columns) == RESULT_COLUMNS
    assert RESULT_COLUMNS[:4] == ("submission_id", "score", "risk", "decision")
    for family in ("automation", "duplicate", "network", "careless", "behaviour", "content"):
        assert family in RESULT_COLUMNS


def test_rows_are_results_with_reasons_as_code_value_pairs():
    r = _results()[0]
    assert isinstance(r, Result) and r.decision == "reject" and not r.is_error
    assert r.reasons == (("HEADLESS_BROWSER", 2.1), ("SPEEDING", -0.3))
    assert _results()[2].is_error and _results()[2].error == "MISSING_SURVEY_ID"
    assert [x.submission_id for x in _results()] == ["s0", "s1", "s2"]


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_write_and_read_round_trip(tmp_path, suffix):
    original = _results()
    path = tmp_path / f"out{suffix}"
    original.write(path)
    back = Results.read(path)
    assert len(back) == len(original)
    assert [tuple(x.reasons) for x in back] == [tuple(x.reasons) for x in original]
    assert back.to_pandas()["decision"].tolist() == original.to_pandas()["decision"].tolist()
    np.testing.assert_allclose(back.to_pandas()["score"], original.to_pandas()["score"])


def test_csv_output_has_the_contract_columns(tmp_path):
    _results().write(tmp_path / "out.csv")
    assert tuple(pd.read_csv(tmp_path / "out.csv").columns) == RESULT_COLUMNS


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_parquet_and_csv_read_back_every_value_exactly(tmp_path, suffix):
    """Ids that CSV readers like to turn into numbers or missing values stay text; floats exact."""
    original = _results(4)
    frame = original.to_pandas()
    frame["submission_id"] = ["00123", "1e5", "7", "0042"]  # every one would parse as a number
    frame["device_id"] = ["0000000000000001", None, "1234567890123456", "0000000000000042"]
    frame["model_version"] = ["NA", "null", "None", "n/a"]  # pandas' missing-value spellings
    frame["score"] = [0.1 + 0.2, 1 / 3, float("nan"), 5e-324]
    frame.loc[2, "warnings"] = ["TRUNCATED_USER_AGENT", "BAD_IP"]
    original = Results(frame)
    original.write(tmp_path / f"out{suffix}")
    back = Results.read(tmp_path / f"out{suffix}")
    assert _same_rows(back, original)


def _same_rows(a: Results, b: Results) -> bool:
    """Row by row equality with NaN equal to NaN (pylist comparison treats NaN as unequal)."""
    def same(x, y):
        if isinstance(x, float) and isinstance(y, float):
            return x == y or (np.isnan(x) and np.isnan(y))
        if isinstance(x, (list, dict)):
            pairs = zip(x, y) if isinstance(x, list) else ((x[k], y.get(k)) for k in x)
            return type(x) is type(y) and len(x) == len(y) and all(same(u, v) for u, v in pairs)
        return type(x) is type(y) and x == y

    rows_a, rows_b = a.to_arrow().to_pylist(), b.to_arrow().to_pylist()
    return len(rows_a) == len(rows_b) and all(same(ra, rb) for ra, rb in zip(rows_a, rows_b))


def test_reading_results_that_are_not_there_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        Results.read(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match=r"\.parquet, \.jsonl or \.csv"):
        Results.read(tmp_path / "results.txt")


def test_arrow_output_is_typed():
    table = _results().to_arrow()
    assert table.schema.field("reasons").type.value_type.names == ["code", "value"]
    assert table.num_rows == 3


def test_malformed_results_are_refused():
    with pytest.raises(ValueError, match="decision"):
        Results.from_columns(1, submission_id=np.array(["a"], object), decision=np.array(["maybe"], object))
    with pytest.raises(ValueError, match="error code"):
        Results.from_columns(1, submission_id=np.array(["a"], object), decision=np.array(["error"], object))
    with pytest.raises(ValueError, match="rows"):
        Results.from_columns(2, submission_id=np.array(["a"], object), decision=np.array(["accept"] * 2, object))
    with pytest.raises(ValueError, match="unknown"):
        Results.from_columns(1, submission_id=np.array(["a"], object), decision=np.array(["accept"], object), colour=[1])


def test_concat_and_summary():
    both = Results.concat([_results(), _results()])
    assert len(both) == 6
    assert both.summary()["decisions"] == {"accept": 2, "reject": 2, "error": 2}
    assert both.summary()["errors"] == {"MISSING_SURVEY_ID": 2}
    assert len(Results.concat([])) == 0
    assert set(both.summary()["decisions"]) <= set(DECISIONS)
