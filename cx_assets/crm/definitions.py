"""The CRM domain's definitions: its assets (facts and dimensions), the checks they declare,
its daily job and landing sensor."""

from cx_assets.crm import assets, dimensions
from cx_assets.lakehouse.domain import domain_definitions

defs = domain_definitions(assets.GROUP, [assets, dimensions])
