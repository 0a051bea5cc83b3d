"""FeatureContext: one batch plus what several feature families share, computed once."""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fraudscore.batch import SubmissionBatch
from fraudscore.survey import SurveySpec

__all__ = ["FeatureContext"]


class FeatureContext:
    """What a feature group reads.

    Parameters
    ----------
    batch : SubmissionBatch
    surveys : dict of str to SurveySpec
        Specs by ``survey_id``; rows of other surveys use defaults.
    history : object, optional
        Prior counts for the batch's rows (from a history store), for the history family.
    ip : IPInfo, optional
        ``IPDatabase.default().lookup(batch.column("network.ip"))`` when already computed.
    """

    def __init__(self, batch: SubmissionBatch, surveys: dict[str, SurveySpec] | None = None, history=None,
                 ip=None) -> None:
        self.batch = batch
        self.surveys = dict(surveys or {})
        self.history = history
        self.n = batch.n
        self._survey_values: dict = {}
        if ip is not None:  # the caller already looked the addresses up (the Scorer does, for fingerprints)
            self.__dict__["ip"] = ip

    @cached_property
    def survey_codes(self) -> tuple[np.ndarray, np.ndarray]:
        """(code per row, distinct survey ids): rows grouped by survey once for every family.

        Codes are ``pandas.factorize``'s (first appearance order, -1 for a missing id).
        """
        from fraudscore.enrich._factorize import factorize_objects
        from fraudscore.features._unique import _missing

        ids = self.batch.survey_id
        if len(ids) == 1:  # a batch of one (score_one): factorizing costs ~10 us, this ~1
            if _missing(ids[0]):
                return np.full(1, -1, dtype=np.int64), np.empty(0, dtype=object)
            uniques = np.empty(1, dtype=object)
            uniques[0] = ids[0]
            return np.zeros(1, dtype=np.int64), uniques
        return factorize_objects(ids)

    @cached_property
    def ua(self):
        """Parsed user agents (:class:`~fraudscore.enrich.ua.UAInfo`), once per unique UA."""
        from fraudscore.enrich.ua import parse_user_agents

        # The batch's cached factorization is shared with fingerprint_batch: hashed once per batch.
        return parse_user_agents(self.batch.column("device.user_agent"),
                                 factorized=self.batch.factorized("device.user_agent"))

    @cached_property
    def ip(self):
        """IP facts (:class:`~fraudscore.enrich.ip.IPInfo`), once per unique address."""
        from fraudscore.enrich.ip import IPDatabase

        return IPDatabase.default().lookup(self.batch.column("network.ip"))

    def survey_value(self, attribute: str, default=None) -> np.ndarray:
        """Per row, an attribute of the row's SurveySpec (``default`` where there is none).

        Made once per (attribute, default) and shared (read-only): several families compare the
        same column, and the same array lets per_unique reuse its factorization.
        """
        key = (attribute, default)
        cached = self._survey_values.get(key)
        if cached is None:
            cached = self._survey_values[key] = self._survey_value(attribute, default)
            cached.flags.writeable = False
        return cached

    def _survey_value(self, attribute: str, default) -> np.ndarray:
        codes, uniques = self.survey_codes
        per_unique = np.empty(len(uniques) + 1, dtype=object)
        per_unique[-1] = default  # code -1: no survey id
        for i, survey in enumerate(uniques):
            spec = self.surveys.get(survey)
            per_unique[i] = getattr(spec, attribute) if spec is not None else default
        return per_unique[codes]

    @cached_property
    def answer_texts(self) -> tuple[np.ndarray, np.ndarray]:
        """(which values of the ragged ``answers.text`` are texts, not None; those texts)."""
        values = self.batch.column("answers.text").values
        present = values != None  # noqa: E711 - elementwise on an object array
        return present, values[present]

    @cached_property
    def answer_text_utf8(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(UTF-8 bytes of every open-text answer, text after text; bytes and characters of each
        text, int64), for the texts of :attr:`answer_texts`.

        Lone surrogates (which UTF-8 cannot encode) become ``?``, one character for one, as
        Python's ``"replace"`` error handler writes them.
        """
        _, strings = self.answer_texts
        try:
            if len(strings) <= _PY_ENCODE:
                # A few texts (a one-row call): Python's encoder gives the same bytes without the
                # cost of building an Arrow array, and fails on the same lone surrogates.
                return _python_utf8(strings, "strict")
            # Arrow encodes every string in one C loop and hands back the bytes and their
            # offsets, and counts the characters from the bytes (~10x cheaper than len per text).
            encoded = pa.array(strings, type=pa.large_string())
        except (pa.ArrowException, UnicodeError):
            return _python_utf8(strings, "replace")
        offsets = np.frombuffer(encoded.buffers()[1], dtype=np.int64, count=len(strings) + 1)
        data = np.frombuffer(encoded.buffers()[2], dtype=np.uint8, count=int(offsets[-1]))
        chars = pc.utf8_length(encoded).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        return data, np.diff(offsets), chars

    @cached_property
    def answer_text_chars(self) -> np.ndarray:
        """Characters of open-text answers per row (float64)."""
        text = self.batch.column("answers.text")
        if not len(text.values):
            return np.zeros(self.n)
        present, _ = self.answer_texts
        lengths = np.zeros(len(text.values))
        lengths[present] = self.answer_text_utf8[2]
        return text.sums(lengths)


#: Up to this many texts are encoded by Python rather than through an Arrow array.
_PY_ENCODE = 16


def _python_utf8(strings: np.ndarray, errors: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:attr:`FeatureContext.answer_text_utf8` by Python's encoder (``errors``: its error handler)."""
    parts = [s.encode("utf-8", errors) for s in strings]
    data = np.frombuffer(b"".join(parts), dtype=np.uint8)
    return (data, np.fromiter(map(len, parts), dtype=np.int64, count=len(parts)),
            np.fromiter(map(len, strings), dtype=np.int64, count=len(strings)))
