"""What a deployment tells the flows: who runs it, how long things are kept, where to get help.

Plain data. `bot/config.py` reads it from the settings file (`ATTEST_CONFIG`); tests build
it directly. Texts here are written by the deployment in its own languages: a mapping of
language code to text, with "en" as the fallback.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

LocalText = Mapping[str, str]


def pick(text: LocalText, language: str) -> str:
    """The text in `language`, else English, else any language present."""
    if language in text:
        return text[language]
    if "en" in text:
        return text["en"]
    return next(iter(text.values()), "")


@dataclass(frozen=True)
class Referral:
    """One support service of the referral directory."""

    name: LocalText
    kind: str  # medical | emergency | psychosocial | legal | shelter | child-protection | digital | other
    region: str = "all"  # a region code from the settings, or "all"
    phone: str = ""
    contact: str = ""  # other safe contact, e.g. a Signal number or a website
    hours: LocalText = field(default_factory=dict)
    note: LocalText = field(default_factory=dict)


@dataclass(frozen=True)
class Deployment:
    """Settings the flow texts draw on."""

    org_name: LocalText
    org_contact: str
    draft_days: int = 7
    account_keep: LocalText = field(default_factory=lambda: {"en": "up to 10 years"})
    neutral_line: LocalText = field(default_factory=lambda: {"en": "Thanks, all done."})
    referrals: tuple[Referral, ...] = ()
    reviewers_description: LocalText = field(default_factory=dict)
    # Where accounts are kept, as one sentence per language (shown during consent).
    storage_location: LocalText = field(default_factory=dict)
    # The services scope (e) passes details to: English names of referral entries.
    referral_partners: tuple[str, ...] = ()
    # Names of the referral directory's region codes, per language ({"north": {"en": ...}}).
    regions: Mapping[str, LocalText] = field(default_factory=dict)
    is_example: bool = False
    # Documenter mode: erase each account's conversation from the chat once it is sent.
    documenter_erase_chat: bool = True

    def referrals_of(self, *kinds: str) -> tuple[Referral, ...]:
        return tuple(r for r in self.referrals if not kinds or r.kind in kinds)

    def region_codes(self) -> tuple[str, ...]:
        """The directory's regions: those named in `regions`, then any other a service has."""
        codes = [c for c in self.regions]
        codes += [r.region for r in self.referrals if r.region not in ("all", "", *codes)]
        return tuple(dict.fromkeys(codes))

    def region_name(self, code: str, language: str) -> str:
        return pick(self.regions.get(code) or {"en": code}, language)

    def in_region(self, entries: tuple[Referral, ...], region: str | None) -> tuple[Referral, ...]:
        """Services for `region` and for everyone; all of them when no region is known."""
        if region is None or region not in self.region_codes():
            return entries
        return tuple(r for r in entries if r.region in ("all", "", region))

    def partners(self) -> tuple[Referral, ...]:
        """The referral entries named by `referral_partners`, in that order."""
        by_name = {pick(r.name, "en"): r for r in self.referrals}
        return tuple(by_name[n] for n in self.referral_partners if n in by_name)


def demo_deployment() -> Deployment:
    """A clearly fictional deployment for tests and first local runs."""
    return Deployment(
        org_name={"en": "Example Documentation Project (demo)"},
        org_contact="questions@example.org",
        draft_days=7,
        account_keep={
            "en": "up to 10 years, or until you withdraw it",
            # "الشهادة" is feminine: سحبها.
            "ar": "لمدة تصل إلى 10 سنوات، أو إلى حين سحبها",
            "fa": "تا ۱۰ سال، یا تا زمانی که آن را پس بگیرید",
            "uk": "до 10 років або доки ви її не відкличете",
            "es": "hasta 10 años, o hasta que lo retire",
            "fr": "jusqu'à 10 ans, ou jusqu'à ce que vous le retiriez",
        },
        neutral_line={
            "en": "Thanks, all done.",
            "ar": "شكرًا، تمّ.",
            "fa": "ممنون، تمام شد.",
            "uk": "Дякую, готово.",
            "es": "Gracias, listo.",
            "fr": "Merci, c'est fait.",
        },
        referrals=(
            Referral(
                name={"en": "Example Clinic (demo)"},
                kind="medical",
                phone="+000 000 0000",
                hours={"en": "every day, 24 hours"},
            ),
            Referral(
                name={"en": "Example Helpline (demo)"},
                kind="psychosocial",
                phone="+000 000 0001",
                hours={"en": "Monday to Friday, 9:00–17:00"},
            ),
            Referral(
                name={"en": "Example Child Protection Line (demo)"},
                kind="child-protection",
                phone="+000 000 0002",
                hours={"en": "every day, 24 hours"},
            ),
        ),
        storage_location={
            "en": "Accounts are kept on the project's own server (in this demo, on this computer).",
            "ar": "تُحفظ الشهادات على خادم المشروع نفسه (في هذا العرض التجريبي، على هذا الحاسوب).",
            "fa": "روایت‌ها روی سرور خود پروژه نگه داشته می‌شوند (در این نسخهٔ نمایشی، روی همین رایانه).",
            "uk": "Розповіді зберігаються на власному сервері проєкту (у цій демоверсії — на цьому комп'ютері).",
            "es": "Los testimonios se guardan en el servidor propio del proyecto (en esta demostración, en este ordenador).",
            "fr": "Les témoignages sont conservés sur le serveur du projet lui-même (dans cette démo, sur cet ordinateur).",
        },
        referral_partners=("Example Helpline (demo)",),
        is_example=True,
    )
