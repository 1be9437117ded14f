"""The citizen's form class built from a definition, whatever its question keys are."""

from pathlib import Path

import yaml
from werkzeug.datastructures import MultiDict

from survey.citizen.forms import build_form_class, collect_answers, form_class
from survey.questionnaires.loading import load_file

SHIPPED = Path(__file__).resolve().parent.parent / "questionnaires"


def test_question_keys_cannot_shadow_the_forms_own_names(app, tmp_path):
    # A choice keyed like a WTForms attribute and a text keyed like the form's answers field.
    data = yaml.safe_load((SHIPPED / "counter-quick.yaml").read_text(encoding="utf-8"))
    data["sections"][0]["questions"][0]["key"] = "data"
    data["sections"][1]["questions"][0]["key"] = "answers"
    path = tmp_path / "counter-quick.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    definition = load_file(path)
    form_class = build_form_class(definition, "vi")
    sent = MultiDict({"data": "3", "Q2": "2", "answers": "  Nhanh gọn  "})
    with app.test_request_context("/", method="POST"):
        form = form_class(formdata=sent)
        assert form.validate()
        assert collect_answers(form, definition) == (
            {"data": 3, "Q2": 2},
            {"answers": "Nhanh gọn"},
            None,
        )
        refused = form_class(formdata=MultiDict({"Q2": "7", "answers": "x" * 1001}))
        assert not refused.validate()
        assert [key for key, _ in refused.problems()] == ["data", "Q2", "answers"]
        assert refused.answer("Q2") == (
            "7",
            "Câu trả lời này không nằm trong các lựa chọn. Vui lòng chọn lại.",
        )


def test_the_form_shows_whole_choice_labels(client, make_counter):
    counter = make_counter()
    html = client.get(f"/s/{counter.token}").get_data(as_text=True)
    assert ">Học sinh, sinh viên</label>" in html
    assert ">Nông, lâm, ngư nghiệp</label>" in html
    english = client.get(f"/s/{counter.token}?lang=en").get_data(as_text=True)
    assert ">Farming, forestry or fishing</label>" in english


def test_each_type_gives_its_field_partial_and_answer(app):
    definition = load_file(SHIPPED / "sipas-service.yaml")
    built = build_form_class(definition, "en")
    # Scale and choice questions share the one ChoiceAnswers field; a text has its own field.
    assert list(built.answers.kwargs["choices"]) == [
        *(k for k in definition.questions if k != "comment")
    ]
    scale = built.answers.kwargs["choices"]["A1"]
    assert [value for value, _ in scale.options] == ["1", "2", "3", "4", "5", "0"]
    assert scale.options[-1][1] == "Does not apply / no answer" and scale.required
    choice = built.answers.kwargs["choices"]["gender"]
    assert choice.options == (("female", "Female"), ("male", "Male"), ("other", "Other"))
    assert not choice.required
    sent = MultiDict(
        {key: "4" for key in definition.scale_items}
        | {"E2": "0", "OVERALL": "", "gender": "other", "comment": "  Tốt  "}
    )
    with app.test_request_context("/", method="POST"):
        form = built(formdata=sent)
        assert sorted(form._fields) == ["answers", "nonce", "text_comment"]
        assert form.partial("A1") == "citizen/questions/_scale.html"
        assert form.partial("gender") == "citizen/questions/_choice.html"
        assert form.partial("comment") == "citizen/questions/_text.html"
        assert form.validate()
        scores, details, comment = collect_answers(form, definition)
    assert scores == dict.fromkeys(definition.scale_items, 4) | {"E2": None, "OVERALL": None}
    assert (details, comment) == ({"gender": "other"}, "Tốt")


def test_form_classes_are_built_once_per_definition_and_locale(app):
    definition = app.extensions["questionnaires"]["counter-quick"]
    with app.app_context():
        vi = form_class(definition, "vi")
        assert form_class(definition, "vi") is vi
        assert form_class(definition, "en") is not vi
