"""What the elements filter, the patterns page and the case summary read of each account.

Those pages work across accounts, so each account is opened (every check of
`review.opened.open_verified`, files left unread) and reduced to `AccountFacts`: option
ids of the structured answers, the coarse incident date `flows.dates` reads, and the
element support `flows.elements` computes. Nothing a person typed is kept, only what was
read from it. The facts live in the desk's memory for one unlock (`FactsCache`, keyed by
the lock's CSRF token, which changes at every unlock and lock) and are never written
anywhere; the first opening of each account per unlock is audited ("opened", view
"elements"), as opening it on its page is.

An account this reviewer cannot open (another team's key, an unpinned node, a failed
check) is left out of every count, and the pages say how many were and why, in the
categories of `review export` (`left_out_lines`); so is one that opens only through the
demo key's reseal, as exports leave it out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cache
from typing import Any

from flows.dates import CoarseDate, read_approximate_date
from flows.elements import SUPPORTED, ElementSupport, element_support
from flows.loader import load_flows
from flows.spec import ELEMENTS, Flow
from review.opened import open_verified
from storage.crypto import CryptoError, ReviewerPrivateKey, ReviewerPublicKey
from storage.errors import (
    N_,
    NotARecipient,
    StorageError,
    UntrustedAfter,
    UntrustedNode,
    UntrustedReviewer,
)
from storage.queue.listing import PAGE_SIZE, Filters, Page, list_page
from storage.queue.store import Queue, QueueItem, reviewer_actor

BATCH = 1000
INCIDENT_STEP = "when-started"
# The structured answers the patterns page counts, by the shared list they answer.
COUNTED = ("harms", "perpetrators", "grounds")


@dataclass(frozen=True)
class DeskTrust:
    """What decides, beside the pinned nodes, whether an account opens on the desk.

    `node_cutoffs` (`attest keys untrust-node FP --after TIME`) and the reviewers whose
    receipts show an account came before one, as `review show` reads them.
    """

    node_cutoffs: Mapping[str, datetime]
    receipt_signers: Mapping[str, ReviewerPublicKey]
    # Whose reseals open an account (`attest keys trust-reviewer`), and the demo keys
    # pinned for recovery, whose reseals are told apart and left out, as exports do.
    trusted_reviewers: Mapping[str, ReviewerPublicKey] = field(default_factory=dict)
    demo_resealers: Mapping[str, ReviewerPublicKey] = field(default_factory=dict)

    @classmethod
    def of(cls, ctx: Any) -> DeskTrust:
        """From a `review.context.ReviewerContext`."""
        return cls(ctx.node_cutoffs, ctx.reviewer_pins, ctx.reviewer_pins, ctx.demo_reviewer_pins)


# Why an account was left out: `review export`'s categories (ExportResult).
UNVERIFIED = "unverified"
SEALED_TO_OTHER_KEYS = "sealed_to_other_keys"
RESEALED_BY_DEMO_KEY = "resealed_by_demo_key"
UNTRUSTED_KEYS = "untrusted_keys"
LEFT_OUT = {
    UNVERIFIED: N_(
        "Left out: {n} that failed a check (changed after the node signed them); each "
        "account's page says which check."
    ),
    SEALED_TO_OTHER_KEYS: N_(
        "Left out: {n} sealed only to reviewer keys you do not hold. A reviewer who holds "
        "one can let you in with `attest review reseal --to` and your reviewer.pub."
    ),
    RESEALED_BY_DEMO_KEY: N_(
        "Left out: {n} resealed to you by the demo key, so who resealed them is not known; "
        "they are counted nowhere, as exports leave them out. `attest review show ID` opens "
        "each, marked."
    ),
    UNTRUSTED_KEYS: N_(
        "Left out: {n} signed by a node key or resealed by a reviewer key you have not "
        "trusted (or have untrusted); `attest review show ID` says which."
    ),
}


def left_out_lines(left_out: Mapping[str, int], gettext: Callable[[str], str]) -> list[str]:
    """Why accounts were left out, one line per reason, as `review export` says it."""
    return [
        gettext(text).format(n=left_out[why]) for why, text in LEFT_OUT.items() if left_out.get(why)
    ]


@cache
def shipped_flows() -> Mapping[str, Flow]:
    """The flows this desk knows, loaded once: their option maps decide support."""
    return load_flows()


@dataclass(frozen=True)
class AccountFacts:
    """One opened account, reduced to what is counted across accounts."""

    item: QueueItem
    incident: CoarseDate | None
    submitted: date | None
    choices: Mapping[str, tuple[str, ...]]  # step id -> chosen option ids (answered only)
    region: str | None
    support: tuple[ElementSupport, ...]
    reports: bool  # consent to anonymised use in reports

    @property
    def account_id(self) -> str:
        return self.item.account_id

    def level(self, element: str) -> str:
        return next(s.level for s in self.support if s.element == element)


def lacks_of(query: Mapping[str, str]) -> tuple[str | None, bool]:
    """The "lacks E…" filter: an element id or None; whether the value was unreadable."""
    value = query.get("lacks", "").strip()
    if not value:
        return None, False
    return (value, False) if value in ELEMENTS else (None, True)


def _chosen(answer: Mapping[str, Any]) -> tuple[str, ...]:
    value = answer.get("value")
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value or ())


def facts_of(item: QueueItem, body: Mapping[str, Any], flows: Mapping[str, Flow]) -> AccountFacts:
    """The facts of one opened account body (pure: what the tests feed directly)."""
    answers = [a for a in body.get("answers", []) if isinstance(a, Mapping)]
    answered = {
        str(a.get("step")): a
        for a in answers
        if a.get("status") == "answered" and a.get("value") not in (None, "", [])
    }
    incident_answer = answered.get(INCIDENT_STEP)
    incident = (
        read_approximate_date(str(incident_answer.get("value")))
        if incident_answer is not None
        else None
    )
    submitted_at = item.submitted_at
    scopes = dict(body.get("consent", {}).get("scopes", {}))
    region = answered.get("region")
    return AccountFacts(
        item=item,
        incident=incident,
        submitted=submitted_at.date() if isinstance(submitted_at, datetime) else None,
        choices={step: _chosen(answered[step]) for step in COUNTED if step in answered},
        region=str(region.get("value")) if region is not None else None,
        support=tuple(element_support(flows.get(str(body.get("flow"))), answers)),
        reports=scopes.get("reports") == "yes",
    )


@dataclass
class Opened:
    """The facts of the accounts asked for, and how many could not be opened."""

    facts: list[AccountFacts] = field(default_factory=list)
    left_out: Counter[str] = field(default_factory=Counter)  # by LEFT_OUT's reasons

    @property
    def unopened(self) -> int:
        return sum(self.left_out.values())


class FactsCache:
    """Facts of the accounts opened since the desk was last unlocked; memory only."""

    def __init__(self) -> None:
        self._token: str | None = None
        self._facts: dict[str, AccountFacts | str] = {}  # facts, or why left out

    def _for(self, token: str) -> dict[str, AccountFacts | str]:
        if token != self._token:  # locked and unlocked since: forget everything
            self._facts, self._token = {}, token
        return self._facts

    def open_all(
        self,
        queue: Queue,
        key: ReviewerPrivateKey,
        pins: Mapping[str, bytes],
        token: str,
        filters: Filters,
        *,
        trust: DeskTrust,
    ) -> Opened:
        """The facts of every listed account matching `filters`, in the queue's order."""
        known = self._for(token)
        result = Opened()
        newly_opened: list[str] = []
        for item in _listed(queue, filters):
            if item.account_id not in known:
                known[item.account_id] = self._open(queue, key, pins, item, trust)
                if not isinstance(known[item.account_id], str):
                    newly_opened.append(item.account_id)
            facts = known[item.account_id]
            if isinstance(facts, str):
                result.left_out[facts] += 1
            elif facts.item != item:  # triage changed since: the row is re-read, not reopened
                facts = replace(facts, item=item)
                known[item.account_id] = facts
                result.facts.append(facts)
            else:
                result.facts.append(facts)
        if newly_opened:  # one transaction for the audit entries, not one per account
            actor = reviewer_actor(key.fingerprint)
            queue.record_many([(actor, "opened", i, {"view": "elements"}) for i in newly_opened])
        return result

    def _open(
        self,
        queue: Queue,
        key: ReviewerPrivateKey,
        pins: Mapping[str, bytes],
        item: QueueItem,
        trust: DeskTrust,
    ) -> AccountFacts | str:
        """The account's facts, or why it was left out (a LEFT_OUT reason)."""
        try:
            stored = queue.get(item.account_id)
            if stored.sealed.node_fingerprint not in pins:
                return UNTRUSTED_KEYS
            opened = open_verified(
                queue,
                stored,
                key,
                pins,
                check_files=False,
                trusted_reviewers=trust.trusted_reviewers,
                node_cutoffs=trust.node_cutoffs,
                demo_resealers=trust.demo_resealers,
                receipt_signers=trust.receipt_signers,
            )
        except NotARecipient:
            return SEALED_TO_OTHER_KEYS
        except (UntrustedNode, UntrustedReviewer, UntrustedAfter):
            return UNTRUSTED_KEYS
        except (StorageError, CryptoError):
            return UNVERIFIED
        if opened.resealed_by_demo is not None:
            return RESEALED_BY_DEMO_KEY
        return facts_of(item, opened.body, shipped_flows())


def lacking_page(
    cache: FactsCache,
    queue: Queue,
    key: ReviewerPrivateKey,
    pins: Mapping[str, bytes],
    token: str,
    filters: Filters,
    element: str,
    offset: int,
    *,
    trust: DeskTrust,
) -> tuple[Page, Counter[str]]:
    """One queue page of the accounts whose answers do not support `element`.

    Possibly counts as lacking: a free text nobody has read supports nothing yet. Also
    returns how many matching accounts were left out (and so are not listed), by reason.
    """
    opened = cache.open_all(queue, key, pins, token, filters, trust=trust)
    lacking = [f.item for f in opened.facts if f.level(element) != SUPPORTED]
    counts = list_page(queue.engine, filters, size=0).counts
    page = Page(
        items=tuple(lacking[offset : offset + PAGE_SIZE]),
        total=len(lacking),
        counts=counts,
        offset=offset,
        size=PAGE_SIZE,
    )
    return page, opened.left_out


def _listed(queue: Queue, filters: Filters) -> Iterable[QueueItem]:
    offset = 0
    while True:
        page = list_page(queue.engine, filters, offset=offset, size=BATCH)
        yield from page.items
        if len(page.items) < BATCH:
            return
        offset += BATCH


__all__ = [
    "AccountFacts",
    "FactsCache",
    "Opened",
    "facts_of",
    "lacking_page",
    "lacks_of",
    "left_out_lines",
    "shipped_flows",
]
