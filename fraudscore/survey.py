"""SurveySpec: what fraudscore needs to know about one survey.

Careless-responding indices need the scales and reverse-keyed items, attention checks need their
expected answers, network features need the survey's country and languages. A spec is plain data:
it round-trips through JSON (``fraudscore score --survey SPEC.json``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["SurveySpec"]


@dataclass(frozen=True)
class SurveySpec:
    """Description of one survey.

    Parameters
    ----------
    survey_id : str
        Id that submissions carry in ``survey_id``.
    country : str
        ISO 3166-1 alpha-2 code of the country the survey samples (``"US"``).
    languages : tuple of str
        BCP-47 primary language subtags the survey is offered in (``("en",)``).
    likert_points : int
        Number of answer options of the Likert items (answers are 1..likert_points).
    n_likert : int
        Number of Likert items (length of ``answers.likert``).
    scales : tuple of tuple of int
        Item indices (0-based into ``answers.likert``) of each psychometric scale.
    reverse_keyed : tuple of int
        Items scored in reverse (agreeing means less of the trait).
    attention_checks : dict of int to int
        Instructed-response items: item index -> the answer an attentive person gives.
    n_text : int
        Number of open-text items (length of ``answers.text``).
    expected_duration_s : float or None
        Typical completion time; ``None`` means learned from history / calibration data.
    item_words : tuple of int
        Words in each Likert item's text, for reading-time expectations (empty = unknown).
    """

    survey_id: str
    country: str = "US"
    languages: tuple[str, ...] = ("en",)
    likert_points: int = 5
    n_likert: int = 0
    scales: tuple[tuple[int, ...], ...] = ()
    reverse_keyed: tuple[int, ...] = ()
    attention_checks: dict[int, int] = field(default_factory=dict)
    n_text: int = 0
    expected_duration_s: float | None = None
    item_words: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not self.survey_id:
            raise ValueError("SurveySpec needs a survey_id")
        if len(self.country) != 2 or not self.country.isalpha() or not self.country.isupper():
            raise ValueError(f"country must be an ISO 3166-1 alpha-2 code like 'US', got {self.country!r}")
        if self.likert_points < 2:
            raise ValueError("likert_points must be at least 2")
        items = [i for scale in self.scales for i in scale]
        items += list(self.reverse_keyed) + list(self.attention_checks)
        bad = [i for i in items if not 0 <= int(i) < self.n_likert]
        if bad:
            raise ValueError(f"item indices {sorted(set(bad))} are outside 0..{self.n_likert - 1}")
        bad_answers = {i: a for i, a in self.attention_checks.items() if not 1 <= a <= self.likert_points}
        if bad_answers:
            raise ValueError(f"attention-check answers {bad_answers} are outside 1..{self.likert_points}")
        if self.item_words and len(self.item_words) != self.n_likert:
            raise ValueError("item_words must give one count per Likert item")
        # Frozen dataclass: normalise containers through object.__setattr__ so specs loaded from
        # JSON (lists, string keys) equal specs built in code.
        object.__setattr__(self, "languages", tuple(self.languages))
        object.__setattr__(self, "scales", tuple(tuple(int(i) for i in s) for s in self.scales))
        object.__setattr__(self, "reverse_keyed", tuple(int(i) for i in self.reverse_keyed))
        object.__setattr__(self, "attention_checks",
                           {int(k): int(v) for k, v in sorted(self.attention_checks.items(), key=lambda kv: int(kv[0]))})
        object.__setattr__(self, "item_words", tuple(int(w) for w in self.item_words))

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def to_dict(self) -> dict:
        """Plain JSON-able dict."""
        d = asdict(self)
        d["attention_checks"] = {str(k): v for k, v in self.attention_checks.items()}
        return d

    @classmethod
    def from_dict(cls, data: dict) -> "SurveySpec":
        """Build from :meth:`to_dict` output (or hand-written JSON); unknown keys raise."""
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown SurveySpec keys: {sorted(unknown)}")
        return cls(**data)

    def to_json(self, path: str | Path) -> None:
        """Write the spec as JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def from_json(cls, path: str | Path) -> "SurveySpec":
        """Read a spec written by :meth:`to_json`."""
        return cls.from_dict(json.loads(Path(path).read_text()))
