"""``fraudscore bench``: where the time of one scoring pass goes, stage by stage.

Each stage is timed on the same simulated batch (read from Parquet, validate, enrich,
fingerprint, history, features, model, reasons) and reported in microseconds per row and rows per
second, next to the end-to-end ``Scorer.score`` of the same rows. Absolute figures depend on the
machine; the benchmark suite's gates compare ratios measured in one run.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

__all__ = ["stage_breakdown", "main"]


def _timed(fn):
    t0 = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t0


def stage_breakdown(n: int = 20_000, seed: int = 5, model=None) -> dict:
    """Time every stage on ``n`` simulated submissions; returns a JSON-able dict."""
    import pyarrow.parquet as pq

    import fraudscore
    from fraudscore.enrich.ip import IPDatabase
    from fraudscore.enrich.ua import parse_user_agents
    from fraudscore.fingerprint import fingerprint_batch
    from fraudscore.history import SQLiteStore
    from fraudscore.io import from_arrow_table
    from fraudscore.model import history_counts
    from fraudscore.reasons import explain
    from fraudscore.scorer import Scorer

    sim = fraudscore.simulate(n, seed=seed, output="arrow")
    scorer = Scorer(model=model, history=False, survey=sim.survey)
    IPDatabase.default().lookup(["1.1.1.1"])  # load tables outside the timings, as a service would
    stages = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "submissions.parquet"
        pq.write_table(sim.data, path)
        table, stages["read"] = _timed(lambda: pq.read_table(path))
        batch, stages["validate"] = _timed(lambda: from_arrow_table(table))
        _, stages["enrich"] = _timed(lambda: (parse_user_agents(batch.column("device.user_agent")),
                                              IPDatabase.default().lookup(batch.column("network.ip"))))
        _, stages["fingerprint"] = _timed(lambda: fingerprint_batch(batch))
        store = SQLiteStore(Path(tmp) / "history.sqlite")
        counts, stages["history"] = _timed(lambda: history_counts(batch, store))
        store.close()
        X, stages["features"] = _timed(lambda: scorer._extractor.transform(batch, history=counts))
        _, stages["model"] = _timed(lambda: scorer.forest.predict_proba(X))
        _, stages["reasons"] = _timed(lambda: explain(scorer.forest.predict_proba(X, contributions=True)[1],
                                                      scorer._maps))
        end_store = SQLiteStore(Path(tmp) / "end-to-end.sqlite")
        end_scorer = Scorer(model=scorer.model, history=end_store, survey=sim.survey)
        _, end_to_end = _timed(lambda: end_scorer.score(pq.read_table(path)))
        end_store.close()
    return {
        "rows": n,
        "stages_us_per_row": {k: round(v / n * 1e6, 2) for k, v in stages.items()},
        "stages_rows_per_s": {k: round(n / v) for k, v in stages.items()},
        "end_to_end_us_per_row": round(end_to_end / n * 1e6, 2),
        "end_to_end_rows_per_s": round(n / end_to_end),
    }


def main(n: int = 20_000) -> int:
    print(json.dumps(stage_breakdown(n), indent=2))
    return 0
