"""What each Cloudflare plan allows the rules this program creates, checked before anything is deployed.

Sources (Cloudflare's documentation, as published in cloudflare/cloudflare-docs):
- rate limiting rules, "Availability" table: src/content/partials/waf/rate-limiting-availability-by-plan.mdx
  (developers.cloudflare.com/waf/rate-limiting-rules/#availability): fields in the rule expression,
  counting characteristics, counting periods, mitigation timeouts, number of rules;
- custom rules, "Availability" (developers.cloudflare.com/waf/custom-rules/): number of rules
  (5 / 20 / 100), regex support (Business and up), the Log action (Enterprise only).
Enterprise is not modelled: its limits are per contract.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PlanLimits:
    custom_rules: int
    custom_rules_regex: bool
    rate_limit_rules: int
    rate_limit_fields: frozenset[str]
    """Rules-language fields a rate limiting rule's expression may use."""
    rate_limit_characteristics: frozenset[str]
    rate_limit_periods: tuple[int, ...]
    """Counting periods, seconds."""
    mitigation_timeouts: tuple[int, ...]
    """Mitigation timeouts, seconds."""


_PATH_AND_BOT = frozenset({"http.request.uri.path", "cf.bot_management.verified_bot"})
# Host, URI, Path, Full URI, Query, Verified Bot.
_PRO_FIELDS = _PATH_AND_BOT | {"http.host", "http.request.uri", "http.request.full_uri", "http.request.uri.query"}
# ... plus Method, Source IP, User Agent.
_BUSINESS_FIELDS = _PRO_FIELDS | {"http.request.method", "ip.src", "http.user_agent"}
# "IP" is the only counting characteristic below Enterprise; cf.colo.id is mandatory on every rule.
_IP = frozenset({"cf.colo.id", "ip.src"})

PLANS: dict[str, PlanLimits] = {
    "free": PlanLimits(
        custom_rules=5,
        custom_rules_regex=False,
        rate_limit_rules=1,
        rate_limit_fields=_PATH_AND_BOT,
        rate_limit_characteristics=_IP,
        rate_limit_periods=(10,),
        mitigation_timeouts=(10,),
    ),
    "pro": PlanLimits(
        custom_rules=20,
        custom_rules_regex=False,
        rate_limit_rules=2,
        rate_limit_fields=_PRO_FIELDS,
        rate_limit_characteristics=_IP,
        rate_limit_periods=(10, 60),
        mitigation_timeouts=(10, 60, 3600),
    ),
    "business": PlanLimits(
        custom_rules=100,
        custom_rules_regex=True,
        rate_limit_rules=5,
        rate_limit_fields=_BUSINESS_FIELDS,
        rate_limit_characteristics=_IP,
        rate_limit_periods=(10, 60, 600),
        mitigation_timeouts=(10, 60, 3600, 86400),
    ),
}
