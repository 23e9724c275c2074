"""The support domain's definitions: its assets, the checks they declare plus its own, its
daily job and landing sensor."""

from cx_assets.lakehouse.domain import domain_definitions
from cx_assets.support import assets, checks

defs = domain_definitions(assets.GROUP, assets, checks=checks.domain_checks)
