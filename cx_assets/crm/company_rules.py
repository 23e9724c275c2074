"""The CRM's company-level rules (contract section 4.1: `crm_churn_risk`,
`crm_segmentation_matrix`, and the segment of `crm_companies`), as SQL builders over the
silver tables, no Dagster: churn risk from silence, trend, friction and lost deals, and the
value x engagement segmentation. Their thresholds and weights are `CrmRules`'; the as-of day
and the local day's end are the other whole-history tables' (`gold_rules`).
"""

from __future__ import annotations

from datetime import date

from cx_assets.crm.gold_rules import as_of_day_sql, end_of_local_day_sql
from cx_assets.crm.rules import DEFAULT_RULES, CrmRules
from cx_assets.lakehouse import sql


def _company_universe_sql(interactions: str, current_contacts: str, current_deals: str) -> str:
    """Every company known: the company contacts, the companies interactions resolve to, and
    the companies of deals (a deal's `ContactId` is a company, contract 4.1), so a company
    known from its deals only is scored and segmented with its won and lost deals."""
    return f"""
        SELECT contact_id AS company_id FROM {current_contacts} WHERE contact_type = 'company'
        UNION
        SELECT DISTINCT company_id FROM {interactions} WHERE company_id IS NOT NULL
        UNION
        SELECT DISTINCT company_id FROM {current_deals} WHERE company_id IS NOT NULL
    """


def churn_risk_sql(
    interactions: str,
    current_contacts: str,
    current_deals: str,
    rules: CrmRules = DEFAULT_RULES,
    as_of_day: date | None = None,
) -> str:
    """Churn risk per company (documented in docs/crm.md).

    Every component only rises, or stays, with more friction (a friction interaction
    added, or a healthy one turned into friction) and with a longer silence (a later
    as-of day, the last healthy interaction earlier or gone), so the score does too, as
    the contract demands. Hence the trend's two sides: the *recent* days count healthy
    interactions (fewer of them is more risk), the busiest earlier span counts every
    valid one (friction there is still activity the company fell from). Anchoring the
    trend at the last healthy interaction instead made it jump when that interaction
    turned into friction or went missing, by more than recency and friction could add.
    """
    # Each component's points on the 0-100 scale (weight × 100, a constant of the rules):
    # 35 × 1 + 20 × 0.5 + 30 × 0.25 + 15 × 0.5 is 60 in doubles, where 100 × (0.35 + 0.1 +
    # 0.075 + 0.075) is 59.999999999999986.
    points = {
        name: sql.number_literal(round(100 * weight, 9))
        for name, weight in rules.churn_weights.items()
    }
    window = int(rules.churn_trend_window_days)
    return f"""
    WITH as_of AS (SELECT {as_of_day_sql(interactions, as_of_day)} AS as_of_date),
    companies AS ({_company_universe_sql(interactions, current_contacts, current_deals)}),
    valid AS (
        SELECT company_id, occurred_at, is_friction FROM {interactions}
        WHERE NOT is_noise AND company_id IS NOT NULL
    ),
    healthy_last AS (
        SELECT company_id, max(occurred_at) AS last_healthy_at
        FROM valid WHERE NOT is_friction GROUP BY company_id
    ),
    recent_days AS (
        SELECT {end_of_local_day_sql("as_of_date")} - INTERVAL {window} DAY AS recent_from
        FROM as_of
    ),
    recent AS (
        -- healthy interactions in the last `window` days up to the end of the as-of day (one
        -- delivered late, dated after it, is recent too)
        SELECT v.company_id, count(*) AS recent
        FROM valid v CROSS JOIN recent_days r
        WHERE NOT v.is_friction AND v.occurred_at > r.recent_from
        GROUP BY v.company_id
    ),
    earlier_peak AS (
        -- the most valid interactions, friction included, in `window` days from any one of
        -- them, among those before the recent days
        SELECT company_id, max(in_span) AS peak
        FROM (
            SELECT v.company_id,
                   count(*) OVER (PARTITION BY v.company_id ORDER BY v.occurred_at
                                  RANGE BETWEEN CURRENT ROW AND INTERVAL {window} DAY FOLLOWING)
                       AS in_span
            FROM valid v CROSS JOIN recent_days r
            WHERE v.occurred_at <= r.recent_from
        )
        GROUP BY company_id
    ),
    friction AS (
        SELECT company_id, count(*) AS valid_interactions,
               count(*) FILTER (WHERE is_friction) AS friction_interactions
        FROM valid GROUP BY company_id
    ),
    deals AS (
        SELECT company_id,
               count(*) FILTER (WHERE status = 'won') AS won,
               count(*) FILTER (WHERE status = 'lost') AS lost
        FROM {current_deals} GROUP BY company_id
    ),
    components AS (
        SELECT c.company_id, a.as_of_date,
               -- a record delivered late may lie after the as-of day: silent 0 days, not < 0
               -- (greatest() skips nulls: a company never healthy keeps a null here)
               CASE WHEN h.last_healthy_at IS NOT NULL
                    THEN greatest(0.0, (epoch({end_of_local_day_sql("a.as_of_date")})
                                        - epoch(h.last_healthy_at)) / 86400.0)
               END AS silent_days,
               coalesce(f.valid_interactions, 0) AS valid_interactions,
               coalesce(f.friction_interactions, 0) AS friction_interactions,
               coalesce(d.lost, 0) AS lost_deals,
               coalesce(d.won, 0) AS won_deals,
               h.last_healthy_at,
               coalesce(t.recent, 0) AS recent_healthy_interactions,
               coalesce(p.peak, 0) AS earlier_peak_interactions
        FROM companies c CROSS JOIN as_of a
        LEFT JOIN healthy_last h USING (company_id)
        LEFT JOIN recent t USING (company_id)
        LEFT JOIN earlier_peak p USING (company_id)
        LEFT JOIN friction f USING (company_id)
        LEFT JOIN deals d USING (company_id)
    ),
    scored AS (
        SELECT *,
               CASE WHEN silent_days IS NULL THEN 1.0
                    ELSE least(1.0, greatest(0.0, silent_days) / {float(rules.churn_silence_days_for_full_risk)})
               END AS recency_component,
               CASE WHEN last_healthy_at IS NULL THEN 1.0
                    WHEN earlier_peak_interactions = 0 THEN 0.0  -- nothing earlier to fall from
                    ELSE greatest(0.0, 1.0 - recent_healthy_interactions
                                             / earlier_peak_interactions)
               END AS trend_component,
               -- null without a denominator (contract 4); no evidence adds no risk to the score
               friction_interactions / nullif(valid_interactions, 0) AS friction_share,
               lost_deals / nullif(won_deals + lost_deals, 0) AS lost_deal_share
        FROM components
    ),
    final AS (
        SELECT *,
               {points["recency"]} * recency_component
               + {points["trend"]} * trend_component
               + {points["friction"]} * coalesce(friction_share, 0.0)
               + {points["lost_deals"]} * coalesce(lost_deal_share, 0.0) AS churn_risk_score
        FROM scored
    )
    SELECT company_id, churn_risk_score,
           -- The score is not rounded (contract 4); its band is read to 9 decimals, so a
           -- score a double's last digit short of a threshold is in the band it reaches.
           CASE WHEN round(churn_risk_score, 9) >= {rules.churn_high_from} THEN 'high'
                WHEN round(churn_risk_score, 9) >= {rules.churn_medium_from} THEN 'medium'
                ELSE 'low' END AS risk_band,
           silent_days AS days_since_last_healthy_interaction,
           recency_component, trend_component, friction_share, lost_deal_share,
           recent_healthy_interactions, earlier_peak_interactions,
           valid_interactions, friction_interactions, as_of_date
    FROM final
    WHERE as_of_date IS NOT NULL
    ORDER BY churn_risk_score DESC, company_id
    """


SEGMENTS = (
    ("champions", "high", "high"),
    ("sleeping_giants", "high", "low"),
    ("rising", "low", "high"),
    ("dormant", "low", "low"),
)


def _company_tiers_sql(
    interactions: str,
    current_contacts: str,
    current_deals: str,
    rules: CrmRules,
    as_of_day: date | None,
) -> str:
    """The CTEs of the segmentation: `as_of`, the companies with their won amount and
    engagement, the `thresholds` (medians), each company's two `tiered` tiers, and the
    `segments` they make."""
    segments = ", ".join(
        f"({sql.string_literal(name)}, {sql.string_literal(v)}, {sql.string_literal(e)})"
        for name, v, e in SEGMENTS
    )
    # The engagement window's days: the as-of day and the days before it, local days.
    window_start = f"a.as_of_date - INTERVAL {int(rules.engagement_window_days)} DAY"
    return f"""
    as_of AS (SELECT {as_of_day_sql(interactions, as_of_day)} AS as_of_date),
    companies AS ({_company_universe_sql(interactions, current_contacts, current_deals)}),
    won AS (
        SELECT company_id, {sql.float_sum("amount")} AS won_amount
        FROM {current_deals} WHERE status = 'won' GROUP BY company_id
    ),
    -- By when interactions happened (local days), as churn's recency: one delivered months
    -- late was counted as recent engagement by its landing day.
    engagement AS (
        SELECT i.company_id, count(*) AS interactions_90d
        FROM {interactions} i CROSS JOIN as_of a
        WHERE NOT i.is_noise AND i.company_id IS NOT NULL
          AND i.occurred_at >= {end_of_local_day_sql(window_start)}
          AND i.occurred_at < {end_of_local_day_sql("a.as_of_date")}
        GROUP BY i.company_id
    ),
    per_company AS (
        SELECT c.company_id, coalesce(w.won_amount, 0.0) AS won_amount,
               coalesce(e.interactions_90d, 0) AS interactions_90d
        FROM companies c LEFT JOIN won w USING (company_id) LEFT JOIN engagement e USING (company_id)
    ),
    thresholds AS (
        SELECT coalesce(median(won_amount) FILTER (WHERE won_amount > 0), 0.0) AS value_threshold,
               coalesce(median(interactions_90d) FILTER (WHERE interactions_90d > 0), 0.0)
                   AS engagement_threshold
        FROM per_company
    ),
    tiered AS (
        SELECT p.*,
               CASE WHEN p.won_amount > 0 AND p.won_amount >= t.value_threshold
                    THEN 'high' ELSE 'low' END AS value_tier,
               CASE WHEN p.interactions_90d > 0 AND p.interactions_90d >= t.engagement_threshold
                    THEN 'high' ELSE 'low' END AS engagement_tier
        FROM per_company p CROSS JOIN thresholds t
    ),
    segments(segment, value_tier, engagement_tier) AS (VALUES {segments})
    """


def company_segments_sql(
    interactions: str,
    current_contacts: str,
    current_deals: str,
    rules: CrmRules = DEFAULT_RULES,
    as_of_day: date | None = None,
) -> str:
    """One row per company the segmentation counts: its won amount, valid interactions in the
    engagement window to the as-of day, the two tiers and the segment they make."""
    return f"""
    WITH {_company_tiers_sql(interactions, current_contacts, current_deals, rules, as_of_day)}
    SELECT t.company_id, s.segment, t.value_tier, t.engagement_tier, t.won_amount,
           t.interactions_90d, a.as_of_date
    FROM tiered t JOIN segments s USING (value_tier, engagement_tier) CROSS JOIN as_of a
    """


def segmentation_sql(
    interactions: str,
    current_contacts: str,
    current_deals: str,
    rules: CrmRules = DEFAULT_RULES,
    as_of_day: date | None = None,
) -> str:
    """Value × engagement of companies (documented in docs/crm.md): value = won deal amount,
    engagement = valid interactions in the last `engagement_window_days` to the as-of day;
    each tier is 'high' at or above the median of companies with any (0 is always 'low')."""
    return f"""
    WITH {_company_tiers_sql(interactions, current_contacts, current_deals, rules, as_of_day)}
    SELECT s.segment, s.value_tier, s.engagement_tier,
           count(t.company_id) AS company_count,
           coalesce({sql.float_sum("t.won_amount")}, 0.0) AS total_won_amount,
           coalesce(sum(t.interactions_90d), 0) AS total_interactions_90d,
           any_value(th.value_threshold) AS value_threshold,
           any_value(th.engagement_threshold) AS engagement_threshold,
           any_value(a.as_of_date) AS as_of_date
    FROM segments s
    CROSS JOIN thresholds th CROSS JOIN as_of a
    LEFT JOIN tiered t USING (value_tier, engagement_tier)
    GROUP BY s.segment, s.value_tier, s.engagement_tier
    ORDER BY s.segment
    """
