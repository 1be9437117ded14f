"""One results request for the pages, the downloads, the API and `flask indices`: the same bad
filter gets the same clear error, naming it, on each; the same good filters give equal requests."""

import html
from datetime import date

import pytest
from werkzeug.datastructures import MultiDict

from survey.cli.indices import indices_command, request_from_options
from survey.results.filters import ResultsRequest, parse_filters

TOKEN = "evaluator-api-token-0123456789"

# (parameter, URL query, command options, English message, Vietnamese message)
BAD = [
    (
        "from",
        "from=2026-05-01&to=2026-01-01",
        ["--from", "2026-05-01", "--to", "2026-01-01"],
        "The start date (from, 2026-05-01) is after the end date (to, 2026-01-01).",
        "Ngày bắt đầu (from, 2026-05-01) sau ngày kết thúc (to, 2026-01-01).",
    ),
    (
        "period",
        "period=bogus",
        ["--period", "bogus"],
        "Unknown period: bogus (month, quarter, year or all)",
        "Kỳ không hợp lệ: bogus",
    ),
    (
        "confidence",
        "confidence=2",
        ["--confidence", "2"],
        "The confidence level must be at least 0.5 and below 1.",
        "Độ tin cậy phải từ 0.5 đến dưới 1.",
    ),
    (
        "confidence",
        "confidence=high",
        ["--confidence", "high"],
        "The confidence level must be a number such as 0.95.",
        "Độ tin cậy phải là một số, ví dụ 0.95.",
    ),
    (
        "design",
        "design=magic",
        ["--design", "magic"],
        "Unknown design: magic",
        "Thiết kế mẫu không hợp lệ: magic",
    ),
    (
        "questionnaire",
        "questionnaire=nope",
        ["--questionnaire", "nope"],
        "Unknown questionnaire: nope (known: counter-quick, sipas-service)",
        "Không có phiếu khảo sát: nope",
    ),
    (
        "from",
        "from=31/12/2026",
        ["--from", "31/12/2026"],
        "from: '31/12/2026' is not a date (YYYY-MM-DD)",
        "from: '31/12/2026' không phải là ngày (YYYY-MM-DD)",
    ),
    (
        "to",
        "to=2026-13-01",
        ["--to", "2026-13-01"],
        "to: '2026-13-01' is not a date (YYYY-MM-DD)",
        "to: '2026-13-01' không phải là ngày (YYYY-MM-DD)",
    ),
]
IDS = [b[1] for b in BAD]


@pytest.fixture
def api_client(app, make_token):
    make_token("evaluator-api@example.vn", role="evaluator", plain=TOKEN)
    return app.test_client()


@pytest.mark.parametrize("param, query, _options, english, _vietnamese", BAD, ids=IDS)
def test_results_page_says_which_filter_is_wrong(
    client, world, login, param, query, _options, english, _vietnamese
):
    login(client, "evaluator@example.vn")
    for path in ("/results/", "/results/download.csv", f"/results/agency/{world.own}"):
        reply = client.get(f"{path}?{query}&lang=en")
        text = html.unescape(reply.get_data(as_text=True))
        assert reply.status_code == 400, path
        assert f"The filter {param} is wrong: {english}" in text
        assert "cookies are blocked" not in text


def test_results_page_says_it_in_vietnamese(client, world, login):
    login(client, "evaluator@example.vn")
    text = html.unescape(client.get("/results/?period=bogus&lang=vi").get_data(as_text=True))
    assert "Bộ lọc period không đúng: Kỳ không hợp lệ: bogus" in text


@pytest.mark.parametrize("_param, query, _options, english, vietnamese", BAD, ids=IDS)
def test_api_says_which_filter_is_wrong_as_json(
    api_client, _param, query, _options, english, vietnamese
):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    reply = api_client.get(f"/api/v1/indices?{query}", headers=auth | {"Accept-Language": "en"})
    assert reply.status_code == 400
    assert reply.get_json() == {"error": "bad-filter", "message": english}
    # Vietnamese unless the call asks for English.
    reply = api_client.get(f"/api/v1/indices?{query}", headers=auth)
    assert reply.get_json()["error"] == "bad-filter"
    assert reply.get_json()["message"].startswith(vietnamese)


@pytest.mark.parametrize("param, _query, options, _english, vietnamese", BAD, ids=IDS)
def test_command_gives_a_usage_error_naming_the_option(
    runner, param, _query, options, _english, vietnamese
):
    result = runner.invoke(args=["indices", *options])
    assert result.exit_code == 2
    assert f"Invalid value for --{param}: {vietnamese}" in result.output


def cli_request(app, args: list[str]) -> ResultsRequest:
    """Return the request `flask indices` makes of `args`, through its own option parsing."""
    context = indices_command.make_context("indices", args)
    options = {k: v for k, v in context.params.items() if k not in ("fmt", "output")}
    return request_from_options(app.extensions["questionnaires"], **options)


def test_the_url_and_the_command_give_equal_requests(app):
    url = MultiDict(
        {
            "questionnaire": "counter-quick",
            "design": "cluster",
            "from": "2026-01-01",
            "to": "2026-03-31",
            "period": "month",
            "confidence": "0.9",
        }
    )
    args = ["--questionnaire", "counter-quick", "--design", "cluster", "--from", "2026-01-01"]
    args += ["--to", "2026-03-31", "--period", "month", "--confidence", "0.9"]
    with app.test_request_context():
        from_url = parse_filters(url, app.extensions["questionnaires"])
        from_command = cli_request(app, args)
    assert (
        from_url
        == from_command
        == ResultsRequest(
            questionnaire="counter-quick",
            design="cluster",
            date_from=date(2026, 1, 1),
            date_to=date(2026, 3, 31),
            period="month",
            confidence=0.9,
        )
    )
    # Only the command has these two.
    assert cli_request(app, [*args, "--include-flagged"]).include_flagged


def test_defaults_differ_only_in_the_period(app):
    with app.test_request_context():
        from_url = parse_filters(MultiDict(), app.extensions["questionnaires"])
        whole = parse_filters(MultiDict({"period": "all"}), app.extensions["questionnaires"])
        from_command = cli_request(app, [])
    # The pages open on quarters; the command computes one period unless asked.
    assert from_url == ResultsRequest(period="quarter")
    assert whole == from_command == ResultsRequest()
