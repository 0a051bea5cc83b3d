"""The field catalogue is consistent, and the generated docs match it."""

from __future__ import annotations

import dataclasses

import pytest

from fraudscore import docs, schema
from fraudscore.schema import FIELD_BY_NAME, FIELDS, KIND_VOCABULARIES, SERIES


def test_field_names_are_unique_and_dotted_paths_never_collide_with_leaves():
    names = [f.name for f in FIELDS]
    assert len(names) == len(set(names))
    prefixes = {".".join(n.split(".")[:i]) for n in names for i in range(1, n.count(".") + 1)}
    assert not prefixes & set(names), "a field cannot also be a container of other fields"


def test_consent_gates_follow_the_privacy_policy():
    for f in FIELDS:
        if f.group in ("network", "device"):
            assert f.consent == "usage", f.name
        elif f.group == "telemetry":
            assert f.consent == "analytics", f.name
        else:
            assert f.consent == "none", f.name


def test_raw_identifiers_are_marked_never_store_raw():
    for name in ("network.ip", "device.user_agent", "device.cookie_id", "device.gps.lat", "device.gps.lon",
                 "answers.text", "respondent_id"):
        assert FIELD_BY_NAME[name].never_store_raw, name


def test_series_members_and_kind_vocabularies_are_schema_fields():
    for members in SERIES.values():
        assert FIELD_BY_NAME[members[0]].name.endswith(".t")
        for m in members:
            assert FIELD_BY_NAME[m].group == "telemetry"
            assert FIELD_BY_NAME[m].max_items == FIELD_BY_NAME[members[0]].max_items
    for name in KIND_VOCABULARIES:
        assert FIELD_BY_NAME[name].dtype == "kind_list"


def test_every_list_field_has_an_item_limit_and_every_text_a_length_limit():
    for f in FIELDS:
        if f.dtype.endswith("_list"):
            assert f.max_items, f.name
        if f.dtype in ("string", "string_list"):
            assert f.max_len, f.name


def test_schema_hash_changes_when_a_field_changes(monkeypatch):
    before = schema.schema_hash()
    assert before == schema.schema_hash()
    changed = tuple(dataclasses.replace(f, max=2.0) if f.name == "device.battery.level" else f for f in FIELDS)
    monkeypatch.setattr(schema, "FIELDS", changed)
    assert schema.schema_hash() != before


def test_field_rejects_unknown_dtype_group_or_consent():
    with pytest.raises(ValueError):
        schema.Field("x", "complex", "device", "usage", "bad dtype")
    with pytest.raises(ValueError):
        schema.Field("x", "float", "space", "usage", "bad group")
    with pytest.raises(ValueError):
        schema.Field("x", "float", "device", "maybe", "bad consent")


@pytest.mark.parametrize("page", sorted(docs.GENERATED))
def test_generated_docs_match_the_code(repo_root, page):
    on_disk = (repo_root / page).read_text(encoding="utf-8")
    assert on_disk == docs.render(page), f"{page} is stale: run `python -m fraudscore.docs`"


def test_docs_check_mode_reports_a_stale_page(tmp_path, capsys):
    assert docs.main(["--root", str(tmp_path), "--check"]) == 1
    assert docs.main(["--root", str(tmp_path)]) == 0
    assert docs.main(["--root", str(tmp_path), "--check"]) == 0
