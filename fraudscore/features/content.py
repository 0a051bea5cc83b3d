"""Content family: what the open-text answers look like.

Keyboard mashing and filler have unnatural letter statistics (few vowels, low or high character
entropy, runs of one character); farms and translators answer in another script than the survey's.
Everything is computed over the concatenated UTF-8 bytes of all texts of the batch, with the row
of each byte as the grouping key (no loop over rows or texts). Duplicate texts across submissions
are counted by the history family.
"""

from __future__ import annotations

import numpy as np

from fraudscore.features.context import FeatureContext
from fraudscore.features.registry import register

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


def _text_bytes(ctx: FeatureContext) -> tuple[np.ndarray, np.ndarray]:
    """(bytes of every text, row of each byte)."""
    text = ctx.batch.column("answers.text")
    present = text.values != None  # noqa: E711 - elementwise on an object array
    encoded = [s.encode("utf-8", "replace") for s in text.values[present]]
    if not encoded:
        return np.empty(0, dtype=np.uint8), np.empty(0, dtype=np.int64)
    data = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    byte_len = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    rows = np.repeat(text.row_ids()[present], byte_len)
    return data, rows


@register("text", "content", "none", [
    ("text_chars", "characters of open text in all answers"),
    ("entropy_bits", "Shannon entropy of the answer text's bytes, bits per byte"),
    ("vowel_share", "share of vowels among ASCII letters (keyboard mashing has few)"),
    ("repeat_share", "share of characters equal to the one before (runs such as 'aaaa' or '!!!!')"),
    ("foreign_script_share", "share of letters not in the script of the survey's first language"),
])
def text(ctx: FeatureContext, state) -> dict:
    n = ctx.n
    data, rows = _text_bytes(ctx)
    total = np.bincount(rows, minlength=n).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        if len(data):
            key = rows * 256 + data
            uniq, counts = np.unique(key, return_counts=True)
            p = counts / total[uniq // 256]
            entropy = np.bincount(uniq // 256, weights=-p * np.log2(p), minlength=n)
        else:
            entropy = np.zeros(n)
        letters = np.bincount(rows, weights=_ASCII_LETTER[data], minlength=n)
        vowels = np.bincount(rows, weights=_VOWELS[data], minlength=n)
        repeats = np.zeros(n)
        if len(data) > 1:
            same = (data[1:] == data[:-1]) & (rows[1:] == rows[:-1])
            repeats = np.bincount(rows[1:], weights=same, minlength=n)
        script = _SCRIPT_OF_LEAD[data]
        classified = script > 0
        expected = _expected_script(ctx)
        foreign = classified & (script != expected[rows])
        classified_n = np.bincount(rows, weights=classified, minlength=n)
        foreign_n = np.bincount(rows, weights=foreign, minlength=n)
        return {
            "content.text_chars": ctx.answer_text_chars,
            "content.entropy_bits": np.where(total > 0, entropy, np.nan),
            "content.vowel_share": np.where(letters >= _MIN_LETTERS, vowels / letters, np.nan),
            "content.repeat_share": np.where(total > 1, repeats / np.maximum(total - 1, 1), np.nan),
            "content.foreign_script_share": np.where(classified_n >= _MIN_LETTERS, foreign_n / classified_n, np.nan),
        }


def _expected_script(ctx: FeatureContext) -> np.ndarray:
    """Script class expected per row, from the first language of the row's survey (default Latin)."""
    codes, uniques = ctx.survey_codes
    per_survey = [_SCRIPT_OF_LANGUAGE.get((ctx.surveys[s].languages or ("en",))[0], _LATIN)
                  if s in ctx.surveys else _LATIN for s in uniques]
    per_unique = np.array(per_survey + [_LATIN], dtype=np.int8)  # the last entry serves code -1 (no survey)
    return per_unique[codes]
