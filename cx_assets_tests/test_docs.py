"""The docs name what the code defines."""

import re
from pathlib import Path

from cx_assets.definitions import defs
from cx_assets_tests.merged_definitions import check_config_defaults

DOCS = Path(__file__).resolve().parent.parent / "docs"


def every_check_spec():
    """The checks each asset declares (run in its step) and those with a step of their own."""
    for asset_def in defs.assets:
        yield from asset_def.check_specs
    for check in defs.asset_checks:
        yield from check.check_specs


def test_every_check_is_documented_on_its_asset():
    lines = (DOCS / "checks.md").read_text().splitlines()
    specs = list(every_check_spec())
    assert len(specs) > 100  # the declared checks too, not only the separate ones
    for spec in specs:
        if spec.name == "column_schema_change":
            continue  # documented once, for every asset
        asset = f"`{spec.asset_key.to_user_string()}`"
        assert any(asset in line and spec.name in line for line in lines), (
            f"docs/checks.md does not name {spec.name} on {asset}"
        )


def _checks_md_section(heading: str) -> str:
    """The text of docs/checks.md under the heading that starts with `heading`, to the next."""
    section = (DOCS / "checks.md").read_text().split(f"\n## {heading}", 1)[1]
    return section.split("\n## ", 1)[0]


def test_every_check_the_by_asset_table_names_is_the_assets():
    """The other way round from `test_every_check_is_documented_on_its_asset`, which passes
    when a check renamed or taken off an asset is still listed in the page's table of every
    check by asset: each asset a row of that table names has each check the row names."""
    declared = {(spec.asset_key.to_user_string(), spec.name) for spec in every_check_spec()}
    named = set()
    for line in _checks_md_section("Every check, by asset").splitlines():
        cells = line.strip().strip("|").split("|")
        if len(cells) != 2 or not cells[0].strip().startswith("`"):
            continue
        assets = re.findall(r"`([a-z]+/[a-z_]+)`", cells[0])
        checks = re.findall(r"`([a-z_]+)`", cells[1])
        named |= {(asset, check) for asset in assets for check in checks}
    assert len(named) > 100  # the table was read
    assert sorted(named - declared) == []


# Where the check kinds' table gives a kind's defaults: a pattern of the numbers, the settings.
_KIND_DEFAULTS = {
    "reject_ratio": [(r"\(default ([\d.]+), run config\)", ["high"])],
    "volume_anomaly": [
        (r"\(defaults ([\d.]+) and ([\d.]+), run config", ["low", "high"]),
        (r"`min_rows` \((\d+)\)", ["min_rows"]),
    ],
    "no_column_emptied": [(r"`min_expected` \(default (\d+), run config\)", ["min_expected"])],
}


def test_the_check_kinds_documented_defaults_are_the_codes():
    """The check kinds' table gives the defaults of the checks every table of a layer has
    (the domain table's test holds the bands'); each is the code's on every asset."""
    rows = {
        re.match(r"\| `([a-z_]+)`", line)[1]: line
        for line in _checks_md_section("The check kinds").splitlines()
        if re.match(r"\| `[a-z_]+`", line)
    }
    compared = 0
    for (asset, check), config in check_config_defaults().items():
        if check not in rows:
            continue  # a domain check: its own table
        cells = [cell.strip() for cell in rows[check].strip("|").split("|")]
        assert cells[1] == config["severity"], f"docs/checks.md: {check} is {config['severity']}"
        for pattern, settings in _KIND_DEFAULTS.get(check, []):
            found = re.search(pattern, cells[3])
            assert found, f"docs/checks.md does not give {check}'s {', '.join(settings)}"
            documented = [float(value) for value in found.groups()]
            assert documented == [config[setting] for setting in settings], (
                f"docs/checks.md: {check} on {asset} has "
                + ", ".join(f"{setting}={config[setting]}" for setting in settings)
            )
        compared += 1
    assert compared > 40  # every bronze and typed silver table's


def _documented_grain(cell: str) -> list[set[str]]:
    """The column sets a `unique_key` (...) of docs/checks.md allows: its columns, or for a row
    of several assets, `a / b / c`, one of them. Words after a colon, and qualifiers such as
    "over all days", are prose."""
    names = [part.strip() for part in cell.split(":")[0].split(",")]
    names = [name for name in names if re.fullmatch(r"[a-z_]+( / [a-z_]+)*", name)]
    if len(names) == 1 and " / " in names[0]:
        return [{name} for name in names[0].split(" / ")]
    return [set(names)]


def test_every_unique_key_is_documented_with_its_grain():
    """Seen in a docs audit: the journey timeline's row left out `journey_type`, which its
    grain has (two journey types may fail in one session in the same second)."""
    lines = (DOCS / "checks.md").read_text().splitlines()
    checked = 0
    for spec in every_check_spec():
        if spec.name != "unique_key":
            continue
        found = re.search(r"\(([^)]*)\) is not unique", spec.description)
        grain = set(found[1].split(", ")) if found else set()  # no key: one row at most
        asset = f"`{spec.asset_key.to_user_string()}`"
        cells = [
            cell
            for line in lines
            if asset in line
            for cell in re.findall(r"`unique_key` \(([^)]*)\)", line)
        ]
        assert cells, f"docs/checks.md gives no unique_key columns for {asset}"
        assert any(grain in _documented_grain(cell) for cell in cells), (
            f"docs/checks.md: {asset}'s unique_key is ({', '.join(sorted(grain))}), not {cells}"
        )
        checked += 1
    assert checked > 30  # the grains were read, not skipped


def _domain_page(group: str) -> str:
    page = DOCS / f"{group}.md"
    assert page.exists(), f"docs/{group}.md, the {group} domain's page for analysts, is missing"
    return page.read_text()


def test_each_domains_page_names_every_gold_table():
    """Found by adding a domain: a gold table without a word in its domain's page passed."""
    for asset_def in defs.assets:
        for key in asset_def.keys:
            if key.path[0] == "gold":
                group = asset_def.group_names_by_key[key]
                assert re.search(rf"\b{key.path[-1]}\b", _domain_page(group)), (
                    f"docs/{group}.md does not name its gold table {key.path[-1]}"
                )


def test_each_domains_page_names_every_column_of_its_gold_tables():
    """Found in an analysts' audit: crm.md named no column of `crm_churn_risk`'s components,
    nor `crm_contact_linkage`'s shares, the segmentation's thresholds or the friction
    table's `interaction_id` and `occurred_at`, which the Parquet files hold; an analyst
    found them in the files with nothing saying what they are."""
    unnamed = []
    for asset_def in defs.assets:
        for key in asset_def.keys:
            if key.path[0] != "gold":
                continue
            group = asset_def.group_names_by_key[key]
            schema = asset_def.metadata_by_key[key]["dagster/column_schema"]
            page = _domain_page(group)
            unnamed += [
                f"{key.path[-1]}.{column.name} (docs/{group}.md)"
                for column in schema.columns
                if column.name != "date" and f"`{column.name}`" not in page
            ]
    assert unnamed == []


def test_each_domains_page_names_every_check_of_its_assets():
    """Seen in a docs audit: digital.md and support.md left out two checks of every bronze
    and typed silver table."""
    for asset_def in defs.assets:
        for spec in asset_def.check_specs:
            if spec.name == "column_schema_change":
                continue  # documented once, for every asset, in checks.md
            group = asset_def.group_names_by_key[spec.asset_key]
            page = _domain_page(group)
            assert f"`{spec.name}`" in page, (
                f"docs/{group}.md does not name {spec.name} ({spec.asset_key.to_user_string()})"
            )


def test_the_landing_table_in_contract_md_states_each_fields_requirement():
    """Seen in a docs audit: the table said "required unless marked optional" and marked no
    digital field optional, where eleven are, and had no support rows."""
    import re

    from cx_assets.calls import records as calls
    from cx_assets.crm import records as crm
    from cx_assets.digital import records as digital
    from cx_assets.lakehouse.asset_factories import landed_table
    from cx_assets.support import records as support

    specs = {
        "crm/interactions": crm.INTERACTION_SPEC, "crm/contacts": crm.CONTACT_SPEC,
        "crm/deals": crm.DEAL_SPEC, "crm/users": crm.USER_SPEC,
        "calls/transcripts": calls.TRANSCRIPT_SPEC,
        "digital/journeys": digital.JOURNEY_SPEC, "digital/calls": digital.CALL_SPEC,
        "digital/members": digital.MEMBER_SPEC,
        "support/tickets": support.TICKET_SPEC, "support/agents": support.AGENT_SPEC,
        "support/customers": support.CUSTOMER_SPEC,
    }  # fmt: skip
    landed = {"/".join(table) for a in defs.assets if (table := landed_table(a))}
    assert set(specs) == landed, (
        f"landed tables without their RecordSpec in this test: {sorted(landed - set(specs))}; "
        f"specs of no landed table: {sorted(set(specs) - landed)}"
    )
    rows = {}
    for line in (DOCS / "contract.md").read_text().splitlines():
        if match := re.match(r"\| `([a-z]+/[a-z]+)`[^|]*\| (.*) \|$", line):
            rows[match[1]] = match[2]
    assert set(rows) == set(specs)
    for table, spec in specs.items():
        required_part, _, optional_part = rows[table].partition("; optional ")
        named = {name: re.findall(r"`([^`]+)`", part) for name, part in
                 (("required", required_part), ("optional", optional_part))}  # fmt: skip
        for field in spec.fields:
            side = "required" if field.required else "optional"
            assert field.source in named[side], f"{table}: {field.source} is {side}"


def test_the_readme_links_every_page_of_the_docs():
    """A reader finds every page from the README's documentation list."""
    readme = (DOCS.parent / "README.md").read_text()
    listed = readme.split("## Documentation", 1)[1].split("\n## ", 1)[0]
    for page in sorted(DOCS.glob("*.md")):
        assert f"](docs/{page.name})" in listed, (
            f"README.md's Documentation does not link {page.name}"
        )


def test_the_architecture_map_names_every_module_of_the_machinery():
    """docs/architecture.md's map of `cx_assets/lakehouse/` is whole: a module added there is
    named, with what it is for."""
    lakehouse = DOCS.parent / "cx_assets" / "lakehouse"
    text = (DOCS / "architecture.md").read_text()
    layout = text.split("cx_assets/lakehouse/", 1)[1].split("cx_assets/<domain>/", 1)[0]
    named = set(re.findall(r"[a-z_]+\.py", layout))
    modules = {path.name for path in lakehouse.glob("*.py") if path.name != "__init__.py"}
    assert modules - named == set()


def _documented_band(default: str) -> dict[str, float]:
    """The bounds a default cell of docs/checks.md's domain table gives: `0.20–0.50`,
    `≥ 0.80` or `≤ 0.25`, a share's other bound 1 or 0 (words after them, such as a window,
    are prose)."""
    if match := re.match(r"([\d.]+)–([\d.]+)", default):
        return {"low": float(match[1]), "high": float(match[2])}
    if match := re.match(r"≥ ([\d.]+)", default):
        return {"low": float(match[1]), "high": 1.0}
    if match := re.match(r"≤ ([\d.]+)", default):
        return {"low": 0.0, "high": float(match[1])}
    return {}


def test_the_domain_checks_documented_defaults_are_the_codes():
    """Found by adding a domain: a band's bounds changed in code left docs/checks.md saying
    the old ones, every test green."""
    section = (DOCS / "checks.md").read_text().split("## Domain checks", 1)[1]
    section = section.split("\n## ", 1)[0]
    defaults = check_config_defaults()
    compared = 0
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) != 5 or not cells[0].startswith("`"):
            continue
        asset, check, severity, default = (cell.strip("`") for cell in cells[:4])
        config = defaults.get((asset, check))
        if config is None:
            assert default == "—", f"docs/checks.md gives {check} a default; it has none"
            continue
        assert severity == config["severity"], f"docs/checks.md: {check} is {config['severity']}"
        if "low" not in config:  # only its severity is config: no bounds to give
            assert default == "—", f"docs/checks.md gives {check} a default; it has no band"
            continue
        documented = _documented_band(default)
        assert documented, f"docs/checks.md does not give {check}'s bounds: {default}"
        assert documented == {"low": config["low"], "high": config["high"]}, (
            f"docs/checks.md: {check}'s default is low={config['low']}, high={config['high']}"
        )
        compared += 1
    assert compared == 10  # every band of the four domains


def _groups_an_asset_graph_backfill_fans_out() -> set[str]:
    """Groups with a date-grained table reading other days of a date-grained table (every
    day, or the days before): Dagster's asset-graph backfill carries each of its days to
    every later day through such an input, days never landed included."""
    from dagster import AllPartitionMapping, TimeWindowPartitionMapping

    graph = defs.resolve_asset_graph()
    groups = set()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.partitions_def is None:
            continue
        for parent in node.parent_keys:
            if graph.get(parent).partitions_def is None:
                continue
            mapping = graph.get_partition_mapping(key, parent)
            if isinstance(mapping, AllPartitionMapping) or (
                isinstance(mapping, TimeWindowPartitionMapping) and mapping.start_offset < 0
            ):
                groups.add(node.group_name)
    return groups


def test_the_readme_names_every_group_an_asset_graph_backfill_fails_on():
    """Seen in a UI audit: the README named the CRM and digital groups; support's fails the
    same way (its ticket versions read every day of customers), and so does one day of any
    of them from a group's "Materialize all" (a backfill, the group holding whole-history
    tables too)."""
    readme = " ".join((DOCS.parent / "README.md").read_text().split())
    (sentence,) = re.findall(r"A backfill launched from the asset graph[^.]*\.", readme)
    named = set(re.findall(r"`([a-z]+)`", sentence))
    assert named == _groups_an_asset_graph_backfill_fans_out(), sentence


def test_the_how_to_add_a_domain_names_every_option_of_a_landing_spec():
    """Seen adding a domain by docs/architecture.md: a CSV table's `RecordSpec` without
    `text_values=True` quarantined every record holding a number (`field "score" is not an
    integer` for a `10`), and the how-to named no such option."""
    import dataclasses

    from cx_assets.lakehouse.parsing import RecordSpec

    text = (DOCS / "architecture.md").read_text()
    how_to = text.split("### How to add a domain", 1)[1].split("\n## ", 1)[0]
    options = [option.name for option in dataclasses.fields(RecordSpec) if option.name != "fields"]
    assert options  # read, not skipped
    unnamed = [name for name in options if f"`{name}" not in how_to]
    assert unnamed == [], f"docs/architecture.md's How to add a domain does not name {unnamed}"


def test_the_readme_says_where_its_commands_are_before_running_them_bare():
    """Seen in a newcomer's audit: after `make demo`, the README's "Running it" gave
    `cx-lakehouse generate ...` and `dagster asset materialize ...` as they are, where the
    shell has neither (they are in `.venv/bin/`, which nothing had said to activate)."""
    readme = (DOCS.parent / "README.md").read_text()
    blocks = re.finditer(r"```bash\n(.*?)```", readme, re.S)
    bare = [
        block.start()
        for block in blocks
        if re.search(r"^\s*(cx-lakehouse|dagster) ", block[1], re.M)
    ]
    assert bare  # the README does run them bare
    said = readme.find("source .venv/bin/activate")
    assert 0 <= said < bare[0], "README.md runs cx-lakehouse bare before saying where it is"


def test_the_readme_gives_make_s_port_variables_as_the_makefile_reads_them():
    """Seen in a newcomer's audit: the README said to pick another port with `--port`, which
    `make ui` does not take (its Makefile reads UI_PORT), and named no make variable."""
    makefile = (DOCS.parent / "Makefile").read_text()
    readme = (DOCS.parent / "README.md").read_text()
    variables = re.findall(r"^(\w+_PORT) \?=", makefile, re.M)
    assert variables  # read, not skipped
    for variable in variables:
        (target,) = re.findall(rf"^(\w+):.*\n\t.*\$\({variable}\)", makefile, re.M)
        assert re.search(rf"make {target} {variable}=\d+", readme), (target, variable)
    targets = set(re.findall(r"^([a-z]+):", makefile, re.M))
    named = set(re.findall(r"\bmake ([a-z]+)\b", readme))
    assert named <= targets, f"README.md names make targets the Makefile lacks: {named - targets}"


def test_the_readme_names_every_option_of_every_command():
    """Seen in a newcomer's audit: `cx-lakehouse run --help` offers `--verbose` (Dagster's
    step logs, where a failed step's whole trace is) and `generate --help` `--quiet`, and
    the README, where a newcomer learns the commands, named neither."""
    from cx_assets.cli import build_parser

    readme = (DOCS.parent / "README.md").read_text()
    commands = build_parser()._subparsers._group_actions[0].choices  # argparse keeps them here
    options = [
        (name, option)
        for name, command in commands.items()
        for action in command._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    ]
    assert len(options) > 8  # read, not skipped
    unnamed = [f"{name} {option}" for name, option in options if option not in readme]
    assert unnamed == [], f"README.md does not name {unnamed}"


def test_the_readme_s_dagster_cli_selections_select_what_it_says():
    """An audit walking every asset through Dagster's own CLI found the README silent on the
    rollups, which `dagster asset materialize` never rebuilds: it now gives a selection of
    them all and one of an asset with everything it reads. Each selects what it says."""
    from dagster import AssetKey, AssetSelection

    readme = (DOCS.parent / "README.md").read_text()
    said = " ".join(readme.split("Dagster's own CLI works too", 1)[1].split("###", 1)[0].split())
    rollups, upstreams = (re.search(rf"--select '({kind}[^']+)'", said) for kind in ("tag:", r"\*"))
    assert rollups and upstreams, "README.md gives no selection for rollups or upstreams"
    graph = defs.resolve_asset_graph()
    unpartitioned = {
        key for key in graph.materializable_asset_keys if not graph.get(key).is_partitioned
    }
    assert AssetSelection.from_string(rollups[1]).resolve(graph) == unpartitioned
    # The asset and every table it reads, all of them days (built by that `--partition`).
    reads, waiting = set(), [AssetKey.from_user_string(upstreams[1].lstrip("*"))]
    while waiting:
        key = waiting.pop()
        reads.add(key)
        waiting += graph.get(key).parent_keys - reads
    assert len(reads) > 2
    assert AssetSelection.from_string(upstreams[1]).resolve(graph) == reads
    assert all(graph.get(key).is_partitioned for key in reads)


def test_the_docs_give_the_landing_sensors_wait_for_a_file_still_being_written():
    """The wait went from 5 s to 2 s in one change that edited the README, contract.md and
    architecture.md by hand: with the code's wait put back to 5 s (a mutation), every
    landing sensor test passed while the three said 2."""
    from cx_assets.lakehouse.automation import LANDING_QUIET_SECONDS

    said = {
        "README.md": r"been written to\s+for ([\d.]+) s",
        "docs/contract.md": r"been written to\s+for ([\d.]+) s",
        "docs/architecture.md": r"was written \(its mtime\) within the last ([\d.]+) s",
    }
    for page, pattern in said.items():
        text = (DOCS.parent / page).read_text()
        found = [float(seconds) for seconds in re.findall(pattern, text)]
        assert found == [LANDING_QUIET_SECONDS], (page, found)
