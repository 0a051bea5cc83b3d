"""Content family: what the open-text answers look like.

Keyboard mashing and filler have unnatural letter statistics (few vowels, low or high character
entropy, runs of one character); farms and translators answer in another script than the survey's.
Everything is computed over the concatenated UTF-8 bytes of all texts of the batch, with the row
of each byte as the grouping key (no loop over rows or texts). Duplicate texts across submissions
are counted by the history family.
"""

from __future__ import annotations

import math

import numpy as np

from fraudscore.features._segments import row_sum
from fraudscore.features.context import FeatureContext
from fraudscore.features.registry import one_row_columns, register
from fraudscore.ragged import offsets_from_lengths

__all__: list[str] = []

# UTF-8 lead byte -> script class (0 = not a letter we classify). Two- and three-byte sequences
# are classified by their lead byte alone, which separates the scripts surveys use.
_LATIN, _GREEK, _CYRILLIC, _HEBREW, _ARABIC, _INDIC, _CJK, _HANGUL = range(1, 9)
_SCRIPT_OF_LEAD = np.zeros(256, dtype=np.int8)
_SCRIPT_OF_LEAD[ord("A"):ord("Z") + 1] = _LATIN
_SCRIPT_OF_LEAD[ord("a"):ord("z") + 1] = _LATIN
_SCRIPT_OF_LEAD[0xC3:0xCA] = _LATIN  # U+00C0-U+027F: accented Latin
_SCRIPT_OF_LEAD[0xCE:0xD0] = _GREEK
_SCRIPT_OF_LEAD[0xD0:0xD5] = _CYRILLIC
_SCRIPT_OF_LEAD[0xD7] = _HEBREW
_SCRIPT_OF_LEAD[0xD8:0xDC] = _ARABIC
_SCRIPT_OF_LEAD[0xE0] = _INDIC  # U+0800-U+0FFF: Devanagari ... Thai, Tibetan
_SCRIPT_OF_LEAD[0xE3:0xEA] = _CJK  # kana and CJK ideographs
_SCRIPT_OF_LEAD[0xEA:0xEE] = _HANGUL
_SCRIPT_OF_LANGUAGE = {
    **{lang: _CYRILLIC for lang in ("ru", "uk", "bg", "be", "sr", "mk", "kk", "ky", "mn")},
    "el": _GREEK, "he": _HEBREW, "yi": _HEBREW,
    **{lang: _ARABIC for lang in ("ar", "fa", "ur", "ps")},
    **{lang: _INDIC for lang in ("hi", "mr", "ne", "bn", "pa", "gu", "ta", "te", "kn", "ml", "th", "si")},
    "zh": _CJK, "ja": _CJK, "ko": _HANGUL,
}
_VOWELS = np.zeros(256, dtype=bool)
for _c in "aeiouyAEIOUY":
    _VOWELS[ord(_c)] = True
_ASCII_LETTER = (_SCRIPT_OF_LEAD == _LATIN) & (np.arange(256) < 128)
_MIN_LETTERS = 5  # fewer letters than this say nothing about letter statistics


#: Byte value -> indicator columns of the per-row counts: ASCII letter, vowel, classified script,
#: then one column per script class.
_BYTE_CLASSES = np.column_stack([_ASCII_LETTER, _VOWELS, _SCRIPT_OF_LEAD > 0]
                                + [_SCRIPT_OF_LEAD == s for s in range(1, _HANGUL + 1)])
#: Entropy and repeats do not depend on which number stands for which byte, so bytes are renumbered
#: (``_RENUMBER``) such that every column above is a contiguous range of the new numbers: one
#: reduceat along each row's byte histogram gives the counts of the ranges' parts (``_PART_STARTS``),
#: and each column is a difference of their cumulative sums (``_COLUMN_LO``, ``_COLUMN_HI``).
#: Order of the parts: unclassified, non-ASCII Latin, ASCII consonants, ASCII vowels, then the
#: other scripts in class order.
_PART_OF_BYTE = np.select(
    [_SCRIPT_OF_LEAD == 0, (_SCRIPT_OF_LEAD == _LATIN) & ~_ASCII_LETTER, _ASCII_LETTER & ~_VOWELS, _VOWELS],
    [0, 1, 2, 3], default=_SCRIPT_OF_LEAD.astype(np.int64) + 2)
_NEW_ORDER = np.argsort(_PART_OF_BYTE, kind="stable")  # new number -> byte
_RENUMBER = np.empty(256, dtype=np.uint8)  # byte -> new number
_RENUMBER[_NEW_ORDER] = np.arange(256)
_PART_STARTS = np.searchsorted(_PART_OF_BYTE[_NEW_ORDER], np.arange(_HANGUL + 3))
_PARTS_OF_COLUMN = [(2, 4), (3, 4), (1, _HANGUL + 3), (1, 4)] + [(s + 2, s + 3) for s in range(_GREEK, _HANGUL + 1)]
_COLUMN_LO = np.array([lo for lo, _ in _PARTS_OF_COLUMN])  # columns = cumulative[:, hi] - cumulative[:, lo]
_COLUMN_HI = np.array([hi for _, hi in _PARTS_OF_COLUMN])
#: log2(c) for byte counts 0 < c < _LOG2_SIZE (a byte's count in its row is at least 1); larger
#: counts (a row with that many equal bytes) are computed directly.
_LOG2_SIZE = 4096
with np.errstate(divide="ignore"):
    _LOG2 = np.log2(np.arange(_LOG2_SIZE, dtype=np.float64))
_HIST_ROWS = 512  # rows per histogram block: 512 x 256 counts (1 MB) stay in cache


def _text_bytes(ctx: FeatureContext) -> tuple[np.ndarray, np.ndarray]:
    """(UTF-8 bytes of every text, row after row; bytes per row, int64 of shape (n,))."""
    present, strings = ctx.answer_texts
    per_row = np.zeros(ctx.n, dtype=np.int64)
    if not len(strings):
        return np.empty(0, dtype=np.uint8), per_row
    data, byte_len, _ = ctx.answer_text_utf8
    text = ctx.batch.column("answers.text")
    per_row += np.bincount(text.row_ids()[present], weights=byte_len, minlength=ctx.n).astype(np.int64)
    return data, per_row


@register("text", "content", "none", [
    ("text_chars", "characters of open text in all answers"),
    ("entropy_bits", "Shannon entropy of the answer text's bytes, bits per byte"),
    ("vowel_share", "share of vowels among ASCII letters (keyboard mashing has few)"),
    ("repeat_share", "share of characters equal to the one before (runs such as 'aaaa' or '!!!!')"),
    ("foreign_script_share", "share of letters not in the script of the survey's first language"),
])
def text(ctx: FeatureContext, state) -> dict:
    n = ctx.n
    data, row_bytes = _text_bytes(ctx)
    if n == 1:
        return _text_one(ctx, data)
    offsets = offsets_from_lengths(row_bytes)
    total = row_bytes.astype(np.float64)
    entropy = np.zeros(n)
    parts = np.zeros((n, len(_PART_STARTS) + 1), dtype=np.int64)  # column 0 stays 0: cumulative sums below
    # Per block of rows: a dense byte histogram per row gives the entropy as
    # log2(N) - sum(c log2 c) / N (c: count of each byte value, N: the row's bytes). The sum is
    # taken over the row's bytes rather than its 256 cells, as sum(log2 c(b)) (each byte adds the
    # log of its own value's count): a row has ~120 bytes, half as many as cells. The counts of the
    # byte classes' parts come from one reduceat along the histogram's rows.
    for lo in range(0, n, _HIST_ROWS):
        hi = min(lo + _HIST_ROWS, n)
        a, z = offsets[lo], offsets[hi]
        if a == z:
            continue
        cells = np.repeat(np.arange(0, (hi - lo) * 256, 256), row_bytes[lo:hi])
        cells += _RENUMBER.take(data[a:z])  # per block: take makes intp indices of the bytes, in cache here
        hist = np.bincount(cells, minlength=(hi - lo) * 256)
        count = hist.take(cells)
        if count.max() < _LOG2_SIZE:
            log_count = _LOG2.take(count)
        else:
            log_count = np.log2(count)
        rows = row_bytes[lo:hi] > 0
        sum_log = np.zeros(hi - lo)
        sum_log[rows] = np.add.reduceat(log_count, offsets[lo:hi][rows] - a)
        with np.errstate(divide="ignore", invalid="ignore"):
            block = np.log2(total[lo:hi]) - sum_log / total[lo:hi]
        entropy[lo:hi] = np.maximum(block, 0.0)  # one repeated byte: 0, not a rounding of it below
        parts[lo:hi, 1:] = np.add.reduceat(hist.reshape(-1, 256), _PART_STARTS, axis=1)
    cumulative = parts.cumsum(axis=1)
    classes = (cumulative[:, _COLUMN_HI] - cumulative[:, _COLUMN_LO]).astype(np.float64)  # exact integers
    letters, vowels, classified = classes[:, 0], classes[:, 1], classes[:, 2]
    foreign = classified - classes[np.arange(n), 2 + _expected_script(ctx)]  # expected script >= 1
    repeats = np.zeros(n)
    if len(data) > 1:
        same = np.empty(len(data), dtype=bool)
        same[0] = False
        np.equal(data[1:], data[:-1], out=same[1:])
        texted = row_bytes > 0
        starts = offsets[:-1][texted]
        same[starts] = False  # a row's first byte repeats nothing
        repeats[texted] = np.add.reduceat(same.view(np.uint8), starts, dtype=np.int32)  # half int64's cost
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "content.text_chars": ctx.answer_text_chars,
            "content.entropy_bits": np.where(total > 0, entropy, np.nan),
            "content.vowel_share": np.where(letters >= _MIN_LETTERS, vowels / letters, np.nan),
            "content.repeat_share": np.where(total > 1, repeats / np.maximum(total - 1, 1), np.nan),
            "content.foreign_script_share": np.where(classified >= _MIN_LETTERS, foreign / classified, np.nan),
        }


def _text_one(ctx: FeatureContext, data: np.ndarray) -> dict:
    """:func:`text` of a batch of one row (``score_one``): the block code's histogram arithmetic on
    the row's bytes, its per-row counts as integers, the entropy's float64 steps on one-element
    arrays as the block code takes them."""
    total = len(data)
    entropy = repeat_share = math.nan
    classes = np.zeros(len(_COLUMN_LO), dtype=np.int64)
    if total:
        data = _RENUMBER.take(data)
        hist = np.bincount(data, minlength=256)
        count = hist.take(data)
        log_count = _LOG2.take(count) if count.max() < _LOG2_SIZE else np.log2(count)
        size = np.full(1, float(total))
        with np.errstate(divide="ignore", invalid="ignore"):
            entropy = float(np.maximum(np.log2(size) - row_sum(log_count) / size, 0.0)[0])
        cumulative = np.zeros(len(_PART_STARTS) + 1, dtype=np.int64)
        np.cumsum(np.add.reduceat(hist, _PART_STARTS), out=cumulative[1:])
        classes = cumulative[_COLUMN_HI] - cumulative[_COLUMN_LO]
        if total > 1:
            repeat_share = int(np.count_nonzero(data[1:] == data[:-1])) / max(total - 1, 1)
    letters, vowels, classified = (int(c) for c in classes[:3])
    foreign = classified - int(classes[2 + int(_expected_script(ctx)[0])])
    return one_row_columns(_NAMES, [ctx.answer_text_chars[0], entropy,
                                    vowels / letters if letters >= _MIN_LETTERS else math.nan, repeat_share,
                                    foreign / classified if classified >= _MIN_LETTERS else math.nan])


_NAMES = ("content.text_chars", "content.entropy_bits", "content.vowel_share", "content.repeat_share",
          "content.foreign_script_share")


def _expected_script(ctx: FeatureContext) -> np.ndarray:
    """Script class expected per row, from the first language of the row's survey (default Latin)."""
    codes, uniques = ctx.survey_codes
    per_survey = [_SCRIPT_OF_LANGUAGE.get((ctx.surveys[s].languages or ("en",))[0], _LATIN)
                  if s in ctx.surveys else _LATIN for s in uniques]
    per_unique = np.array(per_survey + [_LATIN], dtype=np.int8)  # the last entry serves code -1 (no survey)
    return per_unique[codes]
