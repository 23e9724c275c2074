"""Who should take the open tickets without an agent: an exact plan with scipy's `milp`
(HiGHS), against a greedy baseline.

Rules: an agent takes only tickets of a category in their skills (compared trimmed and
case-insensitively, letter by letter as DuckDB's lower()), and their open tickets plus new
ones never exceed `max_open_tickets`.

Objective, lexicographic:
1. **Most urgent first, then the earliest SLA deadline.** Tickets are ranked by priority
   (urgent first), then their next SLA deadline (first response while none came, else
   resolution; breached ones come first), then ticket_id. The planned set is the best
   possible in that order: no unplanned ticket could be planned without dropping a
   higher-ranked one.
2. **Then balanced load.** Among plans with that set, the one that minimises the sum over
   agents of their utilisation after each new ticket, (open + k) ÷ max_open_tickets for
   their k-th new ticket: new work goes to the agents with the most room, relative to
   their capacity.

How it is solved exactly, in two min-cost flows with `milp`: source → category (one arc
per ticket) → agent (skill) → sink (one arc per free slot). Their constraint matrix is
totally unimodular, so `milp` returns integer flows at once.
1. A ticket's weight is n − rank (distinct integers). The tickets one can plan at once
   form a matroid (a transversal one, over agents' free slots), so the set with the
   largest total weight is the lexicographically best set (1): the first flow maximises
   it, slots costing nothing. Only each category's top tickets (as many as its agents'
   free slots) can ever be planned, so the rest are left out before solving.
2. The second flow must carry exactly that set; each free slot costs the agent's
   utilisation after it, unscaled. (One flow with the balance scaled below one unit of
   weight was exact in principle, but on 3,000 tickets the scaled differences between
   plans, ~1e-8, fell under the solver's tolerances, and an audit found plans a single
   move improved.)
Within a category, planned tickets go to agents in rank order, the least utilised first.

Greedy baseline: tickets in rank order, each to the skilled agent with room and the lowest
utilisation. It never revisits a choice, so a multi-skilled agent may be filled with
tickets others could have taken.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cx_assets.support.rules import PRIORITIES

PLAN_COLUMNS = ["ticket_id", "priority", "category", "agent_id", "reason"]
NO_CATEGORY = "no category: none delivered and none predicted"
NO_SKILL = "no agent has the skill {category}"
ALL_FULL = "every agent with the skill {category} is at capacity"
OUTRANKED = "agents with the skill {category} are full with more urgent or earlier tickets"
BALANCE_BUDGET = 0.5  # the whole balance term stays below one unit of ticket weight


@dataclass
class Plan:
    assignments: pd.DataFrame  # PLAN_COLUMNS, one row per ticket
    report: dict


def _lower(text: str) -> str:
    """`text` in lower case letter by letter, as DuckDB's lower() makes the classifier's
    labels and the plan's check compares skills: `İade` is `iade` (str.lower() adds a
    combining dot), and a final `Σ` is `σ` (str.lower() makes it `ς`)."""
    return "".join("i" if char == "\u0130" else char.lower() for char in text)


def _skill(value: object) -> str | None:
    text = _lower(str(value).strip()) if value is not None and not pd.isna(value) else ""
    return text or None


def _skills(value: object) -> set[str]:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return set()
    return {skill for part in str(value).split(";") if (skill := _skill(part))}


def ranked(tickets: pd.DataFrame) -> pd.DataFrame:
    """Tickets in plan order: priority (urgent first), SLA deadline, ticket_id; with
    `weight` = n − rank and the category's skill key."""
    order = {priority: rank for rank, priority in enumerate(PRIORITIES)}
    frame = tickets.assign(
        _priority=tickets["priority"].map(order).fillna(len(order)),
        _deadline=pd.to_datetime(tickets["sla_deadline"], utc=True),
        skill=[_skill(category) for category in tickets["category"]],
    ).sort_values(["_priority", "_deadline", "ticket_id"], na_position="last", kind="stable")
    frame = frame.drop(columns=["_priority", "_deadline"]).reset_index(drop=True)
    frame["weight"] = np.arange(len(frame), 0, -1, dtype=float)
    return frame


@dataclass
class _Agents:
    ids: list[str]
    skills: list[set[str]]
    capacity: np.ndarray  # max_open_tickets
    open: np.ndarray  # open tickets already held
    room: np.ndarray  # free slots

    @classmethod
    def of(cls, agents: pd.DataFrame) -> _Agents:
        frame = agents.sort_values("agent_id", kind="stable")
        capacity = frame["max_open_tickets"].to_numpy(dtype=float)
        held = frame["open_tickets"].to_numpy(dtype=float)
        return cls(
            ids=frame["agent_id"].astype(str).tolist(),
            skills=[_skills(value) for value in frame["skills"]],
            capacity=capacity,
            open=held,
            room=np.maximum(capacity - held, 0).astype(int),
        )

    def __post_init__(self) -> None:
        self._skilled: dict[str, list[int]] = defaultdict(list)
        for agent, skills in enumerate(self.skills):
            for skill in skills:
                self._skilled[skill].append(agent)

    def skilled(self, skill: str) -> list[int]:
        return self._skilled.get(skill, [])

    def utilisation_after(self, agent: int, k: int) -> float:
        """The agent's utilisation after their k-th new ticket (k from 0)."""
        return (self.open[agent] + k + 1) / self.capacity[agent]

    def slot_cost(self, agent: int, k: int) -> float:
        """`utilisation_after` scaled so that all free slots together cost at most
        `BALANCE_BUDGET`: the report's one number for a plan (weight − balance) then ranks
        plans as the lexicographic objective does."""
        return BALANCE_BUDGET / max(int(self.room.sum()), 1) * self.utilisation_after(agent, k)


def plan_assignments(tickets: pd.DataFrame, agents: pd.DataFrame) -> Plan:
    """`tickets`: ticket_id, priority, category, sla_deadline. `agents`: agent_id, skills
    (`;`-separated), max_open_tickets, open_tickets. Returns the optimal plan and a report
    comparing it with the greedy baseline."""
    order = ranked(tickets)
    crew = _Agents.of(agents)
    reasons, candidates = _screen(order, crew)
    chosen = _solve(order, crew, candidates)
    for index in (i for indices in candidates.values() for i in indices):
        if index not in chosen:
            reasons[index] = OUTRANKED.format(category=order.at[index, "category"])
    greedy = greedy_assignments(order, crew)
    plan = order.assign(
        agent_id=[crew.ids[chosen[i]] if i in chosen else None for i in range(len(order))],
        reason=[reasons.get(i) for i in range(len(order))],
    )
    report = {
        "objective": "lexicographic: most urgent, then earliest SLA deadline, then balanced load",
        "tickets": len(order),
        "agents": len(crew.ids),
        "optimal": _score(order, crew, chosen),
        "greedy": _score(order, crew, greedy),
        "unplanned_by_reason": _reason_kinds(reasons.values()),
    }
    return Plan(plan[PLAN_COLUMNS].reset_index(drop=True), report)


def _screen(order: pd.DataFrame, crew: _Agents) -> tuple[dict[int, str], dict[str, list[int]]]:
    """Reasons for tickets no agent can take, and per skill the tickets worth solving for:
    its top ones, as many as its agents' free slots."""
    reasons: dict[int, str] = {}
    by_skill: dict[str, list[int]] = defaultdict(list)
    for index, skill in enumerate(order["skill"]):
        category = order.at[index, "category"]
        if skill is None:
            reasons[index] = NO_CATEGORY
        elif not crew.skilled(skill):
            reasons[index] = NO_SKILL.format(category=category)
        elif crew.room[crew.skilled(skill)].sum() == 0:
            reasons[index] = ALL_FULL.format(category=category)
        else:
            by_skill[skill].append(index)
    candidates = {}
    for skill, indices in by_skill.items():
        slots = int(crew.room[crew.skilled(skill)].sum())
        candidates[skill] = indices[:slots]
        for index in indices[slots:]:
            reasons[index] = OUTRANKED.format(category=order.at[index, "category"])
    return reasons, candidates


def _solve(order: pd.DataFrame, crew: _Agents, candidates: dict[str, list[int]]) -> dict[int, int]:
    """The two flows of the module docstring; ticket index -> agent."""
    if not candidates:
        return {}
    flows = _flow(order, crew, candidates, weighted=True)
    planned = {index for index, _ in flows.tickets}
    kept = {
        skill: [index for index in indices if index in planned]
        for skill, indices in candidates.items()
    }
    kept = {skill: indices for skill, indices in kept.items() if indices}
    if not kept:
        return {}
    balanced = _flow(order, crew, kept, weighted=False)
    return _hand_out(order, crew, sorted(planned), balanced.quota)


@dataclass
class _Flows:
    tickets: list[tuple[int, str]]  # (ticket index, skill) of the tickets carried
    quota: dict[str, dict[int, int]]  # per skill, tickets to each agent


def _flow(
    order: pd.DataFrame, crew: _Agents, candidates: dict[str, list[int]], *, weighted: bool
) -> _Flows:
    """A min-cost flow of `candidates` (per skill, ticket indices) through skilled agents'
    free slots, with `milp`. `weighted`: the largest total ticket weight, slots free of
    cost (step 1); else every candidate carried, each slot costing the utilisation after
    it (step 2)."""
    network = _Network.of(order, crew, candidates, weighted=weighted)
    return network.flows(_solved(network))


@dataclass
class _Network:
    """The flow network: arcs (variables) from each ticket into its category (step 1
    only), from a category into each agent with the skill, and out of an agent through
    each of its free slots; a node (constraint row) per category and per agent."""

    tickets: list[tuple[str, int]]  # (skill, ticket index)
    pairs: list[tuple[str, int]]  # (skill, agent)
    cost: np.ndarray
    upper: np.ndarray
    supply: np.ndarray  # each node's net flow, both bounds of its row
    rows: list[int]
    cols: list[int]
    values: list[float]

    @classmethod
    def of(
        cls,
        order: pd.DataFrame,
        crew: _Agents,
        candidates: dict[str, list[int]],
        *,
        weighted: bool,
    ) -> _Network:
        skills = sorted(candidates)
        wanted = {a: 0 for s in skills for a in crew.skilled(s)}
        for skill in skills:
            for agent in crew.skilled(skill):
                wanted[agent] += len(candidates[skill])
        slots = {a: min(int(crew.room[a]), wanted[a]) for a in wanted if crew.room[a] > 0}
        # Step 2 has no ticket arcs: each category supplies its count of the decided set.
        tickets = (
            [(skill, index) for skill in skills for index in candidates[skill]] if weighted else []
        )
        pairs = [(s, agent) for s in skills for agent in crew.skilled(s) if agent in slots]
        slot_vars = [(agent, k) for agent in sorted(slots) for k in range(slots[agent])]
        cost = np.concatenate(
            [
                [-order.at[index, "weight"] for _, index in tickets],
                np.zeros(len(pairs)),
                [0.0 if weighted else crew.utilisation_after(a, k) for a, k in slot_vars],
            ]
        )
        upper = np.concatenate(
            [np.ones(len(tickets)), [crew.room[a] for _, a in pairs], np.ones(len(slot_vars))]
        )
        supply = np.zeros(len(skills) + len(slots))
        if not weighted:
            supply[: len(skills)] = [-len(candidates[skill]) for skill in skills]
        network = cls(tickets, pairs, cost, upper, supply, [], [], [])
        skill_row = {skill: r for r, skill in enumerate(skills)}
        agent_row = {agent: len(skills) + r for r, agent in enumerate(sorted(slots))}
        n_t, n_p = len(tickets), len(pairs)
        for col, (skill, _) in enumerate(tickets):
            network.enter(skill_row[skill], col, 1.0)  # tickets into the category
        for offset, (skill, agent) in enumerate(pairs):
            network.enter(skill_row[skill], n_t + offset, -1.0)  # out of the category
            network.enter(agent_row[agent], n_t + offset, 1.0)  # into the agent
        for offset, (agent, _) in enumerate(slot_vars):
            network.enter(agent_row[agent], n_t + n_p + offset, -1.0)  # out through a slot
        return network

    def enter(self, row: int, col: int, value: float) -> None:
        self.rows.append(row)
        self.cols.append(col)
        self.values.append(value)

    def flows(self, flows: np.ndarray) -> _Flows:
        """The tickets carried (step 1) and each category's quota per agent."""
        n_t = len(self.tickets)
        quota: dict[str, dict[int, int]] = defaultdict(dict)
        for offset, (skill, agent) in enumerate(self.pairs):
            if flows[n_t + offset] > 0:
                quota[skill][agent] = int(flows[n_t + offset])
        carried = [
            (index, skill) for col, (skill, index) in enumerate(self.tickets) if flows[col] == 1
        ]
        return _Flows(carried, quota)


def _solved(network: _Network) -> np.ndarray:
    """Each arc's flow in the cheapest flow of `network`, with HiGHS (scipy's `milp`)."""
    # Imported here: scipy.optimize costs ~0.4 s to import, paid by every run otherwise.
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_array

    variables = len(network.cost)
    # 32-bit indices: scipy before 1.15 passed a matrix's indices to HiGHS as they were, and
    # HiGHS takes 32-bit ones only ("Buffer dtype mismatch, expected 'int' but got 'long'"
    # from indices built from Python lists, 64-bit); scipy 1.15 and later convert them.
    index = np.int32
    matrix = coo_array(
        (network.values, (np.asarray(network.rows, index), np.asarray(network.cols, index))),
        shape=(len(network.supply), variables),
    )
    result = milp(
        network.cost,
        constraints=LinearConstraint(matrix.tocsr(), network.supply, network.supply),
        integrality=np.ones(variables),
        bounds=Bounds(np.zeros(variables), network.upper),
        # No presolve: the flow's matrix is totally unimodular, so the root LP is already the
        # integer optimum; HiGHS' presolve only added its own cost (0.2 s of 0.23 s on a
        # scale-1 day, 0.85 s of 1 s for 3,000 tickets; the plans were the same).
        options={"mip_rel_gap": 0.0, "presolve": False},
    )
    if not result.success:
        raise RuntimeError(f"assignment solver failed: {result.message}")
    return np.rint(result.x).astype(int)


def _hand_out(
    order: pd.DataFrame, crew: _Agents, planned: list[int], quota: dict[str, dict[int, int]]
) -> dict[int, int]:
    """Planned tickets in rank order, each to the least utilised agent with quota left in
    its category (any split of the quotas is optimal; this one is deterministic)."""
    load = crew.open.copy()
    chosen = {}
    for index in planned:
        left = quota[order.at[index, "skill"]]
        agent = _least_utilised(left, load, crew)
        left[agent] -= 1
        if left[agent] == 0:
            del left[agent]
        load[agent] += 1
        chosen[index] = agent
    return chosen


def _least_utilised(candidates: Iterable[int], load: np.ndarray, crew: _Agents) -> int:
    """The candidate with the smallest share of its capacity in use; ties by agent id."""

    def utilisation(agent: int) -> tuple[float, str]:
        return load[agent] / crew.capacity[agent], crew.ids[agent]

    return min(candidates, key=utilisation)


def greedy_assignments(order: pd.DataFrame, crew: _Agents) -> dict[int, int]:
    """The baseline: rank order, each ticket to the least utilised skilled agent with room."""
    load = crew.open.copy()
    room = crew.room.copy()
    chosen = {}
    for index, skill in enumerate(order["skill"]):
        options = [a for a in crew.skilled(skill) if room[a] > 0] if skill else []
        if not options:
            continue
        agent = _least_utilised(options, load, crew)
        room[agent] -= 1
        load[agent] += 1
        chosen[index] = agent
    return chosen


def _score(order: pd.DataFrame, crew: _Agents, chosen: dict[int, int]) -> dict:
    """The objective's parts for a plan: tickets planned (by priority), their weight, the
    balance cost, and the combined objective (weight − balance, higher is better)."""
    new = defaultdict(int)
    for agent in chosen.values():
        new[agent] += 1
    balance = sum(crew.slot_cost(agent, k) for agent, count in new.items() for k in range(count))
    weight = float(order.loc[list(chosen), "weight"].sum()) if chosen else 0.0
    by_priority = order.loc[list(chosen), "priority"].value_counts() if chosen else pd.Series()
    after = (crew.open + np.bincount(list(chosen.values()), minlength=len(crew.ids))) / np.where(
        crew.capacity > 0, crew.capacity, np.nan
    )
    return {
        "planned": len(chosen),
        "planned_by_priority": {p: int(by_priority.get(p, 0)) for p in PRIORITIES},
        "weight": weight,
        "balance_cost": float(balance),
        "objective": weight - float(balance),
        "max_utilisation_after": float(np.nanmax(after))
        if len(after) and not np.isnan(after).all()
        else None,
    }


def _reason_kinds(reasons: Iterable[str]) -> dict[str, int]:
    kinds = defaultdict(int)
    for reason in reasons:
        kinds[reason.split(":")[0] if reason == NO_CATEGORY else _generic(reason)] += 1
    return dict(sorted(kinds.items()))


def _generic(reason: str) -> str:
    for template in (NO_SKILL, ALL_FULL, OUTRANKED):
        prefix, _, suffix = template.partition("{category}")
        if reason.startswith(prefix) and reason.endswith(suffix):
            return template.replace("{category}", "…")
    return reason
