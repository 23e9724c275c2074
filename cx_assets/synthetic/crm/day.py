"""One day's interactions (contract §4.1 patterns), drafted, then rendered as records.

Everything is drawn from `request.rng("crm", "interactions", <day>)`: first every decision
(`Draft`s: e-mail threads, other kinds, then the noise), then, while the records are written,
their prose (`prose.Prose`, on the same generator).
"""

from __future__ import annotations

from bisect import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import accumulate
from typing import Any

from cx_assets.synthetic.crm.drafts import Draft, Target, Targets
from cx_assets.synthetic.crm.noise import Noise
from cx_assets.synthetic.crm.prose import Prose
from cx_assets.synthetic.crm.shape import (
    DELIVERY_RECEIPT_SHARE,
    EMAIL_TYPE_ID,
    FRICTION_SENTENCE_RATE,
    FRIDAY_AFTERNOON_FRICTION_FACTOR,
    INTERACTION_IDS_PER_DAY,
    INTERACTIONS_PER_WEEKDAY,
    MASS_EMAIL_SHARE,
    MIN_INTERACTIONS_PER_DAY,
    OTHER_KINDS,
    READ_RECEIPT_SHARE,
    REPLY_SWITCHES_DIRECTION,
    SOURCE,
    TITLE_INBOUND,
    TITLE_OUTBOUND,
    VALID_EMAIL_SHARE,
    WEEKDAY_VOLUME,
    business_second,
    day_number,
    local_timestamp,
)
from cx_assets.synthetic.crm.text_pools import (
    FRICTION_TASK_TITLES,
    LOOSE_SUBJECTS,
    TASK_TITLES,
    fill,
    reply_prefix,
)
from cx_assets.synthetic.crm.universe import Manager, Universe
from cx_assets.synthetic.landing_writer import GenerationRequest


@dataclass(frozen=True, slots=True)
class Thread:
    """What every message of an e-mail thread shares."""

    subject: str
    manager: Manager  # the topic's manager, who owns the thread
    deal_id: int | None


class InteractionDay:
    """Drafts one day's interactions and renders them as records."""

    def __init__(self, universe: Universe, request: GenerationRequest, day: date) -> None:
        self.universe = universe
        self.day = day
        self.rng = request.rng(SOURCE, "interactions", day.isoformat())
        self.friday = day.weekday() == 4
        volume = INTERACTIONS_PER_WEEKDAY * WEEKDAY_VOLUME[day.weekday()]
        self.count = request.scaled(volume, minimum=MIN_INTERACTIONS_PER_DAY)
        if self.count >= INTERACTION_IDS_PER_DAY:
            raise ValueError(f"too many CRM interactions for one day: {self.count}")
        self.first_id = day_number(day) * INTERACTION_IDS_PER_DAY + 1
        self.targets = Targets(universe, self.rng)
        self.prose = Prose(self.rng, universe.text, day)
        self._other_kinds_cumulative = list(accumulate(weight for *_, weight in OTHER_KINDS))

    def is_friction_now(self, second: int) -> bool:
        """~8.5% of valid interactions, twice that on a Friday afternoon from 14:00."""
        rate = FRICTION_SENTENCE_RATE
        if self.friday and second >= 14 * 3600:
            rate *= FRIDAY_AFTERNOON_FRICTION_FACTOR
        return self.rng.random() < rate

    # -- drafting ---------------------------------------------------------------------------

    def drafts(self) -> list[Draft]:
        count = self.count
        mass = round(count * MASS_EMAIL_SHARE)
        read = max(1, round(count * READ_RECEIPT_SHARE))
        delivery = max(1, round(count * DELIVERY_RECEIPT_SHARE))
        valid = count - mass - read - delivery
        emails = round(valid * VALID_EMAIL_SHARE)
        noise = Noise(self.targets)
        drafts = self.email_threads(emails)
        drafts += [self.other_kind() for _ in range(valid - emails)]
        drafts += noise.mass_emails(mass)
        drafts += [noise.read_receipt() for _ in range(read)]
        drafts += [noise.delivery_receipt(index) for index in range(delivery)]
        drafts.sort(key=lambda draft: draft.second)  # stable: threads keep their order
        return drafts

    def thread_length(self) -> int:
        draw = self.rng.random()
        if draw < 0.40:
            return 1
        if draw < 0.62:
            return 2
        if draw < 0.78:
            return 3
        return self.rng.randint(4, 10)

    def email_threads(self, count: int) -> list[Draft]:
        drafts: list[Draft] = []
        while len(drafts) < count:
            drafts += self.email_thread(count - len(drafts))
        return drafts

    def email_thread(self, room: int) -> list[Draft]:
        """One thread of at most `room` messages that switch direction as people reply."""
        rng = self.rng
        target = self.targets.pick()
        if target.company is not None:
            topic = rng.choice(target.company.topics)
            subject, owner_id = topic.subject, topic.owner_id
        else:
            subject = fill(rng.choice(LOOSE_SUBJECTS), rng, self.universe.text.cities)
            owner_id = self.targets.owner_for(target)
        thread = Thread(
            subject, self.targets.managers_by_id[owner_id], self.targets.deal_for(target)
        )
        inbound = rng.random() < 0.55
        second = business_second(rng)
        sender = target
        drafts: list[Draft] = []
        for position in range(min(self.thread_length(), room)):
            if position > 0:
                second += 60 + int(rng.expovariate(1 / 2700))
                if second >= 86_400:
                    break  # the conversation goes on tomorrow
                if rng.random() < REPLY_SWITCHES_DIRECTION:
                    inbound = not inbound
                if target.company is not None and target.company.people and rng.random() < 0.15:
                    sender = self.targets.person(rng.choice(target.company.people))
            replying = position > 0 or rng.random() < 0.3
            drafts.append(self.thread_email(thread, sender, inbound, second, replying))
        return drafts

    def thread_email(
        self, thread: Thread, sender: Target, inbound: bool, second: int, replying: bool
    ) -> Draft:
        rng = self.rng
        manager = thread.manager
        prefix = reply_prefix(rng) if replying else ""
        if inbound:
            addresses = [manager.email, *self.targets.colleagues(sender, rng.choice((0, 0, 1)))]
            signer, addressee = sender.signature, manager.name.split()[0]
            quoted = manager.name if replying else None
        else:
            addresses = [sender.email, *self.targets.colleagues(sender, rng.randint(0, 2))]
            signer, addressee = manager.signature, sender.greeting_name
            quoted = sender.signature.split("\n", 1)[0] if replying else None
        friction = self.is_friction_now(second)
        return Draft(
            second=second,
            contact_id=sender.contact_id,
            owner_id=manager.id,
            type_id=EMAIL_TYPE_ID,
            title=TITLE_INBOUND if inbound else TITLE_OUTBOUND,
            subject=prefix + thread.subject,
            recipients=self.targets.recipients(addresses[:3]),
            deal_id=thread.deal_id,
            content=("mail", addressee, signer, friction, quoted, inbound),
        )

    def other_kind(self) -> Draft:
        rng = self.rng
        kind, type_id, _ = OTHER_KINDS[
            bisect(self._other_kinds_cumulative, rng.random() * self._other_kinds_cumulative[-1])
        ]
        target = self.targets.pick()
        second = business_second(rng)
        friction = self.is_friction_now(second)
        title = kind
        if kind == "Tarefa":
            # Task titles are free text, so friction can sit in the title itself.
            if friction and rng.random() < 0.5:
                title, friction = rng.choice(FRICTION_TASK_TITLES), False
            else:
                title = rng.choice(TASK_TITLES)
        if target.person is not None:
            name = target.person.name
        elif target.company is not None:
            name = target.company.short_name
        else:
            name = target.signature
        empty = kind is not None and rng.random() < 0.05
        return Draft(
            second=second,
            contact_id=target.contact_id,
            owner_id=self.targets.owner_for(target),
            type_id=type_id,
            title=title,
            subject=None,
            recipients=None,
            deal_id=self.targets.deal_for(target),
            content=("none",) if empty else ("note", kind, name, friction),
        )

    def records(self, drafts: Sequence[Draft], first_index: int) -> Iterator[dict[str, Any]]:
        """Records for `drafts`, the slice of the day's drafts that starts at `first_index`."""
        for offset, draft in enumerate(drafts):
            yield {
                "Id": self.first_id + first_index + offset,
                "ContactId": draft.contact_id,
                "OwnerId": draft.owner_id,
                "Date": local_timestamp(self.day, draft.second),
                "TypeId": draft.type_id,
                "Title": draft.title,
                "Content": self.prose.content(draft),
                "EmailSubject": draft.subject,
                "EmailRecipients": draft.recipients,
                "DealId": draft.deal_id,
            }
