"""A demo province as it is since 1 July 2025: 15 agencies, 40 counters, a year of answers.

The province, its departments, its public administrative service centre with two branches, and
six commune-level committees (wards, communes, a special zone); no district. The answers are
drawn from a model with real differences (agency and counter effects, item difficulty, 5-10%
missing answers) so every results page has something true to show. Each receipt-link answer has
the link it came through, among other links issued and never answered: the response rates.

One counter, KIOSK_COUNTER (a ward's first counter, on the one-tap quick form), has a tablet at
the counter: a kiosk enrolled three months ago, with the answers tapped on it since, a few of
them flagged (taps too close together, a burst), so the results show the kiosk's share and its
flagged share. `make run` prints a one-time link (`flask kiosks enrol KIOSK_COUNTER`) that makes
the browser that opens it a second kiosk of this counter.
"""

import secrets
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from survey.flags import Flag
from survey.kiosk.answers import QUESTIONNAIRE as KIOSK_QUESTIONNAIRE
from survey.links import new_token
from survey.models import Agency, Channel, Counter, IssuedReceiptLink, Kiosk, Response, utcnow
from survey.permissions import token_digest
from survey.questionnaires.loading import Definition
from survey.questionnaires.versions import ensure_version
from survey.receipt_links import LinkOrigin, dossier_hash, link_days
from survey.responses import response_values
from survey.timeutil import VIETNAM, to_utc_naive

# (code, name_vi, name_en, level, parent, counters, agency effect on the latent scale): the
# province as it is since 1 July 2025, with no district level. The counters and effects are those
# of the demo before the reform, in the same order, so the random draws and the statistical shape
# (agency and counter effects, the quick-form agencies) stay the same.
AGENCIES = [
    (
        "MH",
        "Ủy ban nhân dân tỉnh Minh Hòa",
        "Minh Hoa Provincial People's Committee",
        "province",
        "",
        2,
        0.3,
    ),
    ("MH-STP", "Sở Tư pháp tỉnh Minh Hòa", "Department of Justice", "department", "MH", 3, 0.6),
    ("MH-STC", "Sở Tài chính tỉnh Minh Hòa", "Department of Finance", "department", "MH", 3, 0.2),
    (
        "MH-SNNMT",
        "Sở Nông nghiệp và Môi trường tỉnh Minh Hòa",
        "Department of Agriculture and Environment",
        "department",
        "MH",
        3,
        -0.5,
    ),
    (
        "MH-SXD",
        "Sở Xây dựng tỉnh Minh Hòa",
        "Department of Construction",
        "department",
        "MH",
        3,
        0.0,
    ),
    (
        "MH-SCT",
        "Sở Công Thương tỉnh Minh Hòa",
        "Department of Industry and Trade",
        "department",
        "MH",
        2,
        -0.2,
    ),
    (
        "MH-TTHCC",
        "Trung tâm Phục vụ hành chính công tỉnh Minh Hòa",
        "Minh Hoa Public Administrative Service Centre",
        "centre",
        "MH",
        3,
        0.1,
    ),
    (
        "MH-TTHCC-BD",
        "Chi nhánh Trung tâm Phục vụ hành chính công tỉnh Minh Hòa tại Bình Đông",
        "Public Administrative Service Centre, Binh Dong branch",
        "branch",
        "MH-TTHCC",
        3,
        -0.3,
    ),
    (
        "MH-TTHCC-SG",
        "Chi nhánh Trung tâm Phục vụ hành chính công tỉnh Minh Hòa tại Sông Gianh",
        "Public Administrative Service Centre, Song Gianh branch",
        "branch",
        "MH-TTHCC",
        3,
        0.4,
    ),
    (
        "MH-PAP",
        "Ủy ban nhân dân phường An Phú",
        "An Phu Ward People's Committee",
        "commune",
        "MH",
        3,
        0.5,
    ),
    (
        "MH-PHT",
        "Ủy ban nhân dân phường Hòa Thuận",
        "Hoa Thuan Ward People's Committee",
        "commune",
        "MH",
        2,
        -0.1,
    ),
    (
        "MH-XDT",
        "Ủy ban nhân dân xã Đông Thạnh",
        "Dong Thanh Commune People's Committee",
        "commune",
        "MH",
        3,
        0.8,
    ),
    (
        "MH-XTP",
        "Ủy ban nhân dân xã Tân Phước",
        "Tan Phuoc Commune People's Committee",
        "commune",
        "MH",
        2,
        -0.6,
    ),
    (
        "MH-DKHN",
        "Ủy ban nhân dân đặc khu Hòn Ngọc",
        "Hon Ngoc Special Zone People's Committee",
        "commune",
        "MH",
        2,
        0.2,
    ),
    (
        "MH-XLH",
        "Ủy ban nhân dân xã Long Hưng",
        "Long Hung Commune People's Committee",
        "commune",
        "MH",
        3,
        0.0,
    ),
]
COUNTER_NAMES = ["Quầy tiếp nhận số 1", "Quầy tiếp nhận số 2", "Quầy trả kết quả"]
# Counters of these agencies use the one-tap form of Decree 61 instead of the full SIPAS form.
QUICK_AGENCIES = {"MH-PHT", "MH-DKHN"}
# The counter with a tablet (kiosk) beside the clerk; the kiosk asks the quick form.
KIOSK_COUNTER = "MH-PHT-Q1"
KIOSK_NAME = "Máy tính bảng tại quầy (demo)"
KIOSK_DAYS = 90


def demo_loaded(session: Session) -> bool:
    """Tell whether the demo province is already in the database."""
    return session.scalar(select(func.count()).select_from(Agency).where(Agency.code == "MH")) > 0


def load_demo(session: Session, questionnaires: dict[str, Definition], seed: int = 2026) -> int:
    """Load the demo province and a year of answers; return how many responses were made."""
    rng = np.random.default_rng(seed)
    by_code: dict[str, Agency] = {}
    counters: list[tuple[Counter, float]] = []
    for code, name_vi, name_en, level, parent, n_counters, effect in AGENCIES:
        agency = Agency(
            code=code, name_vi=name_vi, name_en=name_en, level=level, parent=by_code.get(parent)
        )
        session.add(agency)
        by_code[code] = agency
        slug = "counter-quick" if code in QUICK_AGENCIES else "sipas-service"
        for i in range(n_counters):
            counter = Counter(
                code=f"{code}-Q{i + 1}",
                agency=agency,
                name=COUNTER_NAMES[i],
                token=new_token(),
                questionnaire_slug=slug,
                active=True,
            )
            session.add(counter)
            counters.append((counter, effect + rng.normal(0, 0.35)))
    session.flush()
    versions = {slug: ensure_version(session, d).id for slug, d in questionnaires.items()}
    now = utcnow()
    rows = []
    for counter, effect in counters:
        definition = questionnaires[counter.questionnaire_slug]
        n = int(rng.integers(250, 480))
        rows += _answers(rng, counter, definition, versions[definition.slug], effect, n, now)
    # A generator of its own, so that the answers above stay the ones drawn before links existed.
    links = _receipt_links(np.random.default_rng(seed + 1), rows, now, link_days())
    # And one for the kiosk, for the same reason.
    kiosk_counter = next(c for c, _effect in counters if c.code == KIOSK_COUNTER)
    kiosk_counter.name = f"{kiosk_counter.name} (có máy tính bảng)"
    definition = questionnaires[KIOSK_QUESTIONNAIRE]
    rows += _kiosk_answers(
        np.random.default_rng(seed + 2),
        session,
        kiosk_counter,
        definition,
        versions[definition.slug],
        now,
    )
    session.execute(insert(Response), rows)
    session.execute(insert(IssuedReceiptLink), links)
    session.commit()
    return len(rows)


def _answers(rng, counter, definition, version_id, effect, n, now) -> list[dict]:
    items = definition.scale_items
    latent = effect + rng.normal(0, 1.0, n)
    difficulty = rng.normal(0, 0.4, len(items))
    top = [definition.scale_top[k] for k in items]
    missing_rate = rng.uniform(0.05, 0.10)
    rows = []
    for i in range(n):
        values = {}
        for k, key in enumerate(items):
            noisy = latent[i] - difficulty[k] + rng.normal(0, 0.8)
            if top[k] == 5:
                value = int(np.digitize(noisy, [-2.2, -1.2, -0.4, 1.0])) + 1
            else:
                value = int(np.digitize(noisy, [-1.3, 0.9])) + 1
            optional = not definition.questions[key].get("required", True)
            # Element E (feedback) is often not applicable: most citizens never complained.
            rate = missing_rate * (3 if key.startswith("E") else 1) * (4 if optional else 1)
            values[key] = None if rng.random() < rate else value
        moment = _working_time(rng, now)
        rows.append(
            response_values(
                definition,
                values,
                # The same draws, in the same order, as before: the demo province stays the same.
                locale="vi" if rng.random() < 0.93 else "en",
                channel=Channel.QR if rng.random() < 0.8 else Channel.RECEIPT,
                details=_details(rng),
                questionnaire_id=version_id,
                counter=counter,
                submitted_at=moment,
            )
        )
    return rows


def _kiosk_answers(rng, session, counter, definition, version_id, now) -> list[dict]:
    """Return the answers tapped on the demo counter's tablet in its KIOSK_DAYS, storing the
    kiosk itself (its credential is thrown away: only a new enrolment opens a kiosk)."""
    kiosk = Kiosk(
        counter=counter,
        name=KIOSK_NAME,
        credential_hash=token_digest(secrets.token_urlsafe(32)),
        enrolled_at=now - timedelta(days=KIOSK_DAYS),
        last_seen_at=now,
    )
    session.add(kiosk)
    session.flush()
    rows = []
    drawn = [_working_time(rng, now, KIOSK_DAYS) for _ in range(int(rng.integers(150, 220)))]
    moments = sorted(m for m in drawn if m > kiosk.enrolled_at)
    for i, moment in enumerate(moments):
        values = {
            key: int(np.digitize(rng.normal(0.4, 1.0), [-1.1, 0.6])) + 1
            for key in definition.scale_items
        }
        flags = []
        # A few taps too close after the one before, and a clerk's burst now and then.
        if rng.random() < 0.05:
            flags = [Flag.KIOSK_GAP]
        elif rng.random() < 0.03:
            flags = [Flag.COUNTER_BURST]
        row = response_values(
            definition,
            values,
            channel=Channel.KIOSK,
            questionnaire_id=version_id,
            counter=counter,
            submitted_at=moment,
            flags=flags,
            evidence={flags[0]: {"demo": True}} if flags else None,
        )
        rows.append(
            row
            | {
                "kiosk_id": kiosk.id,
                "device_response_id": f"demo-{i:06d}",
                # Most sent at once; some queued while the ward's network was down.
                # Some sent late (offline for a while), never after now.
                "received_at": min(now, moment + timedelta(minutes=int(rng.choice([0, 0, 0, 45])))),
            }
        )
    kiosk.last_tap_at = moments[-1] if moments else None
    return rows


def _receipt_links(rng, rows: list[dict], now: datetime, days: int) -> list[dict]:
    """Tie each receipt-link answer in `rows` to a dossier and its link, and add the links that
    were issued and never answered: each counter's response rate is drawn between 25 and 75%."""
    by_counter: dict[tuple[int, int], list[dict]] = {}
    for row in rows:
        if row["channel"] == Channel.RECEIPT:
            by_counter.setdefault((row["counter_id"], row["agency_id"]), []).append(row)
    links = []
    for (counter_id, agency_id), answered in by_counter.items():
        never = round(len(answered) / rng.uniform(0.25, 0.75)) - len(answered)
        # A citizen answers within two days of the link, during office hours or not.
        issued = [
            r["submitted_at"] - timedelta(minutes=int(rng.integers(5, 2880))) for r in answered
        ]
        issued += [_working_time(rng, now) for _ in range(never)]
        for i, moment in enumerate(issued):
            hashed = dossier_hash(f"DEMO-{counter_id}-{i}")
            if i < len(answered):
                answered[i]["dossier_hash"] = hashed
            links.append(
                {
                    "counter_id": counter_id,
                    "agency_id": agency_id,
                    "dossier_hash": hashed,
                    "origin": LinkOrigin.API.stored,
                    "issued_at": moment,
                    "expires_at": moment + timedelta(days=days),
                }
            )
    return links


def _working_time(rng, now: datetime, days: int = 365) -> datetime:
    # Office hours on a weekday in Vietnam, within the last `days` days.
    while True:
        local = (
            now.replace(tzinfo=None)
            + timedelta(hours=7)
            - timedelta(days=int(rng.integers(0, days)))
        )
        if local.weekday() < 5:
            break
    minutes = int(rng.integers(7 * 60 + 30, 17 * 60))
    local = local.replace(hour=minutes // 60, minute=minutes % 60, second=0, microsecond=0)
    moment = to_utc_naive(local.replace(tzinfo=VIETNAM))
    return min(moment, now)


def _details(rng) -> dict:
    if rng.random() < 0.4:
        return {}
    return {
        "gender": str(rng.choice(["female", "male"])),
        "age_band": str(
            rng.choice(["18-24", "25-34", "35-49", "50-60", "60+"], p=[0.1, 0.3, 0.35, 0.15, 0.1])
        ),
    }
