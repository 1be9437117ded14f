"""The question-type registry: a type registered here is checked, asked, stored and shown."""

import shutil
from pathlib import Path

import pytest
import yaml
from helpers import hidden_fields
from jinja2 import ChoiceLoader, DictLoader
from sqlalchemy import select
from wtforms import IntegerField
from wtforms.validators import NumberRange, Optional

from survey import create_app, db
from survey.models import Response
from survey.questionnaires.loading import QuestionnaireError, load_file
from survey.questionnaires.types import QUESTION_TYPES, QuestionType, field_attribute

SHIPPED = Path(__file__).resolve().parent.parent / "questionnaires"
PARTIAL = (
    '<input type="number" name="{{ q.key }}" max="{{ q.max }}"'
    ' value="{{ value if value is not none else "" }}">'
)


class NumberType(QuestionType):
    """A whole number up to the question's `max`, kept as a detail."""

    own_keys = {"max": {"type": "integer", "minimum": 1}}

    def contribute(self, parts, definition, question, locale):
        """Add an integer field of its own."""
        parts.fields[field_attribute(question["key"])] = IntegerField(
            definition.text(question["text"], locale),
            name=question["key"],
            validators=[Optional(), NumberRange(0, question["max"], message="Quá nhiều.")],
        )

    def collect(self, form, question, answers):
        """Keep the number as a detail."""
        value = form[field_attribute(question["key"])].data
        if value is not None:
            answers.details[question["key"]] = str(value)


@pytest.fixture
def number_type(monkeypatch):
    """Register the number type for one test."""
    qtype = NumberType("number", scored=False, partial="_number.html", summary="numbers")
    monkeypatch.setitem(QUESTION_TYPES, "number", qtype)
    return qtype


def _visits_file(folder: Path, **extra) -> Path:
    data = yaml.safe_load((SHIPPED / "counter-quick.yaml").read_text(encoding="utf-8"))
    visits = {"key": "visits", "type": "number", "required": False, "max": 20}
    visits["text"] = {"vi": "Bạn đã đến mấy lần?", "en": "How many visits?"}
    data["sections"][1]["questions"].insert(0, visits | extra)
    path = folder / "counter-quick.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def app(app_config, tmp_path, number_type):
    """Return an app whose quick questionnaire asks a number question."""
    folder = tmp_path / "questionnaires"
    folder.mkdir()
    shutil.copy(SHIPPED / "sipas-service.yaml", folder)
    _visits_file(folder)
    application = create_app(app_config | {"QUESTIONNAIRE_DIR": str(folder)})
    application.jinja_env.loader = ChoiceLoader(
        [DictLoader({"_number.html": PARTIAL}), application.jinja_env.loader]
    )
    yield application
    db.dispose_engines(application)


def test_a_registered_type_is_asked_stored_and_shown_again(app, client, make_counter):
    definition = app.extensions["questionnaires"]["counter-quick"]
    assert definition.summarised_as("numbers") == ("visits",)
    counter = make_counter(questionnaire="counter-quick")
    html = client.get(f"/s/{counter.token}").get_data(as_text=True)
    assert '<fieldset class="q" id="q-visits">' in html
    assert '<input type="number" name="visits" max="20" value="">' in html
    hidden = hidden_fields(html)

    refused = client.post(f"/s/{counter.token}", data=hidden | {"Q1": "2", "visits": "99"})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert '<fieldset class="q bad" id="q-visits" aria-describedby="e-visits">' in page
    assert '<p class="msg" id="e-visits">Quá nhiều.</p>' in page
    assert 'value="99"' in page and '<a href="#q-visits">' in page

    hidden = hidden_fields(page)
    answers = {"Q1": "2", "Q2": "3", "visits": "3", "comment": "Nhanh"}
    assert client.post(f"/s/{counter.token}", data=hidden | answers).status_code == 303
    with app.app_context():
        stored = db.session().scalars(select(Response)).one()
        assert (stored.scores, stored.details, stored.comment) == ("23", {"visits": "3"}, "Nhanh")


def test_a_registered_types_own_keys_are_checked(tmp_path, number_type):
    with pytest.raises(QuestionnaireError) as caught:
        load_file(_visits_file(tmp_path, step=2))
    assert str(caught.value) == "counter-quick.yaml: sections[1].questions[0]: unknown key 'step'"
    with pytest.raises(QuestionnaireError, match=r"questions\[0\]\.max: 0 is less than"):
        load_file(_visits_file(tmp_path, max=0))


def test_an_unregistered_type_is_refused(tmp_path):
    with pytest.raises(QuestionnaireError) as caught:
        load_file(_visits_file(tmp_path))
    assert caught.value.where == "sections[1].questions[0].type"
    assert caught.value.problem == "'number' is not one of ['choice', 'scale', 'text']"
