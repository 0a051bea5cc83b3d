"""Compile the trees of a fitted ``HistGradientBoostingClassifier`` into QuickScorer tables.

Private helper of :mod:`fraudscore.forest`; see that module for the evaluation scheme.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["compile_trees"]


def _in_bitset(bitset: np.ndarray, value: int) -> bool:
    return bool((int(bitset[value // 32]) >> (value % 32)) & 1)


@dataclass
class _Split:
    """One internal node, gathered before the per-feature tables are built."""

    tree: int
    column: int          # column of the caller's matrix
    threshold: float
    missing_left: bool
    keep_if_right: int   # bit mask (over the tree's leaves) still reachable after going right
    left_codes: np.ndarray | None  # categorical, per code: 1 left, 0 right, -1 unknown (missing rule)


def compile_trees(hgb) -> dict:
    """Keyword arguments of ``CompiledForest`` for a fitted binary ``hgb``."""
    from fraudscore.forest import UnsupportedModelError

    n_features = int(hgb.n_features_in_)
    column_of, categories = _column_layout(hgb, n_features, UnsupportedModelError)
    trees = [iteration[0] for iteration in hgb._predictors]
    n_trees = len(trees)
    max_leaves = max(int(tree.nodes["is_leaf"].sum()) for tree in trees)
    word_dtype = np.uint32 if max_leaves <= 32 else np.uint64
    bits = np.dtype(word_dtype).itemsize * 8
    words = -(-max_leaves // bits)
    leaves_per_tree = words * bits
    if categories and any(c is not None for c in categories.values()):
        known_bitsets, known_index = hgb._bin_mapper.make_known_categories_bitsets()

    splits: list[_Split] = []
    leaf_values = np.zeros((n_trees, leaves_per_tree), dtype=np.float64)
    paths: list[list[list[tuple[int, float]]]] = []
    bias = float(np.ravel(hgb._baseline_prediction)[0])
    for t, tree in enumerate(trees):
        nodes = tree.nodes
        expected = _expected_values(nodes)
        bias += expected[0]
        tree_paths: list[list[tuple[int, float]]] = []
        # Iterative DFS, left child first, so leaves are numbered left to right.
        # Each stack entry: node, path so far (column, delta).
        stack = [(0, [])]
        first_leaf: dict[int, int] = {}
        order: list[int] = []
        while stack:
            node, path = stack.pop()
            record = nodes[node]
            if record["is_leaf"]:
                first_leaf[node] = len(order)
                leaf_values[t, len(order)] = record["value"]
                tree_paths.append(path)
                order.append(node)
                continue
            left, right = int(record["left"]), int(record["right"])
            column = int(column_of[int(record["feature_idx"])])
            stack.append((right, path + [(column, expected[right] - expected[node])]))
            stack.append((left, path + [(column, expected[left] - expected[node])]))
        n_leaves = len(order)
        # Left-subtree leaf ranges: leaves are contiguous per subtree in DFS order.
        span = _leaf_spans(nodes, first_leaf)
        all_leaves = (1 << leaves_per_tree) - 1
        for node in range(len(nodes)):
            record = nodes[node]
            if record["is_leaf"]:
                continue
            lo, hi = span[int(record["left"])]
            feature = int(record["feature_idx"])
            left_codes = None
            if record["is_categorical"]:
                cats = categories[feature]
                if cats is None:
                    raise UnsupportedModelError("categorical split on a feature without categories")
                raw_bitsets = tree.raw_left_cat_bitsets
                bitset_row = int(record["bitset_idx"])
                if bitset_row >= len(raw_bitsets):
                    raise UnsupportedModelError("categorical split without a category bitset")
                known = known_bitsets[known_index[feature]]
                # Per code, as scikit-learn decides: in the left bitset, else known (right), else missing.
                left_codes = np.array([
                    1 if _in_bitset(raw_bitsets[bitset_row], code)
                    else (0 if _in_bitset(known, code) else -1)
                    for code in range(len(cats))], dtype=np.int8)
            splits.append(_Split(
                tree=t, column=int(column_of[feature]), threshold=float(record["num_threshold"]),
                missing_left=bool(record["missing_go_to_left"]),
                keep_if_right=all_leaves ^ (((1 << hi) - 1) ^ ((1 << lo) - 1)),
                left_codes=left_codes))
        assert n_leaves <= leaves_per_tree
        paths.append(tree_paths)

    columns, edges, categorical, offsets, tables = [], [], [], [], []
    n_rows = 0
    for column in sorted({s.column for s in splits}):
        mine = [s for s in splits if s.column == column]
        is_categorical = any(s.left_codes is not None for s in mine)
        if is_categorical:
            cats = categories[_feature_of_column(column_of, column)]
            table, column_edges = _categorical_table(mine, cats, n_trees, words, bits, word_dtype)
        else:
            table, column_edges = _numeric_table(mine, n_trees, words, bits, word_dtype)
        columns.append(column)
        edges.append(column_edges)
        categorical.append(is_categorical)
        offsets.append(n_rows)
        tables.append(table)
        n_rows += len(table)
    masks = (np.concatenate(tables) if tables
             else np.zeros((0, n_trees * words), dtype=word_dtype))

    # Per used column, per (tree, leaf): the sum of that column's deltas along the leaf's path.
    position = {column: j for j, column in enumerate(columns)}
    leaf_contributions = np.zeros((n_trees * leaves_per_tree, len(columns)), dtype=np.float64)
    for t, tree_paths in enumerate(paths):
        for leaf, path in enumerate(tree_paths):
            for column, delta in path:
                leaf_contributions[t * leaves_per_tree + leaf, position[column]] += delta

    return dict(
        n_features=n_features, baseline=float(np.ravel(hgb._baseline_prediction)[0]),
        n_trees=n_trees, word_dtype=word_dtype, words_per_tree=words, columns=columns,
        edges=edges, categorical=categorical, table_offsets=offsets, masks=masks,
        leaf_values=leaf_values, leaf_contributions=leaf_contributions, bias=bias)


def _feature_of_column(column_of: np.ndarray, column: int) -> int:
    """The trees' feature index of one of the caller's columns."""
    return int(np.flatnonzero(column_of == column)[0])


def _column_layout(hgb, n_features, error):
    """Map the trees' feature index to the caller's column, and categories per tree feature.

    With categorical features scikit-learn reorders columns (categorical first, through an
    ``OrdinalEncoder``), so the trees index that reordered matrix.
    """
    is_categorical = getattr(hgb, "is_categorical_", None)
    if is_categorical is None or not np.any(is_categorical):
        return np.arange(n_features), {}
    is_categorical = np.asarray(is_categorical, dtype=bool)
    column_of = np.concatenate([np.flatnonzero(is_categorical), np.flatnonzero(~is_categorical)])
    encoder = hgb._preprocessor.named_transformers_["encoder"]
    categories: dict[int, np.ndarray | None] = {f: None for f in range(n_features)}
    for feature, cats in enumerate(encoder.categories_):
        if cats.dtype.kind not in "fiub":
            raise error("only numeric categories are supported (the input is a float matrix); "
                        f"column {column_of[feature]} has {cats.dtype} categories")
        cats = np.asarray(cats, dtype=np.float64)
        if cats.size and np.isnan(cats[-1]):
            cats = cats[:-1]  # NaN is the missing value, not a category
        categories[feature] = cats
    return column_of, categories


def _expected_values(nodes) -> np.ndarray:
    """Count-weighted mean of the leaf values below each node (leaves: their own value).

    scikit-learn's internal ``value`` is not shrunk by the learning rate, so it is recomputed.
    """
    expected = nodes["value"].astype(np.float64).copy()
    counts = nodes["count"].astype(np.float64)
    # Children always follow their parent in the array, so a reverse sweep sees children first.
    for node in range(len(nodes) - 1, -1, -1):
        if nodes["is_leaf"][node]:
            continue
        left, right = int(nodes["left"][node]), int(nodes["right"][node])
        total = counts[left] + counts[right]
        if total > 0:
            expected[node] = (counts[left] * expected[left] + counts[right] * expected[right]) / total
        else:
            expected[node] = 0.5 * (expected[left] + expected[right])
    return expected


def _leaf_spans(nodes, first_leaf: dict[int, int]) -> dict[int, tuple[int, int]]:
    """[first, last + 1) of the leaf numbers under each node."""
    span: dict[int, tuple[int, int]] = {}
    for node in range(len(nodes) - 1, -1, -1):
        if nodes["is_leaf"][node]:
            span[node] = (first_leaf[node], first_leaf[node] + 1)
        else:
            span[node] = (span[int(nodes["left"][node])][0], span[int(nodes["right"][node])][1])
    return span


def _words_of(mask: int, words: int, bits: int) -> list[int]:
    full = (1 << bits) - 1
    return [(mask >> (bits * w)) & full for w in range(words)]


def _numeric_table(splits, n_trees, words, bits, dtype):
    """Row k = AND of the masks of the splits with threshold < edges[k]; last row = NaN."""
    thresholds = np.unique([s.threshold for s in splits])
    edges = thresholds if thresholds[-1] == np.inf else np.append(thresholds, np.inf)
    full = np.iinfo(dtype).max
    table = np.full((len(edges) + 1, n_trees * words), full, dtype=dtype)
    by_rank: dict[int, list] = {}
    for s in splits:
        by_rank.setdefault(int(np.searchsorted(edges, s.threshold)), []).append(s)
    current = np.full(n_trees * words, full, dtype=dtype)
    for k in range(1, len(edges)):
        for s in by_rank.get(k - 1, ()):
            _and_into(current, s, words, bits, dtype)
        table[k] = current
    for s in splits:
        if not s.missing_left:
            _and_into(table[len(edges)], s, words, bits, dtype)
    return table, edges


def _categorical_table(splits, cats, n_trees, words, bits, dtype):
    """Row c = AND of the masks of the splits sending category code c right; last row = missing."""
    full = np.iinfo(dtype).max
    table = np.full((len(cats) + 1, n_trees * words), full, dtype=dtype)
    for s in splits:
        for code in range(len(cats)):
            direction = s.left_codes[code]
            if direction == 0 or (direction == -1 and not s.missing_left):
                _and_into(table[code], s, words, bits, dtype)
        if not s.missing_left:
            _and_into(table[len(cats)], s, words, bits, dtype)
    return table, cats


def _and_into(row, split, words, bits, dtype):
    start = split.tree * words
    row[start:start + words] &= np.array(_words_of(split.keep_if_right, words, bits), dtype=dtype)
