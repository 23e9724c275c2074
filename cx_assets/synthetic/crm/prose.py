"""The `Content` of an interaction, written from its draft at output time.

Portuguese e-mail-like prose: greeting, 3-5 paragraphs, closing, signature, and on replies a
quoted earlier message; campaign text for mass e-mails; shorter notes for calls and meetings;
the fixed texts of read and delivery receipts. Friction sentences and decoys go where the draft
says. Draws continue on the day's generator, in record order.
"""

from __future__ import annotations

from datetime import date
from random import Random
from typing import TYPE_CHECKING

from cx_assets.synthetic.crm.shape import DECOY_RATE, OWN_COMPANY
from cx_assets.synthetic.crm.text_pools import (
    CLOSINGS,
    DELIVERY_NOTICE_PHRASES,
    MASS_FOOTER,
    NOTE_OPENERS,
    PERSON_GREETINGS,
    TEAM_GREETINGS,
    TextPools,
    fill,
)

if TYPE_CHECKING:
    from cx_assets.synthetic.crm.drafts import Draft


class Prose:
    def __init__(self, rng: Random, text: TextPools, day: date) -> None:
        self.rng = rng
        self.text = text
        self.day = day

    def content(self, draft: Draft) -> str | None:
        kind, *details = draft.content
        if kind == "mail":
            return self.mail(draft.second, *details)
        if kind == "note":
            return self.note(*details)
        if kind == "campaign":
            addressee, body_index = details
            greeting = f"Olá, {addressee}!" if addressee else "Olá!"
            body = self.text.campaign_bodies[body_index]
            return f"{greeting}\n\n{body}\n\nEquipe {OWN_COMPANY}\n\n{MASS_FOOTER}"
        if kind == "read":
            return self.read_receipt(draft.second, *details)
        if kind == "delivery":
            return self.delivery_receipt(*details)
        return None

    def mail(
        self,
        second: int,
        addressee: str | None,
        signer: str,
        friction: bool,
        quoted: str | None,
        inbound: bool,
    ) -> str:
        rng = self.rng
        greeting = (
            rng.choice(PERSON_GREETINGS).format(nome=addressee)
            if addressee
            else rng.choice(TEAM_GREETINGS)
        )
        body = "\n\n".join(self._paragraphs(rng.randint(3, 5), friction))
        parts = [greeting, body, f"{rng.choice(CLOSINGS)}\n{signer}"]
        if quoted:
            author = quoted.split("\n", 1)[0]
            parts.append(
                f"Em {self._stamp(second)}, {author} escreveu:\n> "
                + "\n>\n> ".join(rng.choices(self.text.body_paragraphs, k=rng.randint(1, 2)))
            )
        if not inbound and rng.random() < 0.003:
            # An outbound e-mail may quote the phrase of a delivery receipt: still valid.
            parts.insert(2, "Confirmo que sua mensagem foi entregue ao time de compras.")
        return "\n\n".join(parts)

    def note(self, kind: str | None, name: str, friction: bool) -> str:
        rng = self.rng
        text = self.text
        opener = rng.choice(NOTE_OPENERS[kind])
        sentences = rng.choices(text.note_sentences, k=rng.randint(3, 6))
        if friction:
            sentences.insert(rng.randrange(len(sentences) + 1), rng.choice(text.friction_sentences))
        if rng.random() < DECOY_RATE:
            sentences.append(fill(rng.choice(text.decoy_sentences), rng, text.cities))
        notes = opener.format(nome=name) + " ".join(sentences)
        if rng.random() < 0.7:
            notes += "\n\n" + rng.choice(text.body_paragraphs)
        return notes

    def read_receipt(self, second: int, subject: str, reader: str, english: bool) -> str:
        sent = self._stamp(second)
        if english:
            return (
                f"Your message\n\n  To: {reader}\n  Subject: {subject}\n  Sent: {sent}\n\nwas read."
            )
        return f"Sua mensagem\n\n  Para: {reader}\n  Assunto: {subject}\n  Enviada em: {sent}\n\nfoi lida."

    def delivery_receipt(self, subject: str, recipient: str, english: bool) -> str:
        if english:
            return f"Your message has been delivered to the following recipients:\n\n{recipient}\n\nSubject: {subject}"
        phrase = self.rng.choice(DELIVERY_NOTICE_PHRASES)
        return (
            f"Esta é uma notificação automática: {phrase} aos seguintes destinatários:\n\n"
            f"{recipient}\n\nAssunto: {subject}"
        )

    def _paragraphs(self, count: int, friction: bool) -> list[str]:
        rng = self.rng
        text = self.text
        paragraphs = rng.choices(text.body_paragraphs, k=count)
        if friction:
            position = rng.randrange(len(paragraphs) + 1)
            paragraphs.insert(position, rng.choice(text.friction_sentences))
        if rng.random() < DECOY_RATE:
            paragraphs.append(fill(rng.choice(text.decoy_sentences), rng, text.cities))
        return paragraphs

    def _stamp(self, second: int) -> str:
        earlier = max(0, second - self.rng.randrange(600, 7200))
        return f"{self.day:%d/%m/%Y} às {earlier // 3600:02d}:{earlier % 3600 // 60:02d}"
