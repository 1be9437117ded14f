"""A demo province: agencies on three levels, 40 counters, a year of synthetic answers.

The answers are drawn from a model with real differences (agency and counter effects, item
difficulty, 5-10% missing answers) so every results page has something true to show.
"""

from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from survey.links import new_token
from survey.models import Agency, Channel, Counter, Response, utcnow
from survey.questionnaires.loading import Definition
from survey.questionnaires.versions import ensure_version
from survey.responses import response_values
from survey.timeutil import VIETNAM, to_utc_naive

# (code, name_vi, name_en, level, parent, counters, agency effect on the latent scale)
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
    (
        "MH-SKHDT",
        "Sở Kế hoạch và Đầu tư tỉnh Minh Hòa",
        "Department of Planning and Investment",
        "department",
        "MH",
        3,
        0.2,
    ),
    (
        "MH-STNMT",
        "Sở Tài nguyên và Môi trường tỉnh Minh Hòa",
        "Department of Natural Resources and Environment",
        "department",
        "MH",
        3,
        -0.5,
    ),
    (
        "MH-SGTVT",
        "Sở Giao thông vận tải tỉnh Minh Hòa",
        "Department of Transport",
        "department",
        "MH",
        3,
        0.0,
    ),
    (
        "MH-SXD",
        "Sở Xây dựng tỉnh Minh Hòa",
        "Department of Construction",
        "department",
        "MH",
        2,
        -0.2,
    ),
    (
        "MH-TPBD",
        "Ủy ban nhân dân thành phố Bình Đông",
        "Binh Dong City People's Committee",
        "district",
        "MH",
        3,
        0.1,
    ),
    (
        "MH-HTL",
        "Ủy ban nhân dân huyện Tân Lập",
        "Tan Lap District People's Committee",
        "district",
        "MH",
        3,
        -0.3,
    ),
    (
        "MH-HSG",
        "Ủy ban nhân dân huyện Sông Gianh",
        "Song Gianh District People's Committee",
        "district",
        "MH",
        3,
        0.4,
    ),
    (
        "MH-TPBD-PAP",
        "Ủy ban nhân dân phường An Phú",
        "An Phu Ward People's Committee",
        "commune",
        "MH-TPBD",
        3,
        0.5,
    ),
    (
        "MH-TPBD-PHT",
        "Ủy ban nhân dân phường Hòa Thuận",
        "Hoa Thuan Ward People's Committee",
        "commune",
        "MH-TPBD",
        2,
        -0.1,
    ),
    (
        "MH-HTL-XDT",
        "Ủy ban nhân dân xã Đông Thạnh",
        "Dong Thanh Commune People's Committee",
        "commune",
        "MH-HTL",
        3,
        0.8,
    ),
    (
        "MH-HTL-XTP",
        "Ủy ban nhân dân xã Tân Phước",
        "Tan Phuoc Commune People's Committee",
        "commune",
        "MH-HTL",
        2,
        -0.6,
    ),
    (
        "MH-HSG-XMT",
        "Ủy ban nhân dân xã Mỹ Thành",
        "My Thanh Commune People's Committee",
        "commune",
        "MH-HSG",
        2,
        0.2,
    ),
    (
        "MH-HSG-XLH",
        "Ủy ban nhân dân xã Long Hưng",
        "Long Hung Commune People's Committee",
        "commune",
        "MH-HSG",
        3,
        0.0,
    ),
]
COUNTER_NAMES = ["Quầy tiếp nhận số 1", "Quầy tiếp nhận số 2", "Quầy trả kết quả"]
# Counters of these agencies use the one-tap form of Decree 61 instead of the full SIPAS form.
QUICK_AGENCIES = {"MH-TPBD-PHT", "MH-HSG-XMT"}


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
    session.execute(insert(Response), rows)
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


def _working_time(rng, now: datetime) -> datetime:
    # Office hours on a weekday in Vietnam, within the last 365 days.
    while True:
        local = (
            now.replace(tzinfo=None)
            + timedelta(hours=7)
            - timedelta(days=int(rng.integers(0, 365)))
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
