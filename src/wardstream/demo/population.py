"""Who the demo's subjects are: jurisdictions, ages and consent stories.

Each subject gets one story (an archetype) that decides its profile and the
consent records written about it, some of them mid-run: a withdrawal, an
expiry, a re-consent to the new policy version, a deregistration. Everything
is drawn from the ``random.Random`` passed in, so a seed fixes the population.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace

from wardstream.demo.plan import ConsentStep, Step, SubjectStep

JURISDICTIONS = {"CN": 45, "US": 20, "GB": 15, "DE": 10, "FR": 10}
CHILD_UNDER = {"CN": 14, "US": 13, "GB": 13, "DE": 16, "FR": 15}
"""The built-in packs' child ages (wardstream.policy.packs)."""

STORIES = {
    "adult": 50,
    "adult_band_only": 3,  # verified ADULT band, no birth date
    "child_consented": 11,
    "child_partial_consent": 5,  # no location or contact consent: those fields are redacted
    "child_old_policy": 6,  # consent to policy v2 while pipelines need v3; half re-consent
    "child_no_consent": 4,
    "child_withdraws": 3,
    "child_expires": 3,
    "child_band_only": 2,  # verified CHILD band, no birth date, consented
    "child_vulnerable": 2,  # a child in difficult situations (DSM), consented
    "minor": 6,
    "no_profile": 3,  # events arrive, no profile ever does: age unknown
    "deregisters": 2,
}

PURPOSES = ("analytics", "learning", "payments", "live_streaming")
ALL_CATEGORIES = (
    "identifier",
    "behaviour",
    "device",
    "location",
    "content",
    "technical",
    "financial",
    "contact",
    "demographic",
)
PARTIAL = tuple(c for c in ALL_CATEGORIES if c not in ("location", "contact"))
AD_PARTNER = "ads.example.com"
OLD_VERSION, CURRENT_VERSION = 2, 3
EVIDENCE = ("signed_form", "payment_card", "video_call", "phone_call")
VERIFICATION = ("document", "id_card", "guardian_declared", "payment_card")


def age_days(rng: random.Random, low_years: int, high_years: int) -> int:
    """An age in days between the two ages in years, never within three weeks of a birthday."""
    years = rng.randint(low_years, high_years)
    return years * 365 + years // 4 + rng.randint(21, 340)


class StoryBuilder:
    """Writes the steps of one subject's story."""

    def __init__(self, rng: random.Random, subject_id: str, span: float) -> None:
        self.rng, self.sid, self.span = rng, subject_id, span
        self.jurisdiction = rng.choices(list(JURISDICTIONS), list(JURISDICTIONS.values()))[0]
        self.steps: list[Step] = []
        self._n = 0

    def mid_run(self) -> float:
        """A moment in the middle half of the run."""
        return round(self.rng.uniform(0.25, 0.75) * self.span, 3)

    def profile(
        self, days: int | None, *, band: str | None = None, vulnerable: bool = False
    ) -> None:
        verification = self.rng.choice(VERIFICATION)
        self.steps.append(
            SubjectStep(0.0, self.sid, self.jurisdiction, days, band, verification, vulnerable)
        )

    def child_profile(self, *, vulnerable: bool = False) -> None:
        top = CHILD_UNDER[self.jurisdiction] - 1
        self.profile(age_days(self.rng, 6, top), vulnerable=vulnerable)

    def deregister(self) -> None:
        first = next(s for s in self.steps if isinstance(s, SubjectStep))
        self.steps.append(replace(first, at=self.mid_run(), deregistered=True))

    def consent(
        self,
        by: str = "GUARDIAN",
        *,
        at: float = 0.0,
        categories: tuple[str, ...] = ALL_CATEGORIES,
        version: int = CURRENT_VERSION,
        expires_at: float | None = None,
    ) -> ConsentStep:
        self._n += 1
        rng = self.rng
        ads = rng.random() < 0.25  # consent cannot open marketing to a child: still dropped
        step = ConsentStep(
            at=at,
            consent_id=f"c-{self.sid}-{self._n}",
            subject_id=self.sid,
            granted_by=by,
            action="GRANTED",
            purposes=PURPOSES + (("targeted_ads",) if ads else ()),
            categories=categories,
            policy_version=version,
            evidence=f"{rng.choice(EVIDENCE)}:ev-{self.sid}-{self._n}",
            guardian_ref=f"guardian-of-{self.sid}" if by == "GUARDIAN" else None,
            recipients=(AD_PARTNER,) if ads else (),
            days_before_start=None if at else round(rng.uniform(1, 400), 2),
            expires_at=expires_at,
        )
        self.steps.append(step)
        return step

    def child_consent(
        self,
        *,
        at: float = 0.0,
        categories: tuple[str, ...] = ALL_CATEGORIES,
        version: int = CURRENT_VERSION,
        expires_at: float | None = None,
    ) -> ConsentStep:
        """A guardian's consent; in France (under 15: jointly) mostly the child's own too."""
        parties = ["GUARDIAN"]
        if self.jurisdiction == "FR" and self.rng.random() < 0.75:
            parties.append("SUBJECT")
        grants = [
            self.consent(by, at=at, categories=categories, version=version, expires_at=expires_at)
            for by in parties
        ]
        return grants[0]

    def withdraw(self, grant: ConsentStep) -> None:
        self.steps.append(
            replace(grant, at=self.mid_run(), action="WITHDRAWN", days_before_start=None)
        )


def _adult(b: StoryBuilder) -> None:
    b.profile(age_days(b.rng, 18, 75))


def _adult_band_only(b: StoryBuilder) -> None:
    b.profile(None, band="ADULT")


def _child_consented(b: StoryBuilder) -> None:
    b.child_profile()
    b.child_consent()


def _child_partial_consent(b: StoryBuilder) -> None:
    b.child_profile()
    b.child_consent(categories=PARTIAL)


def _child_old_policy(b: StoryBuilder) -> None:
    b.child_profile()
    b.child_consent(version=OLD_VERSION)
    if b.rng.random() < 0.5:  # the guardian re-consents to v3: held events are released
        b.child_consent(at=b.mid_run())


def _child_no_consent(b: StoryBuilder) -> None:
    b.child_profile()


def _child_withdraws(b: StoryBuilder) -> None:
    b.child_profile()
    b.withdraw(b.child_consent())


def _child_expires(b: StoryBuilder) -> None:
    b.child_profile()
    b.child_consent(expires_at=b.mid_run())


def _child_band_only(b: StoryBuilder) -> None:
    b.profile(None, band="CHILD")
    b.child_consent()


def _child_vulnerable(b: StoryBuilder) -> None:
    b.child_profile(vulnerable=True)
    b.child_consent()


def _minor(b: StoryBuilder) -> None:
    b.profile(age_days(b.rng, CHILD_UNDER[b.jurisdiction], 17))
    if b.jurisdiction == "CN" and b.rng.random() < 0.8:  # CN: a minor consents themselves
        b.consent("SUBJECT")


def _no_profile(b: StoryBuilder) -> None:
    return None


def _deregisters(b: StoryBuilder) -> None:
    if b.rng.random() < 0.5:
        b.child_profile()
        b.child_consent()
    else:
        _adult(b)
    b.deregister()


TELLERS: dict[str, Callable[[StoryBuilder], None]] = {
    "adult": _adult,
    "adult_band_only": _adult_band_only,
    "child_consented": _child_consented,
    "child_partial_consent": _child_partial_consent,
    "child_old_policy": _child_old_policy,
    "child_no_consent": _child_no_consent,
    "child_withdraws": _child_withdraws,
    "child_expires": _child_expires,
    "child_band_only": _child_band_only,
    "child_vulnerable": _child_vulnerable,
    "minor": _minor,
    "no_profile": _no_profile,
    "deregisters": _deregisters,
}


def story(rng: random.Random, subject_id: str, archetype: str, span: float) -> list[Step]:
    """The steps of one subject's story."""
    builder = StoryBuilder(rng, subject_id, span)
    TELLERS[archetype](builder)
    return builder.steps
