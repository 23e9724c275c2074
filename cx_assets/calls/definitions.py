"""The calls domain's definitions: its assets, the checks they declare, its daily job and
landing sensor."""

from cx_assets.calls import assets
from cx_assets.lakehouse.domain import domain_definitions

defs = domain_definitions(assets.GROUP, assets)
