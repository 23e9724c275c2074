"""The digital domain's definitions: its assets with the checks they declare, its daily job
and landing sensor."""

from cx_assets.digital import assets
from cx_assets.lakehouse.domain import domain_definitions

defs = domain_definitions(assets.GROUP, assets)
