"""A tier's name and perks per language: parsed, dumped and validated with the program document;
its identity (the default name) stays what members and rewards name."""
import pytest

from plugin_app.services import program as programs
from plugin_app.services.explain import explain, tier_label_map, tier_labels
from plugin_app.i18n import translator

pytestmark = pytest.mark.fast


def _doc(**silver):
    levels = [{"name": "Bronze", "threshold": "0"},
              {"name": "Silver", "threshold": "500", "perks": ["Free shipping"], **silver}]
    return {"tiers": {"levels": levels}}


def test_names_and_perks_round_trip_and_pick_the_readers_language():
    p = programs.parse(_doc(names={"it": "Argento", "de": "Silber"}, perks_i18n={"it": ["Spedizione gratuita"]}))
    silver = p.tiers.levels[1]
    assert silver.name == "Silver" and p.tiers.by_name("Silver") is silver
    assert silver.name_for("it") == "Argento" and silver.name_for("de-DE") == "Silber"
    assert silver.name_for("fr") == "Silver" and silver.name_for(None) == "Silver"
    assert silver.perks_for("it") == ["Spedizione gratuita"] and silver.perks_for("de") == ["Free shipping"]
    dumped = programs.dump(p)["tiers"]["levels"][1]
    assert dumped["names"] == {"it": "Argento", "de": "Silber"}
    assert dumped["perks_i18n"] == {"it": ["Spedizione gratuita"]}
    assert programs.parse(programs.dump(p)) == p


def test_blank_translations_fall_back():
    silver = programs.parse(_doc(names={"it": " "}, perks_i18n={"it": [" "]})).tiers.levels[1]
    assert silver.name_for("it") == "Silver" and silver.perks_for("it") == ["Free shipping"]


def test_old_documents_without_names_still_parse():
    silver = programs.parse(_doc()).tiers.levels[1]
    assert silver.names == {} and silver.perks_i18n == {}


@pytest.mark.parametrize("extra", [{"names": {"italiano": "x"}}, {"names": {"it": "x" * 41}}, {"names": {"it": 5}},
                                   {"perks_i18n": {"ITA": ["x"]}}, {"perks_i18n": {"it": ["x" * 201]}}])
def test_bad_translations_are_refused_with_the_field(extra):
    with pytest.raises(programs.ProgramInvalid) as err:
        programs.parse(_doc(**extra))
    assert any(f["field"].startswith("tiers.levels.1.") for f in err.value.fields), err.value.fields


def test_reasons_name_the_tier_in_the_readers_language():
    p = programs.parse(_doc(names={"it": "Argento"}))
    entry = {"reason_code": "tier.entry", "reason_params": {"tier": "Silver"}}
    with tier_labels(tier_label_map(p, "it")):
        assert "Argento" in explain(entry, translator("it"))
    assert "Silver" in explain(entry, translator("it"))  # without the program: the stored name
