"""The CRM domain's definitions: its assets (bronze and silver, gold facts, dimensions), the
checks they declare, its daily job and landing sensor."""

from cx_assets.crm import assets, dimensions, silver
from cx_assets.lakehouse.domain import domain_definitions

defs = domain_definitions(assets.GROUP, [silver, assets, dimensions])
