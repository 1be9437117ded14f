"""Receipt links: a signed, expiring link per dossier, so that one dossier gives one evaluation.

A link is `PUBLIC_BASE_URL/r/<counter id>.<dossier hash>.<origin>.<time>.<signature>`. It
carries the keyed hash of the dossier code, never the code itself: links end up in browser
histories and server logs, and a hash made with the app's secret cannot be turned back into a
code. The same hash is stored with the response, and the database accepts each hash once.

The origin says who issued the link, under the signature: `a` for the case-management software
through the API, `s` for a member of staff in the console. Only an API link makes a verified
response (channel `receipt`); a staff link's response is stored as `staff-link` and shown apart,
since staff could otherwise make links for made-up dossiers and answer them. Links made before
the origin existed (`<counter id>.<dossier hash>.<time>.<signature>`) still open until they
expire (`RECEIPT_LINK_DAYS`), and count as issued by staff: nothing in them proves otherwise.

Every link issued is stored once per dossier (`store_issued_link`, table `receipt_links`): the
number of citizens offered a form, the denominator of the response rate (survey/results/rates.py).
"""

import base64
import enum
import hashlib
import hmac
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from survey.models import Channel, Counter, IssuedReceiptLink, Response
from survey.results.changes import raise_revision

SALT = "receipt-link"
MAX_DOSSIER_LENGTH = 100


class LinkInvalid(ValueError):
    """A link that was not made by this platform, or was changed after it was made."""


class LinkExpired(ValueError):
    """A genuine link older than `RECEIPT_LINK_DAYS`."""


class LinkOrigin(enum.StrEnum):
    """Who issued a link; the value is what the signed payload carries."""

    API = "a"  # the case-management software, with an API token: verified
    STAFF = "s"  # a member of staff in the console: shown apart, never verified

    @property
    def channel(self) -> Channel:
        """Return the channel of the responses given through a link of this origin."""
        return Channel.RECEIPT if self is LinkOrigin.API else Channel.STAFF_LINK

    @property
    def stored(self) -> str:
        """Return the origin as stored in `receipt_links.origin` ("api" or "staff")."""
        return "api" if self is LinkOrigin.API else "staff"


@dataclass(frozen=True)
class ReceiptLink:
    """What a genuine link says: the counter, the dossier's hash, who made it and when."""

    counter_id: int
    dossier_hash: str
    issued_at: datetime
    origin: LinkOrigin

    @property
    def channel(self) -> Channel:
        """Return the channel the response to this link is stored with."""
        return self.origin.channel


@dataclass(frozen=True)
class IssuedLink:
    """A new link, ready to print on the receipt slip."""

    url: str
    signed: str
    expires_at: datetime
    counter: Counter
    origin: LinkOrigin
    dossier_hash: str
    issued_at: datetime  # UTC, aware


class _Signer(TimestampSigner):
    """A timestamp signer whose clock can be set, for links made at a given moment."""

    def __init__(self, secret: str, at: int | None = None):
        super().__init__(secret, salt=SALT, digest_method=hashlib.sha256)
        self._at = at

    def get_timestamp(self) -> int:
        """Return the time the link is stamped with."""
        return self._at if self._at is not None else super().get_timestamp()


def normalise_dossier(code: str) -> str:
    """Return the dossier code as it is hashed: NFC, spaces collapsed, upper case.

    The same dossier typed with different case or spacing must give the same hash, or it could be
    evaluated twice.
    """
    return " ".join(unicodedata.normalize("NFC", code or "").split()).upper()


def dossier_problem(code: str) -> str | None:
    """Return why `code` is not an acceptable dossier code (English, for the API), or None."""
    code = normalise_dossier(code)
    if not code:
        return "the dossier code is empty"
    if len(code) > MAX_DOSSIER_LENGTH:
        return f"the dossier code is longer than {MAX_DOSSIER_LENGTH} characters"
    return None


def _hash_bytes(code: str) -> bytes:
    # A key derived for this one purpose, so that the hash is not a signature usable elsewhere.
    secret = current_app.config["SECRET_KEY"].encode()
    key = hmac.new(secret, b"survey dossier hash v1", hashlib.sha256).digest()
    return hmac.new(key, normalise_dossier(code).encode(), hashlib.sha256).digest()


def dossier_hash(code: str) -> str:
    """Return the keyed hash (HMAC-SHA-256, hex) of a dossier code, as stored with a response."""
    return _hash_bytes(code).hex()


def link_days() -> int:
    """Return how many days a new receipt link stays valid."""
    return int(current_app.config.get("RECEIPT_LINK_DAYS", 30))


def issue_link(
    counter: Counter,
    dossier_code: str,
    at: datetime | None = None,
    *,
    origin: LinkOrigin = LinkOrigin.STAFF,
) -> IssuedLink:
    """Return a signed link to `counter`'s questionnaire bound to `dossier_code`, from `origin`.

    The origin defaults to staff, so that a caller who forgets it never makes a verified link.
    """
    problem = dossier_problem(dossier_code)
    if problem:
        raise ValueError(problem)
    origin = LinkOrigin(origin)
    moment = int((at or datetime.now(UTC)).timestamp())
    raw = _hash_bytes(dossier_code)
    digest = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    payload = f"{counter.id}.{digest}.{origin.value}"
    signed = _Signer(current_app.config["SECRET_KEY"], moment).sign(payload).decode()
    issued = datetime.fromtimestamp(moment, UTC)
    return IssuedLink(
        url=f"{current_app.config['PUBLIC_BASE_URL']}/r/{signed}",
        signed=signed,
        expires_at=issued + timedelta(days=link_days()),
        counter=counter,
        origin=origin,
        dossier_hash=raw.hex(),
        issued_at=issued,
    )


def read_link(signed: str) -> ReceiptLink:
    """Check `signed` and return what it says; raise LinkExpired or LinkInvalid."""
    signer = _Signer(current_app.config["SECRET_KEY"])
    try:
        value, stamped = signer.unsign(signed, max_age=link_days() * 86400, return_timestamp=True)
    except SignatureExpired as error:
        raise LinkExpired(str(error)) from error
    except BadSignature as error:
        raise LinkInvalid(str(error)) from error
    # The checks below are only reachable with a leaked secret or a bug: the signature was valid.
    parts = value.decode("ascii", "replace").split(".")
    if len(parts) == 2:
        # The format before the origin: nothing says the API issued it, so it is a staff link.
        parts.append(LinkOrigin.STAFF.value)
    if len(parts) != 3:
        raise LinkInvalid("bad payload")
    counter_id, digest, origin = parts
    try:
        raw = base64.urlsafe_b64decode(digest + "=" * (-len(digest) % 4))
        origin = LinkOrigin(origin)
    except ValueError as error:
        raise LinkInvalid("bad dossier hash or origin") from error
    if not counter_id.isdigit() or len(raw) != 32:
        raise LinkInvalid("bad payload")
    return ReceiptLink(int(counter_id), raw.hex(), stamped.replace(tzinfo=None), origin)


def response_for_dossier(session: Session, hashed: str) -> Response | None:
    """Return the response already given for the dossier with hash `hashed`, or None."""
    return session.scalar(select(Response).where(Response.dossier_hash == hashed))


def store_issued_link(session: Session, issued: IssuedLink) -> None:
    """Add `issued` to the issued links, once per dossier; committed with the caller's change.

    A link issued again for a dossier keeps the first row's counter and issue time: the citizen
    was offered the form then and there, and counting the dossier again would lower the rate.
    The row takes the later expiry (the dossier can be answered until its last link expires),
    and an API link turns a staff row into an API one: the case-management software vouches for
    the dossier. Insert-or-nothing in one statement, so that two issues at once cannot fail.
    """
    values = {
        "counter_id": issued.counter.id,
        "agency_id": issued.counter.agency_id,
        "dossier_hash": issued.dossier_hash,
        "origin": issued.origin.stored,
        "issued_at": issued.issued_at.replace(tzinfo=None),
        "expires_at": issued.expires_at.replace(tzinfo=None),
    }
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(IssuedReceiptLink)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["dossier_hash"])
    )
    row = IssuedReceiptLink
    same = row.dossier_hash == issued.dossier_hash
    session.execute(
        update(row)
        .where(same, row.expires_at < values["expires_at"])
        .values(expires_at=values["expires_at"])
    )
    if issued.origin is LinkOrigin.API:
        relabelled = session.execute(
            update(row).where(same, row.origin != "api").values(origin="api")
        )
        if relabelled.rowcount:  # the response rates by origin change: so do stored results
            raise_revision(session.connection())
