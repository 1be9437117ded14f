"""Questionnaire files: the shipped ones, and bad files that stop start-up with a clear error."""

from pathlib import Path

import pytest
import yaml
from helpers import SIPAS_ITEMS

from survey import create_app
from survey.questionnaires.loading import QuestionnaireError, check, load_directory, load_file

SHIPPED = Path(__file__).resolve().parent.parent / "questionnaires"


def test_sipas_service_has_sixteen_criteria_in_five_elements():
    definition = load_file(SHIPPED / "sipas-service.yaml")
    assert definition.elements == {
        "A": ("A1", "A2", "A3"),
        "B": ("B1", "B2", "B3", "B4"),
        "C": ("C1", "C2", "C3"),
        "D": ("D1", "D2", "D3"),
        "E": ("E1", "E2", "E3"),
    }
    assert list(definition.scale_items) == [*SIPAS_ITEMS, "OVERALL"]
    assert set(definition.satisfied_min.values()) == {4}
    scale = definition.data["scales"]["five"]
    assert [o["vi"] for o in scale["options"]] == [
        "Rất không hài lòng",
        "Không hài lòng",
        "Bình thường",
        "Hài lòng",
        "Rất hài lòng",
    ]
    assert scale["not_applicable"]["vi"] == "Không áp dụng / không trả lời"
    assert definition.questions["comment"]["max_length"] == 1000
    for key in ("gender", "age_band", "occupation", "OVERALL", "comment"):
        assert definition.questions[key]["required"] is False


def test_counter_quick_counts_all_but_dissatisfied_as_satisfied():
    definition = load_file(SHIPPED / "counter-quick.yaml")
    assert definition.scale_items == ("Q1", "Q2")
    options = definition.data["scales"]["three"]["options"]
    assert [o["vi"] for o in options] == ["Không hài lòng", "Hài lòng", "Rất hài lòng"]
    assert definition.satisfied_min == {"Q1": 2, "Q2": 2}


def test_scores_round_trip_with_missing_answers():
    definition = load_file(SHIPPED / "sipas-service.yaml")
    answers = dict.fromkeys(definition.scale_items, 4) | {"E2": None, "OVERALL": None}
    encoded = definition.encode_scores(answers)
    assert len(encoded) == 17 and encoded[14] == "0"
    assert definition.decode_scores(encoded) == answers


def test_content_hash_changes_with_any_edit(tmp_path):
    data = yaml.safe_load((SHIPPED / "counter-quick.yaml").read_text(encoding="utf-8"))
    original = load_file(SHIPPED / "counter-quick.yaml")
    data["sections"][0]["questions"][0]["text"]["en"] = "Was it convenient?"
    edited = tmp_path / "counter-quick.yaml"
    edited.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert load_file(edited).content_hash != original.content_hash


def _write_bad(tmp_path, mutate) -> Path:
    data = yaml.safe_load((SHIPPED / "counter-quick.yaml").read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "counter-quick.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("mutate", "where", "problem"),
    [
        (lambda d: d.pop("title"), "(the whole file)", "'title' is a required property"),
        (lambda d: d["title"].pop("en"), "title", "'en' is a required property"),
        (
            lambda d: d["sections"][0]["questions"][1].update(key="Q1"),
            "sections[0].questions[1].key",
            "item key 'Q1' used twice",
        ),
        (
            lambda d: d["sections"][0]["questions"][0].update(scale="five"),
            "sections[0].questions[0].scale",
            "'five' is not a scale of this file (three)",
        ),
        (
            lambda d: d["sections"][0]["questions"][0].update(type="slider"),
            "sections[0].questions[0].type",
            "'slider' is not one of",
        ),
        (
            lambda d: d["scales"]["three"]["options"][0].update(value=12),
            "scales.three.options[0].value",
            "12 is greater than the maximum of 9",
        ),
        (
            lambda d: d["sections"][1]["questions"][0].update(max_length=0),
            "sections[1].questions[0].max_length",
            "must be a whole number from 1 to 5000",
        ),
        (lambda d: d.update(slug="other-name"), "slug", "differs from the file name"),
        (
            lambda d: d["sections"][1]["questions"][0].update(key="nonce"),
            "sections[1].questions[0].key",
            "'nonce' is the name of a hidden field of the form",
        ),
    ],
)
def test_bad_file_names_file_field_and_problem(tmp_path, mutate, where, problem):
    path = _write_bad(tmp_path, mutate)
    with pytest.raises(QuestionnaireError) as caught:
        load_file(path)
    assert caught.value.source == "counter-quick.yaml"
    assert caught.value.where == where
    assert problem in caught.value.problem


def test_broken_yaml_names_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("slug: broken\ntitle: {vi: a, en: b\n", encoding="utf-8")
    with pytest.raises(QuestionnaireError) as caught:
        load_file(path)
    assert caught.value.source == "broken.yaml" and caught.value.where.startswith("line ")


def test_bad_file_stops_start_up(tmp_path, app_config):
    _write_bad(tmp_path, lambda d: d["sections"][0]["questions"][0].pop("text"))
    with pytest.raises(
        QuestionnaireError, match=r"counter-quick.yaml: sections\[0\]\.questions\[0\]"
    ):
        create_app(app_config | {"QUESTIONNAIRE_DIR": str(tmp_path)})


def test_empty_folder_is_an_error(tmp_path):
    with pytest.raises(QuestionnaireError, match="no questionnaire file"):
        load_directory(tmp_path)


def _add_choice(data, options=None):
    """Add an occupation-like choice section to the quick questionnaire (sections[2])."""
    data["sections"].append(
        {
            "key": "about",
            "title": {"vi": "Về bạn", "en": "About you"},
            "questions": [
                {
                    "key": "occupation",
                    "type": "choice",
                    "required": False,
                    "text": {"vi": "Nghề nghiệp", "en": "Occupation"},
                    "options": options
                    or [
                        {"value": "worker", "vi": "Công nhân", "en": "Factory worker"},
                        {"value": "student", "vi": "Học sinh, sinh viên", "en": "Student"},
                    ],
                }
            ],
        }
    )


@pytest.mark.parametrize(
    ("mutate", "where", "key"),
    [
        (lambda d: d.update(colour="red"), "(the whole file)", "colour"),
        (lambda d: d["title"].update(fr="Évaluation"), "title", "fr"),
        (lambda d: d["scales"]["three"].update(kind="likert"), "scales.three", "kind"),
        (
            lambda d: d["scales"]["three"]["options"][1].update(emoji=":)"),
            "scales.three.options[1]",
            "emoji",
        ),
        (lambda d: d["sections"][0].update(hint="x"), "sections[0]", "hint"),
        (lambda d: d["sections"][0]["title"].update(de="x"), "sections[0].title", "de"),
        (
            lambda d: d["sections"][0]["questions"][1].update(max_length=10),
            "sections[0].questions[1]",
            "max_length",
        ),
        (
            lambda d: d["sections"][0]["questions"][0]["text"].update(fr="x"),
            "sections[0].questions[0].text",
            "fr",
        ),
        (
            lambda d: d["sections"][1]["questions"][0].update(scale="three"),
            "sections[1].questions[0]",
            "scale",
        ),
        (
            lambda d: (_add_choice(d), d["sections"][2]["questions"][0].update(multiple=True)),
            "sections[2].questions[0]",
            "multiple",
        ),
        (
            lambda d: (
                _add_choice(d),
                d["sections"][2]["questions"][0]["options"][1].update({"sinh viên": None}),
            ),
            "sections[2].questions[0].options[1]",
            "sinh viên",
        ),
    ],
)
def test_unknown_key_at_any_level_names_file_path_and_key(tmp_path, mutate, where, key):
    path = _write_bad(tmp_path, mutate)
    with pytest.raises(QuestionnaireError) as caught:
        load_file(path)
    assert str(caught.value) == f"counter-quick.yaml: {where}: unknown key '{key}'"


def test_flow_mapping_split_at_a_comma_is_refused(tmp_path):
    # The bug once shipped in sipas-service.yaml: unquoted, the comma ends the text "Học sinh".
    text = (SHIPPED / "counter-quick.yaml").read_text(encoding="utf-8") + (
        "  - key: about\n"
        "    title: {vi: Về bạn, en: About you}\n"
        "    questions:\n"
        "      - key: occupation\n"
        "        type: choice\n"
        "        text: {vi: Nghề nghiệp, en: Occupation}\n"
        "        options:\n"
        "          - {value: worker, vi: Công nhân, en: Factory worker}\n"
        "          - {value: student, vi: Học sinh, sinh viên, en: Student}\n"
    )
    path = tmp_path / "counter-quick.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(QuestionnaireError) as caught:
        load_file(path)
    assert str(caught.value) == (
        "counter-quick.yaml: sections[2].questions[0].options[1]: unknown key 'sinh viên'"
    )
    path.write_text(text.replace("Học sinh, sinh viên", '"Học sinh, sinh viên"'), "utf-8")
    options = load_file(path).questions["occupation"]["options"]
    assert options[1] == {"value": "student", "vi": "Học sinh, sinh viên", "en": "Student"}


def test_shipped_choice_labels_are_whole():
    definition = load_file(SHIPPED / "sipas-service.yaml")
    options = definition.questions["occupation"]["options"]
    assert [(o["vi"], o["en"]) for o in options] == [
        ("Cán bộ, công chức, viên chức", "Civil servant or public employee"),
        ("Kinh doanh, doanh nghiệp", "Business"),
        ("Công nhân", "Factory worker"),
        ("Nông, lâm, ngư nghiệp", "Farming, forestry or fishing"),
        ("Học sinh, sinh viên", "Student"),
        ("Nghỉ hưu", "Retired"),
        ("Khác", "Other"),
    ]
    assert all(set(o) == {"value", "vi", "en"} for o in options)


def test_stored_version_with_unknown_keys_is_still_read():
    # Versions stored before the strict check (the split labels) must stay readable for results.
    data = yaml.safe_load((SHIPPED / "sipas-service.yaml").read_text(encoding="utf-8"))
    data["sections"][6]["questions"][2]["options"][4].update({"vi": "Học sinh", "sinh viên": None})
    with pytest.raises(QuestionnaireError, match="unknown key 'sinh viên'"):
        check(data, "sipas-service v1")
    old = check(data, "sipas-service v1", strict=False)
    assert old.scale_items == (*SIPAS_ITEMS, "OVERALL")
    # Any other problem is still one.
    data["sections"][0]["questions"][0]["scale"] = "seven"
    with pytest.raises(QuestionnaireError, match="'seven' is not a scale"):
        check(data, "sipas-service v1", strict=False)


def test_maximum_score_is_derived_once_per_definition(tmp_path):
    quick = load_file(SHIPPED / "counter-quick.yaml")
    sipas = load_file(SHIPPED / "sipas-service.yaml")
    assert (quick.max_score, quick.scale_top) == (3, {"Q1": 3, "Q2": 3})
    assert sipas.max_score == 5
    assert sipas.scale_top == dict.fromkeys((*SIPAS_ITEMS, "OVERALL"), 5)

    def two_scales(d):
        d["scales"]["five"] = load_file(SHIPPED / "sipas-service.yaml").data["scales"]["five"]
        d["sections"][0]["questions"][1]["scale"] = "five"

    mixed = load_file(_write_bad(tmp_path, two_scales))
    assert (mixed.max_score, mixed.scale_top) == (5, {"Q1": 3, "Q2": 5})
    assert mixed.satisfied_min == {"Q1": 2, "Q2": 4}


def test_each_question_says_how_results_summarise_it():
    definition = load_file(SHIPPED / "sipas-service.yaml")
    assert definition.summarised_as("index") == definition.scale_items
    assert definition.summarised_as("counts") == ("gender", "age_band", "occupation")
    assert definition.summarised_as("text") == ("comment",)
