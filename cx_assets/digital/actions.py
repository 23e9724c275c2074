"""What to do about a root cause of leakage (contract section 4.3,
`leakage_action_recommendations`): the action, its owner, its effort and the share of the
root cause's leakage calls it is expected to remove, per error code, with one template for
abandoned journeys and one for codes without their own. `DigitalRules` holds them as
configuration; `gold_rules.action_recommendations_sql` fills them in per root cause.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ActionTemplate:
    """What to do about a root cause. `action` may use `{journey_type}`, `{error_code}` and
    `{device}` (the root cause's device type, or "all devices"), filled in per root cause."""

    action: str
    owner: str
    effort: str  # low / medium / high
    fix_rate: float  # share of the root cause's leakage calls the action is expected to remove


DEFAULT_ACTION_TEMPLATES: Mapping[str, ActionTemplate] = {
    "PAY_TIMEOUT": ActionTemplate(
        "Raise the payment gateway timeout and add idempotent retry with a clear "
        "'payment pending' state to the billing flow on {device}",
        "Payments Engineering",
        "medium",
        0.50,
    ),
    "CARD_DECLINED": ActionTemplate(
        "Explain card declines in plain language and offer another payment method on {device}",
        "Digital Product (Billing)",
        "low",
        0.25,
    ),
    "AUTOPAY_ENROLL_FAILED": ActionTemplate(
        "Fix autopay enrollment failures on {device} and confirm enrollment by e-mail",
        "Payments Engineering",
        "medium",
        0.40,
    ),
    "PDF_RENDER": ActionTemplate(
        "Fix ID card PDF rendering on {device} and offer a wallet card / image fallback",
        "Member Portal Engineering",
        "medium",
        0.50,
    ),
    "LANG_MISSING": ActionTemplate(
        "Translate the ID card journey (Spanish first) for members' preferred languages "
        "on {device}",
        "Localization & Content",
        "medium",
        0.60,
    ),
    "CARD_NOT_READY": ActionTemplate(
        "Show ID card production status and a temporary card on {device}",
        "Member Portal Engineering",
        "low",
        0.30,
    ),
    "RX_NOT_FOUND": ActionTemplate(
        "Improve prescription matching (PBM sync, fuzzy drug search) behind {journey_type} "
        "lookups on {device}",
        "Pharmacy Integration",
        "high",
        0.35,
    ),
    "FORMULARY_LOOKUP_FAILED": ActionTemplate(
        "Make the formulary lookup service resilient (cache, fallback) on {device}",
        "Pharmacy Integration",
        "medium",
        0.40,
    ),
    "REFILL_TOO_SOON": ActionTemplate(
        "Show the next eligible refill date instead of an error on {device}",
        "Digital Product (Pharmacy)",
        "low",
        0.50,
    ),
    "PHARMACY_LOCATOR_DOWN": ActionTemplate(
        "Add monitoring and a static fallback list to the pharmacy locator on {device}",
        "Pharmacy Integration",
        "low",
        0.40,
    ),
    "CLAIM_STATUS_UNAVAILABLE": ActionTemplate(
        "Make claim status available when the claims system is slow (cache) on {device}",
        "Claims Engineering",
        "medium",
        0.40,
    ),
    "EOB_RENDER": ActionTemplate(
        "Fix Explanation of Benefits rendering on {device}",
        "Member Portal Engineering",
        "low",
        0.40,
    ),
}
# Root causes without an error code: the member abandoned the journey.
DEFAULT_ABANDON_ACTION = ActionTemplate(
    "Run a UX review of where members abandon the {journey_type} journey on {device} "
    "and simplify those steps",
    "Digital Product & UX Research",
    "medium",
    0.20,
)
# Error codes without a template of their own.
DEFAULT_FALLBACK_ACTION = ActionTemplate(
    "Investigate and fix error {error_code} in the {journey_type} journey on {device}",
    "Digital Product",
    "medium",
    0.25,
)
