"""The citizen's form class built from a definition, whatever its question keys are."""

from pathlib import Path

import yaml
from werkzeug.datastructures import MultiDict

from survey.citizen.forms import build_form_class, collect_answers
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
