"""The CRM's text: fixed pools read from `pools/*.json`, and the pools drawn once per seed.

The files hold what a person would edit (Portuguese subjects, sentences, greetings, names of
sectors and products); the code holds the rules:

- `words.json`: months, products, areas, sectors, company suffixes, free e-mail domains;
- `email.json`: e-mail sentences, greetings, closings, topic subjects and reply prefixes with
  their weights. The last two topic subjects are near misses that stay valid: `Lidar com...` and
  `Entregues os...` start like receipt prefixes but are no receipts;
- `notes.json`: sentences and openers of calls, meetings, tasks and notes (key `note`: the
  openers of notes, whose `Title` is null), task titles;
- `campaigns.json`: mass e-mail subjects, sentences and footer. One subject says `urgente`:
  friction in noise must not count;
- `receipts.json`: read and delivery receipt prefixes, subjects and phrases, in their case and
  spacing variants;
- `friction.json`: friction sentence templates with every spelling of their word (`{w}`),
  friction subjects and task titles, and decoys that hold a friction word only inside a longer
  word (`receoso`, `terrorismo`).

Templates take slots `{produto} {data} {valor} {numero} {n} {pct} {mes} {ano} {cidade} {hora}
{area}`, filled by `fill`. Pools other than the friction ones are kept free of friction words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate
from random import Random

from faker import Faker

from cx_assets.synthetic.crm.shape import SOURCE
from cx_assets.synthetic.landing_writer import GenerationRequest
from cx_assets.synthetic.pool_files import load_pools

_words = load_pools(__package__, "words.json")
MONTHS: tuple[str, ...] = _words["months"]
PRODUCTS: tuple[str, ...] = _words["products"]
AREAS: tuple[str, ...] = _words["areas"]
SECTORS: tuple[str, ...] = _words["sectors"]
COMPANY_SUFFIXES: tuple[str, ...] = _words["company_suffixes"]
FREE_EMAIL_DOMAINS: tuple[str, ...] = _words["free_email_domains"]

_email = load_pools(__package__, "email.json")
BODY_SENTENCES: tuple[str, ...] = _email["body_sentences"]
CLOSINGS: tuple[str, ...] = _email["closings"]
PERSON_GREETINGS: tuple[str, ...] = _email["person_greetings"]
TEAM_GREETINGS: tuple[str, ...] = _email["team_greetings"]
TOPIC_SUBJECTS: tuple[str, ...] = _email["topic_subjects"]
LOOSE_SUBJECTS: tuple[str, ...] = _email["loose_subjects"]
REPLY_PREFIXES: tuple[tuple[str, int], ...] = _email["reply_prefixes"]  # (prefix, weight)

_notes = load_pools(__package__, "notes.json")
NOTE_SENTENCES: tuple[str, ...] = _notes["note_sentences"]
NOTE_OPENERS: dict[str | None, tuple[str, ...]] = {
    (None if kind == "note" else kind): openers for kind, openers in _notes["note_openers"].items()
}
TASK_TITLES: tuple[str, ...] = _notes["task_titles"]

_campaigns = load_pools(__package__, "campaigns.json")
CAMPAIGN_SUBJECTS: tuple[str, ...] = _campaigns["campaign_subjects"]
MARKETING_SENTENCES: tuple[str, ...] = _campaigns["marketing_sentences"]
MASS_FOOTER: str = _campaigns["footer"]

_receipts = load_pools(__package__, "receipts.json")
READ_RECEIPT_PREFIXES: tuple[str, ...] = _receipts["read_receipt_prefixes"]
DELIVERY_SUBJECT_PREFIXES: tuple[str, ...] = _receipts["delivery_subject_prefixes"]
DELIVERY_NOTICE_SUBJECTS: tuple[str, ...] = _receipts["delivery_notice_subjects"]
DELIVERY_NOTICE_PHRASES: tuple[str, ...] = _receipts["delivery_notice_phrases"]

_friction = load_pools(__package__, "friction.json")
# Per friction group, (template, the spellings of its word).
FRICTION_TEMPLATES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = _friction[
    "friction_templates"
]
FRICTION_TOPIC_SUBJECTS: tuple[str, ...] = _friction["friction_topic_subjects"]
FRICTION_TASK_TITLES: tuple[str, ...] = _friction["friction_task_titles"]
DECOY_SENTENCES: tuple[str, ...] = _friction["decoy_sentences"]

# The contract's friction vocabulary (§4.1), used to keep every non-friction pool clean.
FRICTION_TERMS = (
    "urgente", "prioridade", "asap", "pra ontem", "grave", "emergencia",
    "erro", "problema", "falha", "nao funciona", "reclamacao", "defeito",
    "gerente", "diretor", "supervisor", "advogado", "presidente", "ceo",
)  # fmt: skip
FRICTION_PATTERN = re.compile(
    r"\b(?:" + "|".join(term.replace(" ", r"\s+") for term in FRICTION_TERMS) + r")\b"
)


def fold(text: str) -> str:
    """Lower case without accents, the form friction words are matched in."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()


def has_friction_word(text: str) -> bool:
    return FRICTION_PATTERN.search(fold(text)) is not None


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", fold(text))


def fill(template: str, rng: Random, cities: Sequence[str], **extra: str) -> str:
    """Fill a template's slots with plausible values (only the slots it uses are drawn)."""
    values: dict[str, str] = {}
    if "{produto}" in template:
        values["produto"] = rng.choice(PRODUCTS)
    if "{data}" in template:
        values["data"] = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}"
    if "{valor}" in template:
        reais = rng.randint(1_000, 250_000)
        values["valor"] = f"{reais:,}".replace(",", ".") + f",{rng.randrange(100):02d}"
    if "{numero}" in template:
        values["numero"] = str(rng.randint(10_000, 99_999))
    if "{n}" in template:
        values["n"] = str(rng.randint(2, 30))
    if "{pct}" in template:
        values["pct"] = str(rng.choice((5, 8, 10, 12, 15, 20, 25)))
    if "{mes}" in template:
        values["mes"] = rng.choice(MONTHS)
    if "{ano}" in template:
        values["ano"] = str(rng.randint(2023, 2026))
    if "{cidade}" in template:
        values["cidade"] = rng.choice(cities)
    if "{hora}" in template:
        values["hora"] = str(rng.choice((9, 10, 11, 14, 15, 16, 17)))
    if "{area}" in template:
        values["area"] = rng.choice(AREAS)
    values.update(extra)
    return template.format(**values)


_REPLY_PREFIX_TEXTS = [prefix for prefix, _ in REPLY_PREFIXES]
_REPLY_PREFIX_CUMULATIVE = list(accumulate(weight for _, weight in REPLY_PREFIXES))


def reply_prefix(rng: Random) -> str:
    return rng.choices(_REPLY_PREFIX_TEXTS, cum_weights=_REPLY_PREFIX_CUMULATIVE)[0]


@dataclass(frozen=True)
class TextPools:
    """Text drawn once per seed with Faker; records only sample from it."""

    first_names: list[str]
    last_names: list[str]
    cities: list[str]
    jobs: list[str]
    body_paragraphs: list[str]
    note_sentences: list[str]
    friction_sentences: list[str]
    decoy_sentences: list[str]
    campaign_bodies: list[str]


def clean_unique(values: Iterable[str]) -> list[str]:
    """Distinct values, in first-seen order, without friction words (so friction stays controlled)."""
    return [value for value in dict.fromkeys(values) if value and not has_friction_word(value)]


def build_text_pools(request: GenerationRequest) -> TextPools:
    rng = request.rng(SOURCE, "text")
    fake = Faker("pt_BR")
    fake.seed_instance(rng.getrandbits(64))
    first_names = clean_unique(fake.first_name() for _ in range(600))
    last_names = clean_unique(fake.last_name() for _ in range(600))
    cities = clean_unique(fake.city() for _ in range(300))
    # Faker's pt_BR jobs are long ("Costurador de calçados, a máquina"): keep the short ones.
    jobs = clean_unique(job for job in (fake.job() for _ in range(400)) if len(job) <= 28)
    jobs += ["Analista de Compras", "Coordenadora Financeira", "Comprador", "Analista de TI"]
    return TextPools(
        first_names=first_names,
        last_names=last_names,
        cities=cities,
        jobs=clean_unique(jobs),
        **_drawn_text(rng, cities),
    )


def _drawn_text(rng: Random, cities: list[str]) -> dict[str, list[str]]:
    """Paragraphs and sentences with their slots filled, in a fixed order of draws."""
    # Distinct templates within a paragraph, so no paragraph says the same thing twice.
    body_paragraphs = clean_unique(
        " ".join(fill(template, rng, cities) for template in rng.sample(BODY_SENTENCES, size))
        for size in (rng.randint(2, 4) for _ in range(1500))
    )
    note_sentences = clean_unique(fill(rng.choice(NOTE_SENTENCES), rng, cities) for _ in range(800))
    # Every spelling of every friction word, three times with different slot values.
    friction_sentences = [
        fill(template, rng, cities, w=word)
        for templates in FRICTION_TEMPLATES.values()
        for template, words in templates
        for word in words
        for _ in range(3)
    ]
    decoy_sentences = [fill(template, rng, cities) for template in DECOY_SENTENCES]
    campaign_bodies = []
    for _ in range(40):
        paragraphs = [
            " ".join(fill(rng.choice(MARKETING_SENTENCES), rng, cities) for _ in range(3))
            for _ in range(4)
        ]
        campaign_bodies.append("\n\n".join(paragraphs))
    return {
        "body_paragraphs": body_paragraphs,
        "note_sentences": note_sentences,
        "friction_sentences": friction_sentences,
        "decoy_sentences": decoy_sentences,
        "campaign_bodies": campaign_bodies,
    }
