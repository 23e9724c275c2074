"""Synthetic landing data for the `crm` source: a Ploomes-style CRM export (contract §2, §3, §4.1).

Layout, per day, under `<landing>/crm/<table>/<YYYY-MM-DD>/`, one JSON object a line, field names
spelled as the CRM's API spells them:

- `interactions/interactions-NNNN.jsonl` — the day's interactions in `Date` order, at most 50,000
  lines a file (scale 1.0 gives ~200,000 a weekday, so the pipeline must read a folder of files);
- `contacts/contacts-0001.jsonl` — the request's first day holds every contact (~4,000 companies and
  ~20,000 people at scale 1.0, with historical `CreateDate`s); each later day only the contacts
  created or changed that day (~1.8%: new phone, e-mail or name spelling, plus a few new people
  and companies); the latest version of an `Id` wins;
- `deals/deals-0001.jsonl` — the first day holds every deal (~1,500: ~40% open, ~35% won, ~25%
  lost, created up to two years back); each later day the deals created, moved to a later stage,
  won or lost that day (a few %);
- `users/users-0001.jsonl` — all ~12 account managers, every day (the table is tiny).

Files beyond the ones a run writes (`<table>-NNNN.jsonl` left by an earlier, larger run) are
removed, so re-generating a day re-delivers exactly that day.

Interactions — shares of all interactions of a day (counts are exact, not drawn):

- Noise 35.3%:
  - mass e-mails 34.6%: four or more non-empty addresses in `EmailRecipients` (4 to ~60, ~9 on
    average, some with empty `; ;` entries). Nine in ten are campaign sends (`E-mail enviado.`),
    logged in bursts at the campaign's send time with the campaign's text; one in ten is a
    customer's reply-all (`E-mail recebido.`) on one of the company's threads;
  - read receipts 0.5% (at least one a day): `E-mail recebido.` with `EmailSubject` `Lida: ` /
    `Read: ` + an earlier subject, in varying case and sometimes with leading spaces;
  - delivery receipts 0.2% (at least one a day): half with `EmailSubject` `Entregue: ` /
    `Delivered: ` (same variations), half `E-mail recebido.` with a neutral subject and `Content`
    saying `sua mensagem foi entregue` in varying case.
- Valid 64.7%: 70% of them e-mails, 30% other kinds — `Ligação` (TypeId 2), `WhatsApp` (7),
  `Reunião` (4), `Tarefa` (6, with task-like titles), `Visita` (5) and notes with a null `Title`
  (1). E-mails have TypeId 3, `Title` `E-mail recebido.` (inbound) or `E-mail enviado.` (outbound)
  and 1-3 recipients; ~8% of them hold empty entries (`a@x.com; ;b@y.com`, a trailing `;`) that
  must not count.
- Near misses that are valid, not noise: subjects like `Lidar com atraso...` and `Entregues os
  documentos...`, and outbound e-mails whose text says `sua mensagem foi entregue`.

Who an interaction is on, for every kind, noise included (drawn once per e-mail thread): 60% a
company (TypeId 2 contact), 36% a person of a company (TypeId 1 with `CompanyId`), 2.5% a person
without a company and 1.5% an id that is not in the contacts (deleted contacts). 15% of thread
replies come from another person of the company, so a day ends up ~54% direct, ~42% via a person
and ~4% unresolved. Companies' activity is heavy-tailed (a few very busy accounts). `OwnerId` is
the company's account manager 85% of the time, another manager otherwise.

E-mail threads: every company has 3-6 topics whose subjects are fixed by the seed, so a thread
goes on across days. A thread holds 1 message (40%), 2 (22%), 3 (16%) or 4-10 (22%); replies and
forwards carry prefixes (`RE:`, `Re:`, `RES:`, `ENC:`, `FW:`, `Fwd:`, `RE: RES: `, ...; 30% of
opening messages too, continuing an earlier day's thread) and switch direction 80% of the time,
so many threads have three or more inbound↔outbound changes. A thread keeps its owner (the
topic's manager) and its company, with 15% of replies from another person of that company.

Friction (contract §4.1 words) in ~12% of valid interactions on a weekday (~15% on a Friday,
whose afternoon from 14:00 gets twice the rate): 5% of topics have a friction subject (`URGENTE -
...`, `Erro na nota fiscal ...`, `App Mobile nao funciona`) and ~8.5% of valid interactions get a
friction sentence in `Content` (or, for tasks, in `Title`). Words come with and without accents
and in mixed case (`não funciona` / `nao funciona` / `NÃO FUNCIONA`, `reclamação` /
`reclamacao`, `emergência` / `emergencia`, `CEO` / `ceo`). ~3% of valid interactions hold decoys
that contain a friction word but not as a whole word (`terrorismo`, `receoso`, `gravemente`,
`problemático`); all other text pools are filtered so they hold no friction word. One campaign
subject says `urgente`: friction in noise must not count.

Time: `Date` is local `America/Sao_Paulo` time with its offset (`-03:00`; `-02:00` on the summer
days before 2019), inside the folder's day, weighted to business hours with a lunch dip, and
weekends carry a quarter (Saturday) or a tenth (Sunday) of a weekday's volume.

Text: `Content` is Portuguese e-mail-like prose (greeting, 3-5 paragraphs, closing, signature, and
on replies a quoted earlier message; campaign text for mass e-mails; shorter notes for calls and
meetings, 5% of them empty) for ~1.4 KB a JSON line on average (1,396 bytes at scale 1.0).

Determinism: the same request gives byte-identical files. The entity universe (managers,
companies, people, deals, topics) is drawn from `request.rng("crm", "universe")` plus a Faker
(`pt_BR`) seeded from it, and the text pools from `request.rng("crm", "text")`; each day's
records from `request.rng("crm", <table>, <day>, ...)`. So a day's interactions depend only on the
seed, the scale and the date, never on other days or on `start`. Contacts and deals are
anchored at the request's first day (their history is dated back from it, and later days land
the changes since), so those two tables are reproducible per request. Faker is called only while
building the pools, never per record: records are sampled from the pools with `random.Random`.
Bytes can differ between Faker versions (its name lists change).

Where things are: `shape` sets the numbers above; `text_pools` reads the fixed text from
`pools/*.json` and draws the per-seed pools; `universe` builds managers, companies, people and
topics, `deals` the deals; `contacts` makes the contacts and users of a day; `day` drafts a
day's interactions, on targets from `drafts` and with the noise from `noise`, and `prose`
writes their `Content`; this module writes the files.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from typing import Any

from tqdm import tqdm

from cx_assets.synthetic.crm.contacts import contact_records, user_records
from cx_assets.synthetic.crm.day import InteractionDay
from cx_assets.synthetic.crm.deals import DealBook
from cx_assets.synthetic.crm.shape import SOURCE, TABLES
from cx_assets.synthetic.crm.text_pools import build_text_pools
from cx_assets.synthetic.crm.universe import build_universe
from cx_assets.synthetic.landing_writer import (
    GenerationRequest,
    landing_file,
    remove_stale,
    write_jsonl,
)

LINES_PER_FILE = 50_000
PROGRESS_EVERY = 10_000


# Megabytes of landing files in a scale-1 day: ~200,000 interactions of ~1.4 KB, and the
# contacts' changes.
# Linear in the scale (measured at 0.1 and 1): `cx-lakehouse generate` refuses a request
# whose files cannot fit on the disk.
DAY_MEGABYTES = 280


def generate(request: GenerationRequest) -> dict[str, int]:
    """Write CRM landing files for request.dates; return records written per table
    ({"interactions": n, "contacts": n, "deals": n, "users": n})."""
    universe = build_universe(request, build_text_pools(request))
    deal_book = DealBook(universe, request)
    totals = dict.fromkeys(TABLES, 0)
    for day in request.dates:
        interactions = InteractionDay(universe, request, day)
        contacts = contact_records(universe, request, day)
        deals = deal_book.records(day)
        users = user_records(universe)
        total = interactions.count + len(contacts) + len(deals) + len(users)
        with request.progress(total, f"crm {day.isoformat()}") as bar:
            drafts = interactions.drafts()
            totals["interactions"] += _write_table(
                request, "interactions", day, drafts, interactions.records, bar
            )
            totals["contacts"] += _write_table(request, "contacts", day, contacts, _as_is, bar)
            totals["deals"] += _write_table(request, "deals", day, deals, _as_is, bar)
            totals["users"] += _write_table(request, "users", day, users, _as_is, bar)
    return totals


def _write_table(
    request: GenerationRequest,
    table: str,
    day: date,
    items: Sequence[Any],
    render: Callable[[Sequence[Any], int], Iterable[dict[str, Any]]],
    bar: tqdm,
) -> int:
    """Write `items` as `<table>-NNNN.jsonl` files of at most LINES_PER_FILE lines (at least one
    file, possibly empty: "nothing changed today" is not "nothing delivered"), then remove the
    higher-numbered files an earlier run may have left."""
    written = 0
    paths = []
    file_count = max(1, math.ceil(len(items) / LINES_PER_FILE))
    for file_index in range(file_count):
        start = file_index * LINES_PER_FILE
        chunk = items[start : start + LINES_PER_FILE]
        path = landing_file(
            request.landing_dir, SOURCE, table, day, f"{table}-{file_index + 1:04d}.jsonl"
        )
        written += write_jsonl(path, _counting(render(chunk, start), bar))
        paths.append(path)
    remove_stale(path.parent, [f"{table}-[0-9][0-9][0-9][0-9].jsonl"], paths)
    return written


def _counting(records: Iterable[dict[str, Any]], bar: tqdm) -> Iterator[dict[str, Any]]:
    pending = 0
    for record in records:
        yield record
        pending += 1
        if pending == PROGRESS_EVERY:
            bar.update(pending)
            pending = 0
    bar.update(pending)


def _as_is(items: Sequence[dict[str, Any]], _: int) -> Iterable[dict[str, Any]]:
    return items
