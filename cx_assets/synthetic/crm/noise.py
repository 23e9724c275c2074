"""The noise of a day: mass e-mails (campaign sends and customers' reply-alls) and read and
delivery receipts, drafted on the day's generator after its valid interactions."""

from __future__ import annotations

from cx_assets.synthetic.crm.drafts import Draft, Target, Targets
from cx_assets.synthetic.crm.shape import (
    CAMPAIGN_SHARE_OF_MASS,
    EMAIL_TYPE_ID,
    OWN_DOMAIN,
    TITLE_INBOUND,
    TITLE_OUTBOUND,
    business_second,
)
from cx_assets.synthetic.crm.text_pools import (
    CAMPAIGN_SUBJECTS,
    DELIVERY_NOTICE_SUBJECTS,
    DELIVERY_SUBJECT_PREFIXES,
    LOOSE_SUBJECTS,
    READ_RECEIPT_PREFIXES,
    fill,
    reply_prefix,
)

Campaign = tuple[str, int, int]  # (subject, index of its body, second it is sent at)


class Noise:
    def __init__(self, targets: Targets) -> None:
        self.targets = targets
        self.rng = targets.rng
        self.text = targets.universe.text

    def mass_emails(self, count: int) -> list[Draft]:
        """Campaign sends logged in bursts, plus customers' reply-alls on their own threads."""
        campaign_count = max(1, min(8, count // 2000 + 1))
        campaigns = [self.campaign() for _ in range(campaign_count)]
        sends = round(count * CAMPAIGN_SHARE_OF_MASS)
        drafts: list[Draft] = []
        for index in range(count):
            target = self.targets.pick()
            recipients = self.mass_recipients(target)
            if index < sends:
                campaign = campaigns[index % campaign_count]
                drafts.append(self.campaign_send(target, recipients, campaign))
            else:
                drafts.append(self.reply_all(target, recipients))
        return drafts

    def campaign(self) -> Campaign:
        rng = self.rng
        return (
            fill(rng.choice(CAMPAIGN_SUBJECTS), rng, self.text.cities),
            rng.randrange(len(self.text.campaign_bodies)),
            rng.choice((8, 9, 10, 11, 14, 15, 16)) * 3600 + rng.randrange(0, 3600, 300),
        )

    def mass_recipients(self, target: Target) -> str:
        rng = self.rng
        all_emails = self.targets.universe.all_emails
        addresses = [target.email, *rng.choices(all_emails, k=self.mass_size())]
        while len(set(addresses)) < 4:
            addresses.append(f"contato{len(addresses)}@{OWN_DOMAIN}")
        addresses = list(dict.fromkeys(addresses))
        recipients = "; ".join(addresses)
        if rng.random() < 0.05:
            recipients = recipients.replace("; ", "; ; ", 1)  # an empty entry, still 4+ real
        return recipients

    def mass_size(self) -> int:
        """Extra recipients of a mass e-mail: at least 3 more, ~8 on average, a long tail."""
        return min(60, 3 + int(self.rng.expovariate(1 / 5)))

    def campaign_send(self, target: Target, recipients: str, campaign: Campaign) -> Draft:
        subject, body, sent_at = campaign
        return Draft(
            second=min(86_399, sent_at + self.rng.randrange(900)),
            contact_id=target.contact_id,
            owner_id=self.targets.owner_for(target),
            type_id=EMAIL_TYPE_ID,
            title=TITLE_OUTBOUND,
            subject=subject,
            recipients=recipients,
            deal_id=None,
            content=("campaign", target.greeting_name, body),
        )

    def reply_all(self, target: Target, recipients: str) -> Draft:
        """A customer's reply-all on one of its company's threads."""
        owner_id = self.targets.owner_for(target)
        manager_name = self.targets.managers_by_id[owner_id].name
        return Draft(
            second=business_second(self.rng),
            contact_id=target.contact_id,
            owner_id=owner_id,
            type_id=EMAIL_TYPE_ID,
            title=TITLE_INBOUND,
            subject=reply_prefix(self.rng) + self.thread_subject(target),
            recipients=recipients,
            deal_id=None,
            content=("mail", None, target.signature, False, manager_name, True),
        )

    def thread_subject(self, target: Target) -> str:
        if target.company is not None:
            return self.rng.choice(target.company.topics).subject
        return fill(self.rng.choice(LOOSE_SUBJECTS), self.rng, self.text.cities)

    def read_receipt(self) -> Draft:
        rng = self.rng
        target = self.targets.pick()
        subject = self.thread_subject(target)
        if rng.random() < 0.3:
            subject = reply_prefix(rng) + subject
        prefix = rng.choice(READ_RECEIPT_PREFIXES)
        owner_id = self.targets.owner_for(target)
        return Draft(
            second=business_second(rng),
            contact_id=target.contact_id,
            owner_id=owner_id,
            type_id=EMAIL_TYPE_ID,
            title=TITLE_INBOUND,
            subject=prefix + subject,
            recipients=self.targets.managers_by_id[owner_id].email,
            deal_id=None,
            content=("read", subject, target.email, prefix.strip().lower().startswith("read")),
        )

    def delivery_receipt(self, index: int) -> Draft:
        rng = self.rng
        target = self.targets.pick()
        original = self.thread_subject(target)
        owner_id = self.targets.owner_for(target)
        # Alternate the two shapes so even a one-receipt day has the subject form first.
        if index % 2 == 0:
            prefix = rng.choice(DELIVERY_SUBJECT_PREFIXES)
            subject = prefix + original
            english = prefix.strip().lower().startswith("delivered")
        else:
            subject = rng.choice(DELIVERY_NOTICE_SUBJECTS)
            english = False
        return Draft(
            second=business_second(rng),
            contact_id=target.contact_id,
            owner_id=owner_id,
            type_id=EMAIL_TYPE_ID,
            title=TITLE_INBOUND,
            subject=subject,
            recipients=self.targets.managers_by_id[owner_id].email,
            deal_id=None,
            content=("delivery", original, target.email, english),
        )
