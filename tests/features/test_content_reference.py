"""The content family's histogram path equals the original np.unique-over-bytes implementation."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fraudscore.features import content
from fraudscore.features.context import FeatureContext
from fraudscore.io import read_batch
from fraudscore.survey import SurveySpec

SURVEYS = {"ru": SurveySpec("ru", country="RU", languages=("ru",)), "en": SurveySpec("en", country="US", languages=("en",))}


def reference_text(ctx: FeatureContext) -> dict:
    """The original implementation: bytes joined in Python, (row, byte) keys through np.unique."""
    n = ctx.n
    text = ctx.batch.column("answers.text")
    present = text.values != None  # noqa: E711
    encoded = [s.encode("utf-8", "replace") for s in text.values[present]]
    if encoded:
        data = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        rows = np.repeat(text.row_ids()[present], np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)))
    else:
        data, rows = np.empty(0, dtype=np.uint8), np.empty(0, dtype=np.int64)
    total = np.bincount(rows, minlength=n).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        if len(data):
            key = rows * 256 + data
            uniq, counts = np.unique(key, return_counts=True)
            p = counts / total[uniq // 256]
            entropy = np.bincount(uniq // 256, weights=-p * np.log2(p), minlength=n)
        else:
            entropy = np.zeros(n)
        letters = np.bincount(rows, weights=content._ASCII_LETTER[data], minlength=n)
        vowels = np.bincount(rows, weights=content._VOWELS[data], minlength=n)
        repeats = np.zeros(n)
        if len(data) > 1:
            same = (data[1:] == data[:-1]) & (rows[1:] == rows[:-1])
            repeats = np.bincount(rows[1:], weights=same, minlength=n)
        script = content._SCRIPT_OF_LEAD[data]
        classified = script > 0
        foreign = classified & (script != content._expected_script(ctx)[rows])
        classified_n = np.bincount(rows, weights=classified, minlength=n)
        foreign_n = np.bincount(rows, weights=foreign, minlength=n)
        return {
            "content.text_chars": ctx.answer_text_chars,
            "content.entropy_bits": np.where(total > 0, entropy, np.nan),
            "content.vowel_share": np.where(letters >= content._MIN_LETTERS, vowels / letters, np.nan),
            "content.repeat_share": np.where(total > 1, repeats / np.maximum(total - 1, 1), np.nan),
            "content.foreign_script_share": np.where(classified_n >= content._MIN_LETTERS, foreign_n / classified_n,
                                                     np.nan),
        }


def _assert_equal_text_features(got, want):
    """Counts and shares exactly; the entropy to rounding, as the fast path sums c*log2(c) per byte
    value (log2 N - sum / N) where the reference sums -p*log2(p)."""
    for name in want:
        if name == "content.entropy_bits":
            np.testing.assert_allclose(got[name], want[name], rtol=1e-12, atol=1e-12, err_msg=name)
            assert np.array_equal(np.isnan(got[name]), np.isnan(want[name])) and np.nanmin(got[name], initial=0) >= 0
        else:
            np.testing.assert_array_equal(got[name], want[name], err_msg=name)


_TEXT = st.one_of(
    st.sampled_from(["", "aaaa", "hello there", "Еда была хорошей", "日本語のテキスト", "مرحبا", "x\ud800y", "!!!!!!",
                     "Das Essen war gut, aber teuer.", "a" * 300]),
    st.text(max_size=30),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["ru", "en", "unknown"]), st.lists(_TEXT, max_size=4)), min_size=1, max_size=30))
def test_text_features_equal_the_reference(rows):
    records = [{"submission_id": f"s{i}", "survey_id": survey, "started_at": 1_777_622_400_000,
                "submitted_at": 1_777_622_700_000, "answers": {"text": texts}} for i, (survey, texts) in enumerate(rows)]
    ctx = FeatureContext(read_batch(records), SURVEYS)
    got, want = content.text(ctx, None), reference_text(ctx)
    _assert_equal_text_features(got, want)


def test_many_rows_cross_histogram_blocks():
    records = [{"submission_id": f"s{i}", "survey_id": "en", "started_at": 1_777_622_400_000,
                "submitted_at": 1_777_622_700_000, "answers": {"text": [] if i % 7 == 0 else ["abc " * (i % 13), "zz"]}}
               for i in range(3 * content._HIST_ROWS + 5)]
    ctx = FeatureContext(read_batch(records), SURVEYS)
    got, want = content.text(ctx, None), reference_text(ctx)
    _assert_equal_text_features(got, want)
