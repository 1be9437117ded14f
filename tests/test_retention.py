"""`flask retention`: comments and flag evidence older than the policy are deleted, the answers
kept, the run recorded in the audit log and told in Vietnamese."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from survey import create_app, db
from survey.flags import Flag, encode_flags
from survey.models import AuditEntry, Channel, Counter, Response
from survey.questionnaires.versions import ensure_version
from survey.responses import response_values

NOW = datetime.now(UTC).replace(tzinfo=None)
EVIDENCE = {Flag.TOO_FAST.value: {"seconds": 3.0, "minimum_seconds": 20}}


def add(app, counter_id: int, days_ago: float, comment=None, evidence=None) -> int:
    """Store a response submitted `days_ago` days ago; return its id."""
    with app.app_context():
        session = db.session()
        definition = app.extensions["questionnaires"]["sipas-service"]
        counter = session.get(Counter, counter_id)
        values = response_values(
            definition,
            {key: 4 for key in definition.scale_items},
            channel=Channel.QR,
            questionnaire_id=ensure_version(session, definition).id,
            counter=counter,
            submitted_at=NOW - timedelta(days=days_ago),
            comment=comment,
            flags=[Flag.TOO_FAST] if evidence else None,
            evidence=evidence,
        )
        response = Response(**values)
        session.add(response)
        session.commit()
        return response.id


def stored(app, response_id: int) -> tuple:
    with app.app_context():
        r = db.session().get(Response, response_id)
        return r.comment, r.evidence, r.scores, r.flags


def audit(app) -> list[AuditEntry]:
    with app.app_context():
        return list(db.session().scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_old_comments_and_evidence_go_the_answers_stay(app, runner, make_counter):
    counter = make_counter().id
    old = add(app, counter, 400, comment="Chị Lan ở quầy 3 rất nhiệt tình", evidence=EVIDENCE)
    old_plain = add(app, counter, 500)
    recent = add(app, counter, 10, comment="Chờ lâu", evidence=EVIDENCE)
    before_scores = stored(app, old)[2]

    result = runner.invoke(args=["retention"])
    assert result.exit_code == 0, result.output
    assert "Đã xoá 1 ý kiến và bằng chứng đánh dấu của 1 phiếu" in result.output, result.output
    assert "365 ngày" in result.output and "nhật ký" in result.output

    comment, evidence, scores, flags = stored(app, old)
    assert comment is None and evidence is None
    # The answers and the flag's reason code stay: the indices and the review need them.
    assert scores == before_scores and flags == encode_flags([Flag.TOO_FAST])
    assert stored(app, recent)[:2] == ("Chờ lâu", EVIDENCE)
    assert stored(app, old_plain)[0] is None

    (entry,) = audit(app)
    assert entry.action == "responses.retention" and entry.user_id is None
    assert entry.after["older_than_days"] == 365
    assert entry.after["comments_deleted"] == 1 and entry.after["evidence_deleted"] == 1

    # Again: nothing left to delete, and no empty entry in the audit log.
    again = runner.invoke(args=["retention"])
    assert again.exit_code == 0 and "Không có gì để xoá" in again.output, again.output
    assert len(audit(app)) == 1


def test_older_than_and_dry_run(app, runner, make_counter):
    counter = make_counter().id
    recent = add(app, counter, 10, comment="Chờ lâu", evidence=EVIDENCE)
    dry = runner.invoke(args=["retention", "--older-than", "5", "--dry-run"])
    assert dry.exit_code == 0 and "không xoá gì" in dry.output, dry.output
    assert "1 ý kiến" in dry.output
    assert stored(app, recent)[:2] == ("Chờ lâu", EVIDENCE) and audit(app) == []

    result = runner.invoke(args=["retention", "--older-than", "5"])
    assert result.exit_code == 0, result.output
    assert stored(app, recent)[:2] == (None, None)
    assert audit(app)[0].after["older_than_days"] == 5

    refused = runner.invoke(args=["retention", "--older-than", "0"])
    assert refused.exit_code != 0


def test_the_default_comes_from_the_configuration(app_config, make_counter):
    application = create_app(app_config | {"RETENTION_DAYS": 30})
    try:
        with application.app_context():
            session = db.session()
            counter_id = session.scalar(select(Counter.id))
        if counter_id is None:
            counter_id = make_counter().id
        kept = add(application, counter_id, 20, comment="vẫn giữ")
        gone = add(application, counter_id, 40, comment="đã quá hạn")
        result = application.test_cli_runner().invoke(args=["retention"])
        assert result.exit_code == 0 and "30 ngày" in result.output, result.output
        assert stored(application, kept)[0] == "vẫn giữ"
        assert stored(application, gone)[0] is None
    finally:
        db.dispose_engines(application)
