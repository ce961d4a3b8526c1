"""Turning flow texts and answers into what a person reads, in their language.

Every text goes through the translator first (its msgid is the English source), then
placeholders are filled. Placeholders are replaced by name, never with `str.format`,
so a translation with a stray brace cannot break a turn.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from flows.bidi import RLM, is_rtl, isolate_latin
from flows.deployment import Deployment, Referral, pick
from flows.spec import PLACEHOLDER_PATTERN, Flow, Step
from flows.types import DONT_KNOW, PREFER_NOT, Answer, Choice, Session, Translator

QUOTE_CHARS = 120
EXCERPT_CHARS = 300
SHORT_QUESTION_CHARS = 100
# One sentence ending in a question mark: Latin, Arabic/Persian (؟) or full-width (？).
QUESTION = re.compile(r"[^.!?؟？。\n]+[?؟？]")


# Telegram takes at most 4,096 UTF-16 code units a message; stay well below, leaving room
# for a translation's growth and a channel's own additions.
MESSAGE_CHARS = 3500
TELEGRAM_LIMIT = 4096


def units(text: str) -> int:
    """The length of `text` as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _cut(line: str, limit: int) -> tuple[str, str]:
    """The longest head of `line` within `limit` units, and the rest."""
    end = min(len(line), limit)
    while units(line[:end]) > limit:
        end -= 1
    return line[:end], line[end:]


def split_message(text: str, limit: int = MESSAGE_CHARS) -> tuple[str, ...]:
    """A long text as several messages, cut between lines (inside a line only if it must).

    Lengths are counted in UTF-16 code units, as Telegram counts them.
    """
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while units(line) > limit:
            if current:
                chunks.append(current)
                current = ""
            head, line = _cut(line, limit)
            chunks.append(head)
        candidate = f"{current}\n{line}" if current else line
        if units(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    chunks.append(current)
    return tuple(c for c in (c.strip("\n") for c in chunks) if c.strip()) or ("",)


def pack_items(
    head: str, items: list[str], tail: str, limit: int = MESSAGE_CHARS
) -> tuple[str, ...]:
    """`head`, the items, then `tail` in as few messages as fit, split only between items."""
    messages: list[str] = []
    current = head.strip("\n")
    for piece in [*items, tail.strip("\n")]:
        if not piece:
            continue
        candidate = f"{current}\n{piece}" if current else piece
        if current and units(candidate) > limit:
            messages.append(current)
            current = piece
        else:
            current = candidate
    messages.append(current)
    # An item longer than a whole message (it never is: answers are shown as excerpts)
    # would still be cut, as any text is.
    return tuple(m for chunk in messages for m in split_message(chunk, limit))


def excerpt(text: str, limit: int) -> str:
    """`text` cut at a word boundary near `limit`, with an ellipsis when cut."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat.rfind(" ", 0, limit)
    return flat[: cut if cut > limit // 2 else limit].rstrip(",;:") + "…"


# One digit style per catalog: Persian writes its own digits, so numbers the engine fills
# in ("from 1 to {last}", "{draft_days} days") follow. Arabic keeps the digits its catalog
# uses (0-9), as do the Latin and Cyrillic catalogs.
_DIGITS = {"fa": str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")}
# A list inside a sentence: Arabic and Persian separate with "؛" (and "،" within an item).
_LIST_SEPARATORS = {"ar": ("؛ ", "، "), "fa": ("؛ ", "، ")}


def local_digits(text: str, language: str) -> str:
    """A bare number in the language's own digits (other texts unchanged)."""
    table = _DIGITS.get(language)
    return text.translate(table) if table and text.isascii() and text.isdigit() else text


def separators(language: str) -> tuple[str, str]:
    """(between items, within an item) for lists in `language`."""
    return _LIST_SEPARATORS.get(language, ("; ", ", "))


class SourceLanguage:
    """The English source texts themselves, as a Translator (reviewers read these)."""

    language = "en"

    def gettext(self, message: str) -> str:
        return message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return singular if n == 1 else plural


class Renderer:
    """Texts for one session in one language."""

    def __init__(self, flow: Flow, deployment: Deployment, translator: Translator) -> None:
        self.flow = flow
        self.deployment = deployment
        self.translator = translator
        self._ = translator.gettext

    @property
    def language(self) -> str:
        return self.translator.language

    def fill(self, text: str, session: Session, extra: Mapping[str, str] | None = None) -> str:
        """Replace the placeholders of an already translated `text`."""
        if "{" not in text:  # most texts have none: skip the regex and the closure
            return text
        values = dict(extra or {})
        rtl = is_rtl(self.language)

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            found = values[name] if name in values else self._placeholder(name, session)
            if found is None:
                return match.group(0)
            found = local_digits(found, self.language)
            # Deployment texts in English, codes, the person's own Latin words: shown
            # the right way round inside Arabic or Persian.
            return isolate_latin(found) if rtl else found

        return PLACEHOLDER_PATTERN.sub(value, text)

    def text(self, source: str, session: Session, extra: Mapping[str, str] | None = None) -> str:
        """A flow text: translated, then filled."""
        return self.fill(self._(source), session, extra)

    def _placeholder(self, name: str, session: Session) -> str | None:
        d, lang = self.deployment, self.language
        simple: dict[str, str] = {
            "org_name": pick(d.org_name, lang),
            "org_contact": d.org_contact,
            "draft_days": str(d.draft_days),
            "account_keep": pick(d.account_keep, lang),
            "storage_location": pick(d.storage_location, lang),
        }
        if name in simple:
            return simple[name]
        region = self.region(session)
        if name == "referrals":
            return self.referrals(d.in_region(d.referrals, region))
        if name == "emergency":
            return self.referrals(d.in_region(d.referrals_of("emergency", "medical"), region))
        if name == "child_protection":
            return self.referrals(d.referrals_of("child-protection"))
        if name == "referral_partners":
            named = d.partners()
            if not named:
                return self._("(No support contacts are set up here yet.)")
            return "\n".join("• " + pick(r.name, lang) for r in named)
        if name == "consent_summary":
            return self.consent_summary(session)
        return None

    def region(self, session: Session) -> str | None:
        """The region code the person chose (referrals follow it), if any."""
        for step in self.flow.steps:
            if step.options_from == "regions":
                answer = session.answers.get(step.id)
                if answer is not None and answer.status == "answered":
                    value = answer.value
                    return value if isinstance(value, str) else None
        return None

    def referrals(self, entries: tuple[Referral, ...]) -> str:
        if not entries:
            return self._("(No support contacts are set up here yet.)")
        return "\n".join(self._referral(r) for r in entries)

    def _referral(self, r: Referral) -> str:
        lang = self.language
        line = "• " + pick(r.name, lang)
        if r.region and r.region != "all":
            line += f" ({self.deployment.region_name(r.region, lang)})"
        reach = separators(lang)[1].join(x for x in (r.phone, r.contact) if x)
        if reach:
            line += f": {reach}"
        if r.hours:
            line += f" — {pick(r.hours, lang)}"
        if r.note:
            line += f". {pick(r.note, lang)}"
        return line

    def consent_summary(self, session: Session) -> str:
        _ = self._
        scope_names = {
            "archive": _("Keep my account in the secure archive"),
            "reports": _("Use it without my identity in public reports"),
            "mechanisms": _("Share it with investigations and courts"),
            "contact": _("Contact me again"),
            "referral": _("Pass my details to a support service"),
        }
        values = {
            "yes": _("Yes"),
            "no": _("No"),
            "anonymised": _("Yes, without my identity"),
            "named": _("Yes, and they may contact me to confirm who I am"),
        }
        if session.consent is None or not session.consent.scopes:
            return _("(You have not answered the consent questions yet.)")
        return "\n".join(
            f"• {scope_names.get(scope, scope)}: {values.get(value, value)}"
            for scope, value in session.consent.scopes.items()
        )

    def choices(
        self, step: Step, session: Session, offered: set[str] | None = None
    ) -> tuple[Choice, ...]:
        """The numbered choices of a step as shown (options, then the status answers).

        `offered`: the option ids shown now (an option's `ask_if`); None: all of them.
        """
        _ = self._
        pairs = [
            (o.id, self.text(o.text, session))
            for o in step.options
            if offered is None or o.id in offered
        ]
        if step.options_from == "regions":
            regions = [
                (code, self.deployment.region_name(code, self.language))
                for code in self.deployment.region_codes()
            ]
            pairs = regions + pairs
        if step.kind == "yes-no" and not step.options:
            pairs = [("yes", _("Yes")), ("no", _("No"))]
        if step.dont_know:
            pairs.append((DONT_KNOW, _("I don't know")))
        if step.prefer_not:
            pairs.append((PREFER_NOT, _("Prefer not to say")))
        return tuple(Choice(n=i, value=v, label=label) for i, (v, label) in enumerate(pairs, 1))

    def question(self, step: Step, session: Session) -> str:
        """A step's whole text, translated and filled, its follow-up quote included."""
        extra = {"quote": self.quote(session, step.quote_from)} if step.quote_from else {}
        return self.text(step.text, session, extra)

    def short_question(self, step: Step, session: Session) -> str:
        """The question sentence of a step, for the review and the messages left in a chat."""
        text = self._(step.text)
        asking = [q.strip() for q in QUESTION.findall(text)]
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        chosen = asking[-1] if asking else (lines[0] if lines else step.id)
        extra = {"quote": self.quote(session, step.quote_from)} if step.quote_from else {}
        return excerpt(self.fill(chosen, session, extra), SHORT_QUESTION_CHARS)

    def label(self, step: Step) -> str:
        """A step's own short label, for the review's list of answers to change.

        Every step that list can show has one (`flows.validate` checks it), so it is never
        a question cut to fit; a step without one shows its whole text.
        """
        return self._(step.label or step.text)

    def review_item(self, step: Step, answer: Answer, session: Session) -> str:
        """One answer in the review: its label, then the answer after an arrow pointing at it.

        A right-to-left paragraph puts the label on the right and the answer to its left,
        so there the arrow is "←" (the bidi algorithm does not mirror arrows). The answer
        line starts with a right-to-left mark, so an answer in Latin script (isolated, as
        filled placeholders are) still reads right to left after its arrow.
        """
        shown = self.answer_text(step, answer, session)
        # A long answer is shown cut with "…": say the whole of it is kept, so no one
        # thinks part of their account was lost and writes it again. Part of the item, so
        # it counts when the review is split into messages.
        note = (
            " " + self._("(shortened here — everything you wrote is kept)")
            if self._shortened(step, answer)
            else ""
        )
        if is_rtl(self.language):
            return f"• {self.label(step)}\n{RLM}   ← {isolate_latin(shown)}{note}"
        return f"• {self.label(step)}\n   → {shown}{note}"

    @staticmethod
    def _shortened(step: Step, answer: Answer) -> bool:
        """Whether `answer_text` shows this answer cut to an excerpt."""
        if answer.status != "answered" or step.identifying or step.options:
            return False
        if step.kind == "yes-no" or not isinstance(answer.value, str):
            return False
        return len(" ".join(answer.value.split())) > EXCERPT_CHARS

    def answer_text(self, step: Step, answer: Answer, session: Session) -> str:
        """An answer as the person sees it in the review and in "(your answer was: …)".

        Answers to `identifying` steps are masked.
        """
        _ = self._
        status = {
            "skip": _("Skipped"),
            "dont-know": _("I don't know"),
            "prefer-not": _("Prefer not to say"),
        }
        if answer.status in status:
            return status[answer.status]
        if step.identifying:
            # The chat stays on the phone: what could identify or endanger the person
            # (a code word, contact details, names) is never shown back once given.
            return _("Set (hidden)")
        labels = {c.value: c.label for c in self.choices(step, session)}
        if isinstance(answer.value, tuple):
            # Labels may contain commas themselves ("Detention, arrest or abduction").
            return separators(self.language)[0].join(labels.get(v, v) for v in answer.value)
        if step.options or step.kind == "yes-no":
            return labels.get(answer.value or "", answer.value or "")
        shown = excerpt(answer.value or "", EXCERPT_CHARS)
        if answer.files:
            files = self.translator.ngettext(
                "({count} file attached)", "({count} files attached)", len(answer.files)
            ).replace("{count}", local_digits(str(len(answer.files)), self.language))
            shown = f"{shown} {files}".strip()
        return shown

    def quote(self, session: Session, step_id: str) -> str:
        answer = session.answers.get(step_id)
        if answer is None or not isinstance(answer.value, str):
            return ""
        first = answer.parts[0] if answer.parts else answer.value
        # The text around {quote} brings its own punctuation.
        return excerpt(first, QUOTE_CHARS).rstrip(".!?,;: ")
