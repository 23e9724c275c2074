"""What a ticket says: a subject and a description written for its true category, from the
pools in `pools/text.json`. Categories share vocabulary (orders, accounts, cards, the app),
some tickets borrow a sentence of another category, and some carry the customer's e-mail
address or phone number, so a classifier cannot be perfect and the pipeline must mask."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cx_assets.synthetic.pool_files import load_pools
from cx_assets.synthetic.support.shape import (
    AMBIGUOUS_TEXT_SHARE,
    CATEGORIES,
    CONTACT_IN_TEXT_SHARE,
    VAGUE_TEXT_SHARE,
)

TEXT = load_pools(__package__, "text.json")
SUBJECTS = [TEXT["subjects"][c] for c in CATEGORIES]
SENTENCES = [TEXT["sentences"][c] for c in CATEGORIES]
SHARED = TEXT["shared_sentences"]
VAGUE_SUBJECTS = TEXT["vague_subjects"]
OPENERS = TEXT["openers"]
CLOSERS = TEXT["closers"]
CONTACT_LINES = TEXT["contact_lines"]
NONE = -1


@dataclass
class TextPlan:
    """Indices into the pools per ticket, drawn in bulk; `render` writes one ticket."""

    subject: np.ndarray
    vague: np.ndarray  # NONE, or a generic subject; the text then says little
    first: np.ndarray
    second: np.ndarray
    shared: np.ndarray  # NONE: no shared sentence
    borrowed_category: np.ndarray  # NONE: no sentence of another category
    borrowed: np.ndarray
    opener: np.ndarray
    closer: np.ndarray
    contact: np.ndarray  # NONE: no contact details typed in
    order: np.ndarray

    @classmethod
    def draw(cls, rng: np.random.Generator, categories: np.ndarray) -> TextPlan:
        n = len(categories)
        per_category = len(SENTENCES[0])
        first = rng.integers(per_category, size=n)
        second = (first + rng.integers(1, per_category, size=n)) % per_category
        other = (categories + rng.integers(1, len(CATEGORIES), size=n)) % len(CATEGORIES)
        return cls(
            subject=rng.integers(len(SUBJECTS[0]), size=n),
            vague=np.where(
                rng.random(n) < VAGUE_TEXT_SHARE, rng.integers(len(VAGUE_SUBJECTS), size=n), NONE
            ),
            first=first,
            second=second,
            shared=np.where(rng.random(n) < 0.6, rng.integers(len(SHARED), size=n), NONE),
            borrowed_category=np.where(rng.random(n) < AMBIGUOUS_TEXT_SHARE, other, NONE),
            borrowed=rng.integers(per_category, size=n),
            opener=rng.integers(len(OPENERS), size=n),
            closer=rng.integers(len(CLOSERS), size=n),
            contact=np.where(
                rng.random(n) < CONTACT_IN_TEXT_SHARE,
                rng.integers(len(CONTACT_LINES), size=n),
                NONE,
            ),
            order=rng.integers(10_000, 999_999, size=n),
        )

    def render(self, i: int, category: int, email: str, phone: str) -> tuple[str, str]:
        order = str(self.order[i])
        if self.vague[i] != NONE:
            return VAGUE_SUBJECTS[self.vague[i]], self._vague(i, category, order, email, phone)
        subject = SUBJECTS[category][self.subject[i]].replace("{order}", order)
        parts = [OPENERS[self.opener[i]], SENTENCES[category][self.first[i]]]
        if self.shared[i] != NONE:
            parts.append(SHARED[self.shared[i]].replace("{order}", order))
        if self.borrowed_category[i] != NONE:
            parts.append(SENTENCES[self.borrowed_category[i]][self.borrowed[i]])
        parts.append(SENTENCES[category][self.second[i]])
        if self.contact[i] != NONE:
            parts.append(
                CONTACT_LINES[self.contact[i]].replace("{email}", email).replace("{phone}", phone)
            )
        parts.append(CLOSERS[self.closer[i]])
        return subject, " ".join(part for part in parts if part)

    def _vague(self, i: int, category: int, order: str, email: str, phone: str) -> str:
        """Shared sentences, around one that tells the category for half of them."""
        first = SHARED[(self.shared[i] if self.shared[i] != NONE else 0)]
        last = SHARED[(self.order[i] % len(SHARED))]
        telling = SENTENCES[category][self.first[i]] if self.order[i] % 2 else ""
        parts = [
            OPENERS[self.opener[i]],
            first.replace("{order}", order),
            telling,
            last.replace("{order}", order),
        ]
        if self.contact[i] != NONE:
            parts.append(
                CONTACT_LINES[self.contact[i]].replace("{email}", email).replace("{phone}", phone)
            )
        return " ".join(part for part in parts if part)
