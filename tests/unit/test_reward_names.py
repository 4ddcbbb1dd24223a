"""A reward's name per language: parsed, dumped and validated with the program document."""
import pytest

from plugin_app.services import program as programs

pytestmark = pytest.mark.fast


def _doc(**reward):
    base = {"id": "five-off", "name": "5.00 off your order", "type": "fixed_amount", "points_cost": 100, "amount": "5"}
    return {"rewards": [{**base, **reward}]}


def test_names_round_trip_and_pick_the_readers_language():
    p = programs.parse(_doc(names={"it": "5 € di sconto", "de": "5 € Rabatt"}))
    r = p.rewards[0]
    assert r.name_for("it") == "5 € di sconto" and r.name_for("de-DE") == "5 € Rabatt"
    assert r.name_for("fr") == "5.00 off your order" and r.name_for(None) == "5.00 off your order"
    assert programs.dump(p)["rewards"][0]["names"] == {"it": "5 € di sconto", "de": "5 € Rabatt"}
    assert programs.parse(programs.dump(p)) == p


def test_a_blank_translation_falls_back_to_the_name():
    assert programs.parse(_doc(names={"it": "  "})).rewards[0].name_for("it") == "5.00 off your order"


def test_old_documents_without_names_still_parse():
    assert programs.parse(_doc()).rewards[0].names == {}


@pytest.mark.parametrize("names", [{"italiano": "x"}, {"it": "x" * 81}, {"it": 5}])
def test_bad_names_are_refused_with_the_field(names):
    with pytest.raises(programs.ProgramInvalid) as err:
        programs.parse(_doc(names=names))
    assert any(f["field"].startswith("rewards.0.names") for f in err.value.fields), err.value.fields
