"""Synthetic landing data for the `support` source: a ticketing system (contract section 2).

Per requested day:

- `support/tickets/<day>/tickets-part-NNNN.jsonl`: every ticket created or changed that day,
  each as its whole record in its state at the end of the day, 5,000 lines a file. About 2%
  of the tickets created and picked up that day also get an earlier line (their state right
  after creation) before the final one: the later line wins.
- `support/agents/<day>/agents.csv`: every agent on the first day, then the agents whose
  `max_open_tickets` changed (at least one a day).
- `support/customers/<day>/customers.csv`: the whole base on the first day, then new
  customers (~0.4% of the base a day) and changed versions (a new plan, ~0.2%).

Volumes at scale 1 (contract §3): ~7,500 new tickets a day in the first week
(`shape.NEW_TICKETS_PER_DAY`), which with re-deliveries makes ~20,000 ticket records a day
(the first day, with nothing to re-deliver yet, its new tickets: about 11,000 on a
Monday, 7,600 on a Friday); ~150 agents in six teams;
~30,000 customers on day one. Tiny scales keep at least 20 tickets, 6 agents and 60 customers a day.

Patterns a pipeline and its models should find:

- **Volume:** a weekly pattern (Mondays ~1.5× the mean, Sundays ~0.5×) and a trend (+2% a
  week overall, categories growing at different rates), Poisson noise around it. The first
  generated week averages the stated level.
- **Mixes:** priority urgent 6%, high 20%, medium 44%, low 30%; channel email 38%, chat 26%,
  web 24%, phone 12%; six categories (billing, technical, account, shipping, returns,
  general). ~20% of tickets are delivered without a category and ~10% of the categorized
  ones carry the wrong one (the text is about another), so a classifier cannot be perfect.
- **Text:** subjects and descriptions written per true category from `pools/text.json`, with
  shared vocabulary and ~15% of tickets borrowing a sentence of another category; ~5% carry
  the customer's real e-mail address or phone number (personal data the pipeline must mask).
- **Lifecycles over several days:** queue wait (longer for low priority; ~1.5% stuck for
  6–30 hours), first response, resolution (~2% only 5–20 days later, always breached),
  closing 1–3 days later (60%) and a CSAT answer 1–30 hours after resolution (45%). Each
  change re-delivers the ticket.
- **Agents differ:** each agent's speed (lognormal, σ 0.5) multiplies every delay of their
  tickets, so slow agents breach SLAs far more often; overall ~10–20% of tickets breach a
  target. CSAT falls with breaches and with long waits.
- **Timestamps:** ISO-8601; most without offset (UTC), ~10% with `Z`, ~5% in local time
  with `-03:00`.

Deterministic for a seed: the same request writes the same bytes. Each creation day draws
from its own generator, but the customer base is drawn at once for the whole request (its new
customers of every day), so a ticket's customer, and the customers' file, depend on `--days`
too: `--start D --days 3` and three one-day requests from D, D+1 and D+2 write other files
(as do CRM contacts and deals, and digital, whose simulation spans the range; CRM
interactions and call transcripts depend on their day alone).

Where things are: `shape` sets the numbers above, `people` the agents and customers,
`tickets` the ticket lives and what a day delivers, `text` what tickets say; this module
writes the files.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from cx_assets.synthetic.landing_writer import (
    GenerationRequest,
    chunked,
    landing_file,
    remove_stale,
    write_csv,
    write_jsonl,
)
from cx_assets.synthetic.support.people import (
    agent_changes,
    build_agents,
    build_customers,
    customer_changes,
)
from cx_assets.synthetic.support.shape import (
    AGENT_COLUMNS,
    CATEGORIES,
    CHANNELS,
    CUSTOMER_COLUMNS,
    HOUR,
    PRIORITIES,
    SOURCE,
    WEEKLY_GROWTH,
)
from cx_assets.synthetic.support.tickets import (
    MINUS_THREE,
    UNLABELLED,
    ZULU,
    Tickets,
    simulate_day,
    versions_of_day,
)

__all__ = ["generate"]

PART_SIZE = 5_000
TICKET_FILE_PATTERN = "tickets-part-*.jsonl"


# Megabytes of landing files in a scale-1 day: ~20,000 ticket records (the first day adds ~4
# MB of customers).
# Linear in the scale (measured at 0.1 and 1): `cx-lakehouse generate` refuses a request
# whose files cannot fit on the disk.
DAY_MEGABYTES = 11
# What a range is made of (measured at scale 1): the customer base on its first day, and each
# day's tickets, about 9.9 MB once earlier days' tickets are re-delivered as they change (the
# first days land less: nothing earlier to re-deliver), growing as the tickets do.
CUSTOMER_BASE_MEGABYTES = 2.7
TICKET_DAY_MEGABYTES = 9.9
FIRST_DAYS_SHORTFALL, FIRST_DAYS_DECAY = 0.45, 1.6  # day d lands 1 - 0.45 e^(-d / 1.6) of it


def days_megabytes(days: int) -> float:
    """About how many megabytes `days` days from `--start` write at scale 1: the tickets grow
    2% a week, so a year is about 1.75 times 364 first-week days (`cx-lakehouse generate`
    checks the free disk space with it)."""
    weekly = math.log(WEEKLY_GROWTH)
    tickets = sum(
        math.exp(min(50.0, weekly * day / 7))
        * (1 - FIRST_DAYS_SHORTFALL * math.exp(-day / FIRST_DAYS_DECAY))
        for day in range(days)
    )
    return CUSTOMER_BASE_MEGABYTES + TICKET_DAY_MEGABYTES * tickets


def generate(request: GenerationRequest) -> dict[str, int]:
    """Write support landing files for request.dates; return records written per table."""
    agents = build_agents(request)
    customers = build_customers(request)
    skilled = agents.by_category()
    tickets = Tickets.concat(
        [simulate_day(request, d, agents, customers, skilled) for d in range(request.days)]
    )
    written = {"tickets": 0, "agents": 0, "customers": 0}
    with request.progress(len(tickets), SOURCE) as progress:
        for day_index, day in enumerate(request.dates):
            changed_agents = (
                range(len(agents.ids))
                if day_index == 0
                else agent_changes(request, agents, day_index)
            )
            written["agents"] += write_csv(
                _path(request, "agents", day, "agents.csv"),
                AGENT_COLUMNS,
                [agents.row(a) for a in changed_agents],
            )
            landed = np.flatnonzero(customers.landing_day == day_index).tolist()
            changed = [] if day_index == 0 else customer_changes(request, customers, day_index)
            written["customers"] += write_csv(
                _path(request, "customers", day, "customers.csv"),
                CUSTOMER_COLUMNS,
                [customers.row(c) for c in sorted({*landed, *changed})],
            )
            written["tickets"] += _write_tickets(request, tickets, agents, customers, day_index)
            progress.update(int((tickets.created < _end_of(day)).sum()) - progress.n)
    return written


def _path(request: GenerationRequest, table: str, day: date, name: str) -> Path:
    return landing_file(request.landing_dir, SOURCE, table, day, name)


def _end_of(day: date) -> float:
    return float(np.datetime64(day, "s").astype(np.int64) + 24 * HOUR)


def _write_tickets(
    request: GenerationRequest, tickets: Tickets, agents, customers, day_index: int
) -> int:
    day = request.dates[day_index]
    versions = versions_of_day(request, tickets, day_index)
    end = _end_of(day)
    records = [
        *(
            _record(tickets, agents, customers, i, tickets.created[i] + 1)
            for i in versions.revised_early
        ),
        *(_record(tickets, agents, customers, i, end) for i in versions.tickets),
    ]
    folder = _path(request, "tickets", day, "x").parent
    files = set()
    count = 0
    for part, lines in enumerate(chunked(records, PART_SIZE), start=1):
        target = folder / f"tickets-part-{part:04d}.jsonl"
        count += write_jsonl(target, lines)
        files.add(target)
    if not records:  # an empty day still delivers an (empty) file
        target = folder / "tickets-part-0001.jsonl"
        write_jsonl(target, [])
        files.add(target)
    remove_stale(folder, (TICKET_FILE_PATTERN,), files)
    return count


def _timestamp(tickets: Tickets, i: int, seconds: float, until: float) -> str | None:
    """The time as the ticket's system writes it, or None when it lies after `until`."""
    if np.isnan(seconds) or seconds >= until:
        return None
    style = tickets.time_style[i]
    shift = -3 * HOUR if style == MINUS_THREE else 0
    text = str(np.datetime64(int(seconds + shift), "s"))
    return text + ("Z" if style == ZULU else "-03:00" if style == MINUS_THREE else "")


def _record(tickets: Tickets, agents, customers, i: int, until: float) -> dict[str, Any]:
    """Ticket `i` as of `until` (seconds since the epoch)."""
    first_response = _timestamp(tickets, i, tickets.first_response[i], until)
    resolved = _timestamp(tickets, i, tickets.resolved[i], until)
    if not np.isnan(tickets.closed[i]) and tickets.closed[i] < until:
        status = "closed"
    elif resolved is not None:
        status = "resolved"
    elif first_response is not None and tickets.pending[i]:
        status = "pending"
    else:
        status = "open"
    customer = int(tickets.customer[i])
    subject, description = tickets.text.render(
        i, int(tickets.category[i]), customers.emails[customer], customers.phones[customer]
    )
    label = int(tickets.label[i])
    csat_given = not np.isnan(tickets.csat_at[i]) and tickets.csat_at[i] < until
    return {
        "ticket_id": tickets.ids[i],
        "customer_id": customers.ids[customer],
        "agent_id": agents.ids[tickets.agent[i]] if tickets.assigned[i] < until else None,
        "created_at": _timestamp(tickets, i, tickets.created[i], until + 1),
        "first_response_at": first_response,
        "resolved_at": resolved,
        "status": status,
        "priority": PRIORITIES[tickets.priority[i]],
        "channel": CHANNELS[tickets.channel[i]],
        "category": None if label == UNLABELLED else CATEGORIES[label],
        "subject": subject,
        "description": description,
        "csat_score": int(tickets.csat[i]) if csat_given else None,
    }
