"""The public entry point: :func:`simulate` and its result, :class:`Simulation`."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from fraudscore.survey import SurveySpec

from ._knobs import check_knobs
from .design import TEXT_LANGUAGES, default_survey
from .generator import iter_tables
from .network import country_index
from .pylist import table_to_pylist

__all__ = ["Simulation", "simulate", "split_labels", "flatten"]

OUTPUTS = ("records", "pandas", "arrow")


@dataclass(frozen=True)
class Simulation:
    """A simulated sample.

    Attributes
    ----------
    data : list of dict, pandas.DataFrame or pyarrow.Table
        ``n`` submissions in the input schema: nested records, a flat DataFrame with dotted
        column names, or an Arrow table of nested structs (as asked by ``output``).
    labels : pandas.DataFrame of shape (n, 5)
        ``is_fraud`` (bool), ``family`` ("honest" or an attack family), ``subtype`` ("" when the
        family has none), ``person_id`` and ``device_key`` (ground-truth identities: equal values
        are the same person / the same physical device), in row order.
    survey : SurveySpec
        The survey the submissions answer.
    """

    data: object
    labels: pd.DataFrame
    survey: SurveySpec

    @property
    def records(self) -> list[dict]:
        """The submissions as nested dicts (converted on access when ``data`` is a table)."""
        if isinstance(self.data, list):
            return self.data
        if isinstance(self.data, pa.Table):
            return table_to_pylist(self.data)
        raise TypeError("records are not available for pandas output; use simulate(output='records')")

    def __len__(self) -> int:
        return len(self.labels)


def split_labels(table: pa.Table) -> tuple[pa.Table, pd.DataFrame]:
    """Split a generated table into the submissions and the label DataFrame."""
    labels = table.column("label").combine_chunks().flatten()
    frame = pd.DataFrame({f.name: labels[i].to_numpy(zero_copy_only=False)
                          for i, f in enumerate(table.schema.field("label").type)})
    return table.drop_columns(["label"]), frame


def flatten(table: pa.Table) -> pa.Table:
    """Flatten nested struct columns into dotted columns (``device.battery.level``)."""
    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()
    return table


def simulate(n: int, fraud_rate: float = 0.1, families=None, difficulty="default", seed: int = 0,
             output: str = "records", survey: SurveySpec | None = None) -> Simulation:
    """Simulate ``n`` labelled survey submissions.

    Parameters
    ----------
    n : int
        Number of submissions (>= 0).
    fraud_rate : float
        Share of fraudulent submissions, in [0, 1] (each block of rows holds this share up to
        rounding).
    families : sequence of str, optional
        Attack families to draw from, equally weighted; default all of :data:`FAMILIES`.
    difficulty : {"crude", "default", "hard"} or float in [0, 1]
        Attacker sophistication: the probability that each tell of an attack row is hidden.
    seed : int
        Same seed, same sample.
    output : {"records", "pandas", "arrow"}
        Form of :attr:`Simulation.data`.
    survey : SurveySpec, optional
        The survey to answer; default :func:`~fraudscore.simulation.default_survey` (US, English).
        Its country needs a locale in :data:`fraudscore.simulation.network.COUNTRIES`.

    Returns
    -------
    Simulation
    """
    knobs = check_knobs(n, fraud_rate, families, difficulty, seed)
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
    spec = survey if survey is not None else default_survey()
    country_index(spec.country)
    if spec.languages and spec.languages[0] not in TEXT_LANGUAGES:
        raise ValueError(f"no open-text bank for language {spec.languages[0]!r}; known: {TEXT_LANGUAGES}")
    if knobs.n == 0:
        from .generator import empty_table
        table = empty_table(knobs, spec)
    else:
        table = pa.concat_tables(list(iter_tables(knobs, spec, chunk_size=max(knobs.n, 1))))
    data, labels = split_labels(table)
    if output == "records":
        data = table_to_pylist(data)
    elif output == "pandas":
        data = flatten(data).to_pandas()
    return Simulation(data=data, labels=labels, survey=spec)
