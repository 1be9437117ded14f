"""The channel mix beside an index, and the kiosk's share and flagged share, for evaluators.

A world with known counts in 2026-Q2: test_results' province (40 SIPAS answers per counter and
quarter, every fourth through a receipt link), and at the agency OWN 5 paper forms and 20 taps
on the counter's tablet (the quick questionnaire): 15 count, 3 are flagged, 2 excluded.
"""

import re
from datetime import datetime

import pytest
from test_results import answer_two_quarters

from survey import db
from survey.models import Channel, Counter, Response
from survey.questionnaires.versions import ensure_version
from survey.timeutil import vietnam_day

MAY = datetime(2026, 5, 12, 3)
Q2 = "period=quarter&shown=2026-Q2"


def add(app, counter_id, slug, channel, n, status="valid", flags=None):
    """Store `n` responses at `counter_id` in May 2026."""
    with app.app_context():
        session = db.session()
        definition = app.extensions["questionnaires"][slug]
        version = ensure_version(session, definition)
        agency_id = session.get(Counter, counter_id).agency_id
        for _ in range(n):
            session.add(
                Response(
                    questionnaire_id=version.id,
                    counter_id=counter_id,
                    agency_id=agency_id,
                    submitted_at=MAY,
                    local_day=vietnam_day(MAY),
                    scores="4" * len(definition.scale_items),
                    details={},
                    channel=channel,
                    status=status,
                    flags=flags,
                )
            )
        session.commit()


@pytest.fixture
def world(world, app):
    answer_two_quarters(app, world)
    add(app, world.counter_own, "sipas-service", Channel.IMPORT, 5)
    add(app, world.counter_own, "counter-quick", Channel.KIOSK, 15)
    add(app, world.counter_own, "counter-quick", Channel.KIOSK, 3, "flagged", "counter-burst")
    add(app, world.counter_own, "counter-quick", Channel.KIOSK, 2, "excluded", "kiosk-gap")
    return world


def get(client, url, lang):
    reply = client.get(f"{url}{'&' if '?' in url else '?'}lang={lang}")
    assert reply.status_code == 200
    return reply.get_data(as_text=True)


def cells(html: str, agency: str) -> dict[str, str]:
    """Return {channel: cell text} of the channel table's row of `agency`."""
    row = re.search(rf'<tr data-agency="{re.escape(agency)}">(.*?)</tr>', html, re.S).group(1)
    found = dict(re.findall(r'<td class="num" data-channel="([^"]+)">(.*?)</td>', row))
    found["received"] = re.findall(r'<td class="num">(.*?)</td>', row)[0]
    return found


def mix(html: str) -> dict[str, list[str]]:
    """Return {channel: [received, share, flagged or excluded]} of the agency page's table."""
    rows = re.findall(r'<tr data-channel="([^"]+)">.*?</th>(.*?)</tr>', html, re.S)
    return {c: re.findall(r'<td class="num">(.*?)</td>', tds) for c, tds in rows}


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_overview_shows_each_agencys_channel_mix_and_kiosk_shares(client, world, login, lang):
    login(client, "evaluator@example.vn")
    html = get(client, f"/results/?{Q2}", lang)
    heading = {"vi": "Phiếu đến từ kênh nào", "en": "How the responses came"}[lang]
    assert heading in html
    tablet = {"vi": "Máy tính bảng tại quầy (kiosk)", "en": "Counter tablet (kiosk)"}[lang]
    assert f'<th scope="col" class="num">{tablet}</th>' in html
    # OWN: 30 QR, 10 receipt, 5 paper of the 45 SIPAS responses; 20 kiosk taps of its 65 in all,
    # 5 of them flagged or excluded.
    assert cells(html, "OWN") == {
        "received": "45",
        "qr": "67%",
        "receipt": "22%",
        "staff-link": "—",
        "import": "11%",
        "kiosk": "—",  # the kiosk asks the quick questionnaire, not this one
        "kiosk-all": "31%",
        "kiosk-left-out": "25%",
    }
    assert cells(html, "OTHER") == {
        "received": "40",
        "qr": "75%",
        "receipt": "25%",
        "staff-link": "—",
        "import": "—",
        "kiosk": "—",
        "kiosk-all": "—",
        "kiosk-left-out": "—",
    }
    # Every agency: 125 SIPAS responses (90 QR, 30 receipt, 5 paper); 20 kiosk taps of 145.
    assert cells(html, "*") == {
        "received": "125",
        "qr": "72%",
        "receipt": "24%",
        "staff-link": "—",
        "import": "4%",
        "kiosk": "—",
        "kiosk-all": "14%",
        "kiosk-left-out": "25%",
    }


def test_the_agency_page_shows_the_kiosk_share_and_the_mix_in_vietnamese_first(
    client, world, login
):
    login(client, "evaluator@example.vn")
    html = get(client, f"/results/agency/OWN?{Q2}", "vi")
    assert (
        "Máy tính bảng tại quầy (kiosk): 31% trong 65 phiếu của cơ quan trong kỳ này, của mọi "
        "bộ câu hỏi (20 phiếu); 25% số đó bị gắn cờ hoặc bị loại (5 phiếu)."
    ) in html
    assert mix(html) == {
        "qr": ["30", "67%", "0 (0%)"],
        "receipt": ["10", "22%", "0 (0%)"],
        "staff-link": ["0", "—", "0"],
        "import": ["5", "11%", "0 (0%)"],
        "kiosk": ["0", "—", "0"],
    }
    english = get(client, f"/results/agency/OWN?{Q2}", "en")
    assert (
        "Counter tablet (kiosk): 31% of the agency's 65 responses in this period, to every "
        "questionnaire (20); 25% of them flagged or excluded (5)."
    ) in english
    # The quick questionnaire's page: all of it came through the tablet, a quarter left out.
    quick = get(client, f"/results/agency/OWN?{Q2}&questionnaire=counter-quick", "en")
    assert mix(quick)["kiosk"] == ["20", "100%", "5 (25%)"]
    assert mix(quick)["qr"] == ["0", "—", "0"]
    # An agency without a tablet says so.
    other = get(client, f"/results/agency/OTHER?{Q2}", "en")
    assert "Counter tablet (kiosk): no response in this period." in other


def test_the_channel_filter_names_the_kiosk_and_keeps_only_its_responses(client, world, login):
    login(client, "evaluator@example.vn")
    html = get(client, f"/results/agency/OWN?{Q2}&questionnaire=counter-quick&channel=kiosk", "vi")
    assert re.search(
        r'<input type="checkbox" name="channel" value="kiosk" checked> máy tính bảng tại quầy', html
    )
    assert mix(html)["kiosk"] == ["20", "100%", "5 (25%)"]
    # Only the QR poster: the tablet's responses are filtered out everywhere.
    qr_only = get(client, f"/results/?{Q2}&channel=qr", "en")
    assert cells(qr_only, "OWN")["kiosk-all"] == "—"
    assert cells(qr_only, "OWN")["qr"] == "100%"
