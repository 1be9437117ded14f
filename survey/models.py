"""The data model: agencies, counters, questionnaires, responses and staff."""

import enum
from datetime import UTC, datetime

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.db import Base


def utcnow() -> datetime:
    """Return the current time in UTC, without tzinfo (every stored time is UTC)."""
    return datetime.now(UTC).replace(tzinfo=None)


class AgencyLevel(enum.StrEnum):
    """Where an agency sits in the two-tier administrative tree in force since 1 July 2025.

    Their names, and which ones a new agency may take, are in survey/levels.py.
    """

    PROVINCE = "province"  # the provincial (or city) people's committee
    DEPARTMENT = "department"  # its departments and agencies (sở, ban, ngành)
    CENTRE = "centre"  # its public administrative service centre (Trung tâm Phục vụ HCC)
    BRANCH = "branch"  # a branch (chi nhánh) of that centre
    # A commune-level people's committee: xã, phường or đặc khu alike; its name says which.
    COMMUNE = "commune"
    # The district level, abolished on 1 July 2025: still read for agencies stored before.
    DISTRICT = "district"


class Channel(enum.StrEnum):
    """How a response reached the platform."""

    QR = "qr"
    # A receipt link issued by the case-management software through the API: verified.
    RECEIPT = "receipt"
    # A receipt link a member of staff made in the console: shown apart, never as verified.
    STAFF_LINK = "staff-link"
    IMPORT = "import"
    # The counter's own tablet (survey/kiosk/): tapped on a device enrolled for the counter.
    KIOSK = "kiosk"


class ResponseStatus(enum.StrEnum):
    """Whether a response counts in the indices."""

    VALID = "valid"  # counts (never flagged, or restored by a reviewer)
    FLAGGED = "flagged"  # suspicious: kept, left out of the indices until reviewed
    EXCLUDED = "excluded"  # a reviewer confirmed it is left out


class Agency(Base):
    """A province, department, service centre, branch or commune that runs one-stop counters."""

    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_vi: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300))
    level: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    # When its counters are open, in Vietnam's time ("Mon-Fri 07:00-17:00; Sat 07:30-11:30");
    # None: the platform's default (OPENING_HOURS). Forms opened outside them are flagged.
    opening_hours: Mapped[str | None] = mapped_column(String(200))

    parent: Mapped["Agency | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["Agency"]] = relationship(back_populates="parent", order_by="Agency.code")
    counters: Mapped[list["Counter"]] = relationship(
        back_populates="agency", order_by="Counter.code"
    )

    def name(self, locale: str) -> str:
        """Return the agency's name in `locale`, Vietnamese when no English name is known."""
        return agency_name(self.name_vi, self.name_en, locale)


def agency_name(name_vi: str, name_en: str | None, locale: str) -> str:
    """Return an agency's name in `locale` from its two names, Vietnamese when no English."""
    return name_en if locale == "en" and name_en else name_vi


class Questionnaire(Base):
    """One version of a questionnaire definition; a version with responses never changes."""

    __tablename__ = "questionnaires"
    __table_args__ = (
        UniqueConstraint("slug", "version"),
        UniqueConstraint("slug", "content_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    # The whole definition as loaded, so that old responses can always be read with their items.
    definition: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Counter(Base):
    """A service counter of an agency, reached through the QR code on its poster."""

    __tablename__ = "counters"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    questionnaire_slug: Mapped[str] = mapped_column(String(60), default="sipas-service")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime)
    # How many responses this counter can plausibly serve within COUNTER_BURST's window; more
    # are flagged. None: the platform's default.
    burst_limit: Mapped[int | None] = mapped_column(Integer)

    agency: Mapped[Agency] = relationship(back_populates="counters")


class ReplacedToken(Base):
    """A counter's former QR token, kept so that an old poster says it has been replaced."""

    __tablename__ = "replaced_tokens"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id"), index=True)
    replaced_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Response(Base):
    """One completed questionnaire.

    The scale answers are kept as one character per scale item, in the order of the questionnaire
    version's `scale_items` ("1"-"9" the answer, "0" missing / does not apply): the index
    computation reads a million of them as a single numpy buffer instead of sixteen million rows.
    """

    __tablename__ = "responses"
    __table_args__ = (
        CheckConstraint("weight > 0", name="weight_positive"),
        Index("ix_responses_questionnaire_day", "questionnaire_id", "local_day"),
        # A kiosk sends each answer with the id it made for it: sent twice, stored once.
        UniqueConstraint("kiosk_id", "device_response_id", name="uq_responses_kiosk_device_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaires.id"))
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # The calendar day in Vietnam's time (YYYYMMDD), for grouping by day, month and quarter.
    local_day: Mapped[int] = mapped_column(Integer)
    locale: Mapped[str] = mapped_column(String(5), default="vi")
    channel: Mapped[str] = mapped_column(String(10), default=Channel.QR)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    psu: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(10), default=ResponseStatus.VALID)
    scores: Mapped[str] = mapped_column(String(60))
    # Answers that are not on a scale (demographics), by question key.
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    comment: Mapped[str | None] = mapped_column(Text)
    # The one-time nonce of the rendered form: a second submission of the same form is refused.
    nonce: Mapped[str | None] = mapped_column(String(64), unique=True)
    # A keyed hash of the dossier code of a receipt link (never the code itself).
    dossier_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Times are kept to the minute, no finer than the indices and flags need: whoever knows
    # who stood at the counter at 09:58:26 must not find their answers by it.
    # When the form was issued (from its signed nonce), and how long the citizen took.
    issued_at: Mapped[datetime | None] = mapped_column(DateTime)
    answer_seconds: Mapped[int | None] = mapped_column(Integer)
    # Why the response looked suspicious: reason codes ("too-fast,counter-burst"), and the
    # evidence behind each (seconds taken, responses in the window, ...). Never an address.
    flags: Mapped[str | None] = mapped_column(String(100))
    evidence: Mapped[dict | None] = mapped_column(JSON)
    # The last review decision (excluded or restored); each one is in the audit log too.
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # A kiosk's answer: the tablet, the id the tablet made for it, and when it arrived (it may
    # have waited offline on the device; `submitted_at` is the tap time, for the indices).
    kiosk_id: Mapped[int | None] = mapped_column(ForeignKey("kiosks.id"), index=True)
    device_response_id: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime | None] = mapped_column(DateTime)

    counter: Mapped[Counter] = relationship()
    agency: Mapped[Agency] = relationship()
    questionnaire: Mapped[Questionnaire] = relationship()


class Kiosk(Base):
    """A tablet enrolled as a counter's kiosk, holding a revocable device credential.

    Only the SHA-256 of the credential is stored (32 random bytes, as API tokens): a database
    dump opens no kiosk. A revoked kiosk is refused from its next request on.
    """

    __tablename__ = "kiosks"

    id: Mapped[int] = mapped_column(primary_key=True)
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    credential_hash: Mapped[str] = mapped_column(String(64), unique=True)
    enrolled_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Written at most once a minute (survey/kiosk/devices.py), not on every request.
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The latest tap time stored from this kiosk, to the second: the minimum gap between two
    # responses is measured against it (responses themselves keep only the minute).
    last_tap_at: Mapped[datetime | None] = mapped_column(DateTime)

    counter: Mapped[Counter] = relationship()


class KioskEnrolment(Base):
    """A one-time code that makes a tablet a counter's kiosk: hashed, short-lived, used once."""

    __tablename__ = "kiosk_enrolments"

    id: Mapped[int] = mapped_column(primary_key=True)
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The kiosk the code made; None until it is used.
    kiosk_id: Mapped[int | None] = mapped_column(ForeignKey("kiosks.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    counter: Mapped[Counter] = relationship()


class IssuedReceiptLink(Base):
    """A receipt link issued for a dossier: the denominator of the response rate.

    One row per dossier (its keyed hash, as in `Response.dossier_hash`; never the code): a link
    issued again for the same dossier keeps the first row's counter and time, so the dossier is
    counted once, where it was first offered (survey/receipt_links.py, `store_issued_link`).
    """

    __tablename__ = "receipt_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    dossier_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # "api" (the case-management software: verified) or "staff" (made in the console).
    origin: Mapped[str] = mapped_column(String(10))
    issued_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class User(UserMixin, Base):
    """A member of staff: admin, manager of an agency, or evaluator."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    agency: Mapped[Agency | None] = relationship()

    @property
    def is_active(self) -> bool:
        """Tell Flask-Login whether the account may sign in."""
        return self.active


class ApiToken(Base):
    """A bearer token of the API; it acts with its owner's role and agencies.

    Only the SHA-256 of the token is stored: tokens are 32 random bytes, so a plain hash cannot
    be turned back into one, and a stolen database dump opens nothing.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Updated at most once a minute (survey/permissions.py), not on every call.
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship()


class AuditEntry(Base):
    """A change made by a member of staff: who, what, when, before and after."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str] = mapped_column(String(120))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)

    user: Mapped[User | None] = relationship()


class ResultsRevision(Base):
    """One row whose number grows with every change the results depend on but a new response.

    New responses and issued links show in their tables' highest id; reviews, edits of agencies,
    counters and questionnaires add one here (survey/results/changes.py). Together they are the
    data version that the stored results are keyed by (survey/results/cache.py).
    """

    __tablename__ = "results_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger, default=0)
    # Made anew whenever the row is (a new database, one emptied and started again): results
    # stored for another database that happened to reach the same numbers are never served.
    epoch: Mapped[str] = mapped_column(String(32))
