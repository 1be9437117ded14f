"""The citizen's form: rendering, validation, CSRF, the one-time nonce, tokens and languages."""

import re

import pytest
from helpers import full_answers, hidden_fields
from sqlalchemy import func, select

from survey import db
from survey.console.operations import rotate_token, set_counter_active, update_counter
from survey.models import Channel, Counter, ReplacedToken, Response


def count_responses(app) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(Response))


def open_form(client, token, lang=None):
    response = client.get(f"/s/{token}" + (f"?lang={lang}" if lang else ""))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return html, hidden_fields(html)


def test_form_is_vietnamese_by_default_and_lists_every_criterion(client, make_counter):
    counter = make_counter()
    html, hidden = open_form(client, counter.token)
    assert '<html lang="vi">' in html
    assert "Nơi tiếp nhận và trả kết quả có biển chỉ dẫn rõ ràng, dễ tìm" in html
    assert "Không áp dụng / không trả lời" in html
    for key in full_answers():
        assert f'name="{key}"' in html
    assert hidden["csrf_token"] and hidden["nonce"]


def test_form_has_no_third_party_requests_and_is_light(client, make_counter):
    counter = make_counter()
    html, _ = open_form(client, counter.token)
    with client.get("/static/site.css") as reply:
        css = reply.get_data()
    assert "http://" not in html.replace("http://survey.test", "")
    assert "https://" not in html
    assert b"http" not in css and b"@import" not in css
    assert len(html.encode()) + len(css) < 30 * 1024


def test_valid_submission_is_stored_with_counter_agency_and_utc_time(app, client, make_counter):
    counter = make_counter()
    _, hidden = open_form(client, counter.token)
    answers = full_answers("5") | {"E2": "0", "E3": "0", "gender": "female", "comment": "Tốt"}
    reply = client.post(f"/s/{counter.token}", data=hidden | answers)
    assert reply.status_code == 303
    assert reply.headers["Location"].endswith(f"/s/{counter.token}/thanks")
    with app.app_context():
        stored = db.session().scalars(select(Response)).one()
        assert stored.counter_id == counter.id and stored.agency_id == counter.agency_id
        assert stored.channel == Channel.QR and stored.status == "valid" and stored.locale == "vi"
        assert stored.scores == "5" * 14 + "00" + "0"  # E2, E3 not applicable; OVERALL skipped
        assert stored.details == {"gender": "female"} and stored.comment == "Tốt"
        assert stored.nonce and stored.dossier_hash is None
    thanks = client.get(reply.headers["Location"]).get_data(as_text=True)
    assert "Cảm ơn" in thanks


def test_double_submit_stores_one_response(app, client, make_counter):
    counter = make_counter()
    _, hidden = open_form(client, counter.token)
    first = client.post(f"/s/{counter.token}", data=hidden | full_answers())
    second = client.post(f"/s/{counter.token}", data=hidden | full_answers("1"))
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert count_responses(app) == 1
    # A fresh form is a new evaluation.
    _, hidden = open_form(client, counter.token)
    client.post(f"/s/{counter.token}", data=hidden | full_answers())
    assert count_responses(app) == 2


def test_missing_answer_keeps_every_answer_and_says_what_is_wrong(app, client, make_counter):
    counter = make_counter()
    _, hidden = open_form(client, counter.token)
    answers = full_answers("2")
    del answers["C2"]
    answers["comment"] = "Chờ lâu"
    reply = client.post(f"/s/{counter.token}", data=hidden | answers)
    html = reply.get_data(as_text=True)
    assert reply.status_code == 422
    assert 'id="e-C2">Vui lòng chọn một câu trả lời cho câu hỏi này.' in html
    assert "Một số câu trả lời cần được bổ sung. Vui lòng xem bên dưới." in html
    # The summary at the top links to the one question that needs an answer, by its text.
    assert html.count('href="#q-') == 1
    assert re.search(r'<a href="#q-C2">[^<]+</a>', html)
    assert html.count(' value="2" checked') == 15
    assert "Chờ lâu" in html
    assert count_responses(app) == 0


def test_out_of_range_value_is_refused_in_english_when_chosen(app, client, make_counter):
    counter = make_counter()
    _, hidden = open_form(client, counter.token, lang="en")
    reply = client.post(f"/s/{counter.token}", data=hidden | full_answers() | {"A1": "7"})
    html = reply.get_data(as_text=True)
    assert reply.status_code == 422
    assert '<html lang="en">' in html
    assert 'id="e-A1">This answer is not one of the choices. Please choose again.' in html
    assert "Some answers need your attention. Please see below." in html
    assert count_responses(app) == 0


def test_comment_longer_than_limit_is_refused(app, client, make_counter):
    counter = make_counter()
    _, hidden = open_form(client, counter.token)
    reply = client.post(
        f"/s/{counter.token}", data=hidden | full_answers() | {"comment": "x" * 1001}
    )
    assert reply.status_code == 422
    assert 'id="e-comment"' in reply.get_data(as_text=True)
    assert 'href="#q-comment"' in reply.get_data(as_text=True)
    assert count_responses(app) == 0


def test_optional_choices_may_be_blank_but_not_made_up(app, client, make_counter):
    counter = make_counter()
    _, hidden = open_form(client, counter.token)
    refused = client.post(
        f"/s/{counter.token}", data=hidden | full_answers() | {"gender": "robot", "age_band": ""}
    )
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'id="e-gender">Câu trả lời này không nằm trong các lựa chọn' in html
    assert 'id="e-age_band"' not in html
    assert count_responses(app) == 0
    _, hidden = open_form(client, counter.token)
    stored = client.post(f"/s/{counter.token}", data=hidden | full_answers() | {"gender": "female"})
    assert stored.status_code == 303
    assert count_responses(app) == 1


def test_post_without_csrf_token_is_refused(app, client, make_counter):
    counter = make_counter()
    _, hidden = open_form(client, counter.token)
    reply = client.post(f"/s/{counter.token}", data={"nonce": hidden["nonce"]} | full_answers())
    assert reply.status_code == 400
    assert count_responses(app) == 0


def test_forged_nonce_is_not_stored_and_answers_are_kept(app, client, make_counter):
    counter = make_counter()
    other = make_counter()
    _, hidden = open_form(client, counter.token)
    _, other_hidden = open_form(client, other.token)
    for bad in ("made-up", other_hidden["nonce"]):
        reply = client.post(f"/s/{counter.token}", data=hidden | {"nonce": bad} | full_answers("3"))
        html = reply.get_data(as_text=True)
        assert reply.status_code == 422
        assert "Phiếu đã hết hạn" in html
        assert html.count(' value="3" checked') == 16
    assert count_responses(app) == 0


def test_form_opened_before_its_poster_was_retired_or_replaced_is_not_stored(
    app, client, make_counter
):
    retired, replaced = make_counter(), make_counter()
    _, retired_hidden = open_form(client, retired.token)
    _, replaced_hidden = open_form(client, replaced.token)
    with app.app_context():
        session = db.session()
        set_counter_active(session, None, session.get(Counter, retired.id), False)
        rotate_token(session, None, session.get(Counter, replaced.id))
    reply = client.post(f"/s/{retired.token}", data=retired_hidden | full_answers())
    assert reply.status_code == 404
    reply = client.post(f"/s/{replaced.token}", data=replaced_hidden | full_answers())
    assert reply.status_code == 410
    assert "Áp phích này đã được thay thế" in reply.get_data(as_text=True)
    assert count_responses(app) == 0


def test_answers_are_stored_for_the_questionnaire_the_citizen_saw(
    app, client, make_counter, make_agency
):
    counter = make_counter()
    _, hidden = open_form(client, counter.token)
    new_agency = make_agency(code="AG-NEW")
    with app.app_context():
        session = db.session()
        moved = session.get(Counter, counter.id)
        update_counter(session, None, moved, moved.name, "counter-quick")
        moved.agency_id = new_agency.id
        session.commit()
    # A missing answer re-renders the questionnaire being answered, not the counter's new one.
    incomplete = full_answers("5")
    del incomplete["E3"]
    reply = client.post(f"/s/{counter.token}", data=hidden | incomplete)
    assert reply.status_code == 422
    html = reply.get_data(as_text=True)
    assert 'id="e-E3"' in html and 'name="Q1"' not in html
    assert hidden_fields(html)["nonce"] == hidden["nonce"]
    reply = client.post(f"/s/{counter.token}", data=hidden | full_answers("5"))
    assert reply.status_code == 303
    with app.app_context():
        response = db.session().scalars(select(Response)).one()
        assert response.questionnaire.slug == "sipas-service"
        assert response.scores.startswith("5" * 16)
        # The response belongs to the counter's agency at the time it was sent.
        assert response.agency_id == new_agency.id


def test_quick_form_has_three_levels_and_no_not_applicable(app, client, make_counter):
    counter = make_counter(questionnaire="counter-quick")
    html, hidden = open_form(client, counter.token)
    assert "Mức độ thuận tiện khi giải quyết hồ sơ" in html
    assert "Không áp dụng" not in html
    assert (
        client.post(f"/s/{counter.token}", data=hidden | {"Q1": "0", "Q2": "3"}).status_code == 422
    )
    assert (
        client.post(f"/s/{counter.token}", data=hidden | {"Q1": "1", "Q2": "3"}).status_code == 303
    )
    with app.app_context():
        assert db.session().scalars(select(Response.scores)).one() == "13"


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_unknown_token_gives_a_404_saying_the_code_is_not_valid(client, lang):
    reply = client.get(f"/s/nosuchcode?lang={lang}")
    assert reply.status_code == 404
    expected = {
        "vi": "Mã khảo sát này không còn hiệu lực",
        "en": "This survey code is no longer valid",
    }
    assert expected[lang] in reply.get_data(as_text=True)


def test_retired_counter_gives_404_and_refuses_posts(app, client, make_counter):
    counter = make_counter(active=False)
    _, hidden = open_form(client, make_counter().token)  # a genuine CSRF token of this session
    assert client.get(f"/s/{counter.token}").status_code == 404
    assert client.post(f"/s/{counter.token}", data=hidden | full_answers()).status_code == 404
    assert count_responses(app) == 0


def test_replaced_token_says_scan_the_new_poster(app, client, make_counter):
    counter = make_counter()
    with app.app_context():
        db.session().add(ReplacedToken(token="oldposter1", counter_id=counter.id))
        db.session().commit()
    reply = client.get("/s/oldposter1")
    assert reply.status_code == 410
    assert "Áp phích này đã được thay thế" in reply.get_data(as_text=True)


def test_language_switch_is_remembered_in_the_session(client, make_counter):
    counter = make_counter()
    html, _ = open_form(client, counter.token, lang="en")
    assert "Clear signs and directions to the counter" in html
    assert 'href="?lang=vi"' in html
    html, _ = open_form(client, counter.token)
    assert '<html lang="en">' in html
    html, _ = open_form(client, counter.token, lang="vi")
    assert '<html lang="vi">' in html


def test_labels_wrap_inputs_and_questions_are_fieldsets(client, make_counter):
    counter = make_counter()
    html, _ = open_form(client, counter.token)
    assert html.count("<fieldset") == 16 + 1 + 3 + 1
    assert html.count("<legend>") == html.count("<fieldset")
    assert html.count('<label><input type="radio"') + html.count('<label class="na"><input') == (
        html.count('type="radio"')
    )


def test_submissions_are_rate_limited_per_counter_and_keep_the_answers(
    app_config, make_counter, make_agency
):
    from survey import create_app

    counter = make_counter()
    other = make_counter(agency=make_agency(code="SO-YT", name_vi="Sở Y tế"))
    app_config |= {"RATELIMIT_ENABLED": True, "SUBMIT_RATE_LIMIT": "3 per minute"}
    limited = create_app(app_config)
    client = limited.test_client()
    codes = []
    for _ in range(5):
        _, hidden = open_form(client, counter.token)
        codes.append(client.post(f"/s/{counter.token}", data=hidden | full_answers()).status_code)
    assert codes == [303, 303, 303, 429, 429]
    _, hidden = open_form(client, counter.token)
    held = client.post(f"/s/{counter.token}", data=hidden | full_answers("5"))
    html = held.get_data(as_text=True)
    # The form again, every answer kept, the same nonce, and a word to send again in a moment.
    assert held.status_code == 429 and "xin chờ một lát rồi bấm Gửi lại" in html
    assert 'name="A1" value="5" checked' in html and 'name="E3" value="5" checked' in html
    assert hidden_fields(html)["nonce"] == hidden["nonce"]
    # The same address at another counter (a centre's Wi-Fi) is not held back.
    _, hidden = open_form(client, other.token)
    assert client.post(f"/s/{other.token}", data=hidden | full_answers()).status_code == 303
    assert count_responses(limited) == 4
    db.dispose_engines(limited)


def test_submissions_are_counted_before_the_csrf_check(app_config, make_counter):
    from survey import create_app

    counter = make_counter()
    app_config |= {"RATELIMIT_ENABLED": True, "SUBMIT_RATE_LIMIT": "2 per minute"}
    limited = create_app(app_config)
    client = limited.test_client()
    # A flood without CSRF tokens is refused by the limit, not checked token by token.
    codes = [client.post(f"/s/{counter.token}", data=full_answers()).status_code for _ in range(4)]
    assert codes == [400, 400, 429, 429]
    assert count_responses(limited) == 0
    db.dispose_engines(limited)


def test_each_form_gets_its_own_nonce_and_token_and_a_renamed_counter_shows_at_once(
    app, make_counter
):
    counter = make_counter()
    first, second = app.test_client(), app.test_client()
    one = hidden_fields(open_form(first, counter.token)[0])
    two = hidden_fields(open_form(second, counter.token)[0])
    again = hidden_fields(open_form(first, counter.token)[0])
    # The blank page is kept, but no citizen ever gets another's nonce or CSRF token.
    assert len({one["nonce"], two["nonce"], again["nonce"]}) == 3
    assert one["csrf_token"] != two["csrf_token"]
    for fields in (one, two):
        assert "nonce-" not in fields["nonce"] and "csrf-" not in fields["csrf_token"]
    assert first.post(f"/s/{counter.token}", data=again | full_answers()).status_code == 303
    with app.app_context():
        session = db.session()
        update_counter(session, None, session.get(Counter, counter.id), "Quầy mới", "sipas-service")
    html, _ = open_form(second, counter.token)
    assert "Quầy mới" in html
    english, _ = open_form(second, counter.token, lang="en")
    assert "Send my answers" in english and "Quầy mới" in english


def test_the_form_page_is_never_held_back_and_no_default_limit_is_skipped(app_config, make_counter):
    from survey import create_app
    from survey.citizen.rate_limits import UNLIMITED_PAGES
    from survey.extensions import limiter

    counter = make_counter()
    app_config |= {"RATELIMIT_ENABLED": True, "SUBMIT_RATE_LIMIT": "2 per minute"}
    limited = create_app(app_config)
    client = limited.test_client()
    # The form page passes Flask-Limiter by: right only while no limit could apply to it, as
    # Flask-Limiter itself resolves them (the view's, its blueprint's, the defaults).
    assert limiter.limit_manager.application_limits == []
    for endpoint in UNLIMITED_PAGES:
        blueprint = endpoint.partition(".")[0]
        assert limiter.limit_manager.resolve_limits(limited, endpoint, blueprint) == ([], [])
    # A centre's Wi-Fi opens many forms at one counter: none is held back, the sends are.
    assert {client.get(f"/s/{counter.token}").status_code for _ in range(10)} == {200}
    codes = []
    for _ in range(3):
        _, hidden = open_form(client, counter.token)
        codes.append(client.post(f"/s/{counter.token}", data=hidden | full_answers()).status_code)
    assert codes == [303, 303, 429]
    db.dispose_engines(limited)
