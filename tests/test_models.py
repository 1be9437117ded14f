"""The data model: agency tree, questionnaire versions, responses and their constraints."""

import sqlite3
from dataclasses import replace
from datetime import datetime

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from survey import db
from survey.models import Agency, Channel, Questionnaire, Response, ResponseStatus
from survey.questionnaires.versions import ensure_version
from survey.responses import response_values


def test_agency_tree_and_names(app, make_agency):
    province = make_agency(code="KG", name_vi="Tỉnh Kiên Giang", level="province")
    district = make_agency(
        code="KG-RG", name_vi="UBND thành phố Rạch Giá", level="district", parent=province
    )
    make_agency(code="KG-RG-VT", name_vi="UBND phường Vĩnh Thanh", level="commune", parent=district)
    with app.app_context():
        root = db.session().scalar(select(Agency).where(Agency.code == "KG"))
        assert [c.code for c in root.children] == ["KG-RG"]
        assert [c.code for c in root.children[0].children] == ["KG-RG-VT"]
        assert root.children[0].children[0].parent.parent.code == "KG"
        assert root.name("vi") == "Tỉnh Kiên Giang" and root.name("en") == "KG (en)"


def test_edited_questionnaire_becomes_a_new_version_and_the_old_one_stays(app):
    with app.app_context():
        session = db.session()
        definition = app.extensions["questionnaires"]["counter-quick"]
        first = ensure_version(session, definition)
        assert ensure_version(session, definition).id == first.id
        edited = replace(
            definition,
            content_hash="0" * 64,
            data={**definition.data, "title": {"vi": "Mới", "en": "New"}},
        )
        second = ensure_version(session, edited)
        assert (first.version, second.version) == (1, 2)
        rows = session.scalars(select(Questionnaire).order_by(Questionnaire.version)).all()
        assert [r.definition["title"]["vi"] for r in rows] == [
            "Đánh giá nhanh việc giải quyết hồ sơ",
            "Mới",
        ]


def test_stored_time_is_utc_and_grouping_day_is_vietnam_time(app, make_counter):
    counter = make_counter()
    with app.app_context():
        session = db.session()
        definition = app.extensions["questionnaires"]["sipas-service"]
        version = ensure_version(session, definition)
        # 20:30 UTC on 31 March is 03:30 on 1 April in Vietnam.
        values = response_values(
            definition,
            {"A1": 5, "B2": 3},
            channel=Channel.IMPORT,
            questionnaire_id=version.id,
            counter=counter,
            submitted_at=datetime(2026, 3, 31, 20, 30),
        )
        session.execute(insert(Response), [values])
        session.commit()
        response = session.scalars(select(Response)).one()
        assert response.submitted_at == datetime(2026, 3, 31, 20, 30)
        assert response.local_day == 20260401
        # One digit per scale item in file order (A1 ... E3, OVERALL), "0" for no answer.
        assert response.scores == "50003" + "0" * 12
        assert response.status == ResponseStatus.VALID and response.weight == 1.0
        assert (response.counter_id, response.agency_id) == (counter.id, counter.agency_id)


def test_database_refuses_duplicate_nonce_and_bad_weight(app, make_counter):
    counter = make_counter()
    with app.app_context():
        session = db.session()
        version = ensure_version(session, app.extensions["questionnaires"]["counter-quick"])

        def row(**extra):
            return Response(
                questionnaire_id=version.id,
                counter_id=counter.id,
                agency_id=counter.agency_id,
                local_day=20260101,
                scores="22",
                details={},
                **extra,
            )

        session.add_all([row(nonce="x"), row(nonce="x")])
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()
        session.add(row(weight=0.0))
        with pytest.raises(IntegrityError):
            session.commit()


def _driver_autocommit(connection) -> bool:
    driver = connection.connection.driver_connection
    return (
        driver.isolation_level is None
        if isinstance(driver, sqlite3.Connection)
        else driver.autocommit
    )


def test_submission_connections_write_at_once_without_a_transaction(app, make_counter):
    counter = make_counter()
    with app.app_context():
        for code in ("NEW", "NEWER"):  # a fresh connection, then the same one back from the pool
            with db.autocommit_connection() as connection:
                assert _driver_autocommit(connection)
                connection.execute(
                    Agency.__table__.update()
                    .where(Agency.id == counter.agency_id)
                    .values(code=code)
                )
                # Seen from the app's other pool at once: nothing waits for a COMMIT.
                session = db.session()
                assert session.get(Agency, counter.agency_id, populate_existing=True).code == code
                session.rollback()
        # The main pool's connections stay transactional.
        with db.engine().connect() as connection:
            assert not _driver_autocommit(connection)


def test_in_memory_sqlite_keeps_one_database_for_both_pools():
    engine = db.make_engine("sqlite://")
    autocommit = db.make_autocommit_engine(engine)
    with autocommit.connect() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        connection.exec_driver_sql("INSERT INTO t VALUES (1)")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT x FROM t").scalar() == 1
    engine.dispose()


def test_autocommit_engine_of_a_file_database_has_its_own_pool(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    autocommit = db.make_autocommit_engine(engine)
    assert autocommit.pool is not engine.pool and autocommit.url == engine.url
    with autocommit.connect() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        with engine.connect() as other:  # the write is there before this connection closes
            assert other.exec_driver_sql("SELECT x FROM t").scalar() == 1
    autocommit.dispose()
    engine.dispose()
