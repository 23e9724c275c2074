"""The CRM's silver rules (contract section 4.1): interactions typed, flagged as noise or
friction and stripped of what silver must not keep (bodies, addresses, people's names in
titles); deals likewise. SQL builders over the typed bronze records, no Dagster; the row
rules they apply (noise, friction, threads) and their configuration are `rules`'.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from cx_assets.crm.rules import (
    DEFAULT_RULES,
    CrmRules,
    any_friction_sql,
    direction_sql,
    friction_flag_sql,
    friction_or_mark_sql,
    joined_text_sql,
    noise_reason_sql,
    recipient_count_sql,
    thread_subject_key_sql,
    without_combining_marks_sql,
)
from cx_assets.lakehouse import sql
from cx_assets.lakehouse.parsing import after_delivery_sql, money_reason_sql
from cx_assets.lakehouse.privacy import (
    FULL_NAME_SHAPE,
    first_word_sql,
    last_word_sql,
    mask_contacts_sql,
    mask_names_sql,
    name_variants_sql,
    words_sql,
)


def person_names_sql(contacts: str) -> str:
    """What to mask of each person contact's name (see `name_variants_sql`), over every
    version delivered in `contacts` (bronze contact records), by the contact whose texts
    may hold it: `contact_id` (the person, and each company the person was delivered in),
    `person_name`, its first and last words lower-cased without accents (`first_word`,
    `last_word`) and whether it has two words or more (`full_name`), a row each. A title
    on a company, or on one of its people, may name any of them; so may a deal's title."""
    return f"""
        WITH delivered AS (
            -- Days repeat a person's id, company and name (a changed phone, say): each
            -- distinct one is split into its variants once, however long the history.
            SELECT DISTINCT
                   TRY_CAST(json_extract_string(raw, '$.Id') AS BIGINT) AS person_id,
                   TRY_CAST(json_extract_string(raw, '$.CompanyId') AS BIGINT) AS company_id,
                   json_extract_string(raw, '$.Name') AS name
            FROM {contacts}
            WHERE read_error IS NULL AND json_valid(raw)
              AND json_extract_string(raw, '$.TypeId') = '1'
              AND json_extract_string(raw, '$.Name') IS NOT NULL
        ),
        versions AS (
            SELECT DISTINCT person_id, company_id,
                   unnest({name_variants_sql("name")}) AS person_name
            FROM delivered
        ),
        -- Each distinct name's words once: a scale-1 day's 73,000 name variants of people
        -- under their companies are 18,000 names.
        words AS (
            SELECT person_name,
                   {first_word_sql("person_name")} AS first_word,
                   {last_word_sql("person_name")} AS last_word,
                   regexp_matches(person_name, '{FULL_NAME_SHAPE}') AS full_name
            FROM (SELECT DISTINCT person_name FROM versions)
        ),
        people AS (SELECT * FROM versions JOIN words USING (person_name))
        SELECT person_id AS contact_id, person_name, first_word, last_word, full_name
        FROM people
        UNION ALL
        SELECT DISTINCT company_id, person_name, first_word, last_word, full_name FROM people
        WHERE company_id IS NOT NULL
    """


def names_in_titles_sql(titles: str, person_names: str, also_named: str | None = None) -> str:
    """The names (`person_names_sql`'s rows) each title may hold, for `mask_names_sql`.

    `titles` has `source_file`, `line_number`, `title` and `contact_id`, the contact whose
    names to look for; `also_named` (optional) has `contact_id` and `name_key`: other
    contacts whose names a title on that contact may hold too (a person's companies). A name
    is kept where the title holds its first word as a word, accents aside. Titles repeat
    (`E-mail enviado.`), so each distinct title is split into words once, and only the rows
    of the few titles holding a name's first word are looked at: testing every title
    against every name of its company took a second of a CRM day. A full name (two words
    or more) of anyone is kept too where the title holds its first and last words: contract
    5 keeps every person's name out of silver, whoever the title is on."""
    also = (
        f"SELECT h.source_file, h.line_number, h.title, a.name_key "
        f"FROM holding AS h JOIN {also_named} AS a USING (contact_id)"
        if also_named
        else "SELECT source_file, line_number, title, name_key FROM holding WHERE FALSE"
    )
    also_keys = (
        f"UNION SELECT DISTINCT t.title, a.name_key "
        f"FROM {titles} AS t JOIN {also_named} AS a USING (contact_id)"
        if also_named
        else ""
    )
    return f"""
        WITH words AS (
            SELECT DISTINCT title,
                   unnest({words_sql("title")}) AS word
            FROM (SELECT DISTINCT title FROM {titles})
        ),
        -- The contacts whose people each distinct title may name. A title's words are
        -- paired only with their names: paired with every namesake anywhere first, the
        -- pairs grew with titles times namesakes (8.3 million for a scale-3 CRM day's
        -- deals, 780 MB of its step).
        title_keys AS (
            SELECT DISTINCT title, contact_id AS name_key FROM {titles}
            {also_keys}
        ),
        candidates AS (
            SELECT w.title, n.contact_id AS name_key, n.person_name
            FROM words AS w
            JOIN title_keys AS k USING (title)
            JOIN {person_names} AS n ON n.first_word = w.word AND n.contact_id = k.name_key
        ),
        holding AS (
            SELECT source_file, line_number, title, contact_id AS name_key, contact_id
            FROM {titles} WHERE title IN (SELECT title FROM candidates)
        ),
        keyed AS (
            SELECT source_file, line_number, title, name_key FROM holding
            UNION ALL {also}
        ),
        -- Anyone's full name (two words or more) whose first and last words are both
        -- words of the title: a person of another company, or of none, named in full.
        named_in_full AS (
            SELECT DISTINCT f.title, n.person_name
            FROM words AS f
            JOIN {person_names} AS n ON n.first_word = f.word AND n.full_name
            JOIN words AS l ON l.title = f.title AND l.word = n.last_word
        )
        SELECT source_file, line_number, list(DISTINCT person_name) AS names
        FROM (
            SELECT k.source_file, k.line_number, c.person_name
            FROM keyed AS k
            JOIN candidates AS c ON c.title = k.title AND c.name_key = k.name_key
            UNION ALL
            SELECT t.source_file, t.line_number, n.person_name
            FROM {titles} AS t JOIN named_in_full AS n USING (title)
        )
        GROUP BY ALL
    """


def _known_names_sql(person_names: str | None) -> str:
    """The rows of `person_names` (a table or view of `person_names_sql`'s), or none."""
    if person_names is None:
        return (
            "SELECT NULL::BIGINT AS contact_id, NULL AS person_name, NULL AS first_word, "
            "NULL AS last_word, NULL::BOOLEAN AS full_name WHERE FALSE"
        )
    return f"SELECT contact_id, person_name, first_word, last_word, full_name FROM {person_names}"


def silver_deals_sql(typed: str, person_names: str | None = None) -> str:
    """Silver deal versions from the good typed records of `typed`: the status by name, a
    status the contract does not know quarantined (as is a creation or finish time after the
    day after the file's day, `after_delivery_sql`, and a finish before the creation, whose
    negative cycle would lower `avg_cycle_days`, and an `Amount` below 0 or above a trillion,
    `money_reason_sql`), and the title with e-mails and phone
    numbers masked, and the names of the deal company's people (`person_names`, a table or
    view of `person_names_sql`'s rows; None: none)."""
    return f"""
    WITH known_names AS ({_known_names_sql(person_names)}),
    titled AS (
        SELECT source_file, line_number, title, company_id AS contact_id
        FROM {typed} WHERE reject_reason IS NULL AND title IS NOT NULL
    ),
    title_names AS ({names_in_titles_sql("titled", "known_names")})
    SELECT d.date, d.source_file, d.line_number, d.deal_id, d.company_id, d.owner_id,
           CASE WHEN p.names IS NULL THEN {mask_contacts_sql("d.title")}
                ELSE {mask_names_sql(mask_contacts_sql("d.title"), "p.names")} END AS title,
           d.amount, d.stage_id,
           CASE d.status_id WHEN 1 THEN 'open' WHEN 2 THEN 'won' WHEN 3 THEN 'lost' END
               AS status,
           d.created_at, d.finished_at,
           coalesce(
               CASE WHEN d.status_id NOT IN (1, 2, 3)
                    THEN 'field "StatusId" is not 1 (open), 2 (won) or 3 (lost)' END,
               {after_delivery_sql("d.created_at", "CreateDate", "d.date")},
               {after_delivery_sql("d.finished_at", "FinishDate", "d.date")},
               CASE WHEN d.finished_at < d.created_at
                    THEN 'field "FinishDate" is before "CreateDate"' END,
               {money_reason_sql("d.amount", "Amount")}) AS reject_reason
    FROM {typed} AS d LEFT JOIN title_names AS p USING (source_file, line_number)
    WHERE d.reject_reason IS NULL
    """


def silver_interactions_sql(
    typed: str,
    contact_versions: str,
    last_day: date | None,
    rules: CrmRules = DEFAULT_RULES,
    person_names: str | None = None,
) -> str:
    """Silver interactions from the good typed records of `typed`.

    An interaction timed after the day after its file's day is quarantined
    (`after_delivery_sql`): a year typed wrong would date the company's last interaction
    into the future. The company is resolved as of the interaction's day: the latest version of its contact
    delivered on or before that day (ASOF join). Noise is decided first; friction words are
    looked for only in valid interactions, and only where one pass over the text finds a
    friction word or a combining mark, case-insensitively on the text as written (one pass
    instead of six for the most, without any: lower-cased, marks removed, any word, then one
    per category). Contact versions
    are read up to `last_day` (the last day being written; None: none are).

    `person_names` (a table or view of `person_names_sql`'s rows; None: none): a title has
    the names of its company's people masked (on a company, any of its people's; on a
    person, theirs and their colleagues'), as well as e-mail addresses and phone numbers.
    """
    through = "NULL::DATE" if last_day is None else sql.date_literal(last_day)
    joined = joined_text_sql("title", "email_subject", "content")
    flags = ",\n".join(
        f"CASE WHEN has_friction THEN {friction_flag_sql(category, 'searchable', rules)} ELSE 0 END "
        f"AS {category}_flag"
        for category in ("urgency", "failure", "escalation")
    )
    return f"""
    WITH counted AS (
        -- The body's size taken here, so the body itself is not carried to the joins below.
        SELECT *, {recipient_count_sql("email_recipients")} AS recipient_count,
               nullif(strlen(content), 0) AS content_bytes
        FROM {typed} WHERE reject_reason IS NULL
    ),
    good AS (
        SELECT *,
               {noise_reason_sql("email_subject", "title", "content", "recipient_count", rules)}
                   AS noise_reason
        FROM counted
    ),
    joined AS (
        SELECT *,
               noise_reason IS NOT NULL AS is_noise,
               CASE WHEN noise_reason IS NULL THEN {joined} END AS joined_text
        FROM good
    ),
    screened AS (
        SELECT *, coalesce({friction_or_mark_sql("joined_text", rules)}, FALSE) AS maybe_friction
        FROM joined
    ),
    lowered AS (
        SELECT * EXCLUDE (joined_text),
               CASE WHEN maybe_friction THEN lower(joined_text) END AS lowered_text
        FROM screened
    ),
    scored AS (
        SELECT * EXCLUDE (lowered_text),
               CASE WHEN maybe_friction THEN {without_combining_marks_sql("lowered_text")} END
                   AS searchable
        FROM lowered
    ),
    flagged AS (
        SELECT *,
               maybe_friction AND coalesce({any_friction_sql("searchable", rules)}, FALSE)
                   AS has_friction
        FROM scored
    ),
    contact_day AS (
        -- one version per contact and day: the last delivered (by file, then line)
        SELECT date AS version_date, contact_id, contact_type, company_id AS person_company_id
        FROM {contact_versions}
        WHERE date <= {through}
        QUALIFY row_number() OVER (
            PARTITION BY contact_id, date ORDER BY source_file DESC, line_number DESC) = 1
    ),
    known_names AS ({_known_names_sql(person_names)}),
    -- Whose names a title may hold: its contact's, and for a person's title, those of the
    -- companies the person was in (every version up to the last day).
    titled AS (
        SELECT source_file, line_number, title, contact_id
        FROM {typed} WHERE reject_reason IS NULL AND title IS NOT NULL
    ),
    person_companies AS (
        SELECT DISTINCT contact_id, company_id AS name_key FROM {contact_versions}
        WHERE date <= {through} AND contact_type = 'person' AND company_id IS NOT NULL
    ),
    title_names AS ({names_in_titles_sql("titled", "known_names", "person_companies")})
    SELECT i.date, i.source_file, i.line_number,
           i.interaction_id, i.contact_id, i.owner_id, i.occurred_at, i.type_id,
           CASE WHEN p.names IS NULL THEN {mask_contacts_sql("i.title")}
                ELSE {mask_names_sql(mask_contacts_sql("i.title"), "p.names")} END AS title,
           i.deal_id,
           i.content_bytes,
           i.recipient_count,
           {direction_sql("i.title")} AS direction,
           {thread_subject_key_sql("i.email_subject")} AS thread_subject_key,
           i.noise_reason, i.is_noise,
           {flags},
           i.has_friction AS is_friction,
           CASE c.contact_type WHEN 'company' THEN i.contact_id
                               WHEN 'person' THEN c.person_company_id END AS company_id,
           CASE WHEN c.contact_type = 'company' THEN 'direct'
                WHEN c.contact_type = 'person' AND c.person_company_id IS NOT NULL THEN 'via_person'
                ELSE 'unresolved' END AS linkage,
           {after_delivery_sql("i.occurred_at", "Date", "i.date")} AS reject_reason
    FROM flagged AS i
    ASOF LEFT JOIN contact_day AS c
      ON i.contact_id = c.contact_id AND i.date >= c.version_date
    LEFT JOIN title_names AS p USING (source_file, line_number)
    ORDER BY i.date, i.source_file, i.line_number
    """


def names_left_in_other_days_sql(
    titled: str,
    contact_column: str,
    contact_versions: str,
    contacts: str,
    days: list[date],
    rebuilt: Sequence[date] = (),
) -> str:
    """Per day outside `days` (and `rebuilt`, days of `titled` the run builds again, with
    every name landed): the rows of `titled` (a silver table with a `title`, and the
    contact it is on in `contact_column`) whose title still holds a name of a person first
    delivered on `days` (`contacts`: bronze contact records), by the rules titles are
    masked with (on the person, their company or a colleague). A title is masked with the
    names delivered when its day runs, so a person whose record landed after that day
    leaves their name in it until the day runs again. Only the new people's records are
    read, and only titles on them, their companies and colleagues: every title of every day
    at each run (for a full name on anyone else, or a person renamed) would grow with the
    history, where this stays about the size of a day's new people."""
    people = f"""
        SELECT contact_id FROM {contact_versions} WHERE contact_type = 'person'
        GROUP BY contact_id
        HAVING min(date) IN ({", ".join(sql.date_literal(day) for day in days) or "NULL"})"""
    records = f"""(
        SELECT * FROM {contacts}
        WHERE {sql.in_days(days)}
          AND TRY_CAST(json_extract_string(raw, '$.Id') AS BIGINT) IN ({people})
    )"""
    return f"""
        WITH names AS ({person_names_sql(records)}),
        -- The people of their companies: a title on a colleague may hold their names too.
        colleagues AS (
            SELECT DISTINCT contact_id FROM {contact_versions}
            WHERE contact_type = 'person' AND company_id IN (SELECT contact_id FROM names)
        ),
        titled AS (
            SELECT date, source_file, line_number, title, {contact_column} AS contact_id
            FROM {titled}
            WHERE NOT {sql.in_days([*days, *rebuilt])} AND title IS NOT NULL
              AND ({contact_column} IN (SELECT contact_id FROM names)
                   OR {contact_column} IN (SELECT contact_id FROM colleagues))
        ),
        person_companies AS (
            SELECT DISTINCT contact_id, company_id AS name_key FROM {contact_versions}
            WHERE contact_type = 'person' AND company_id IS NOT NULL
              AND contact_id IN (SELECT contact_id FROM titled)
        ),
        title_names AS ({names_in_titles_sql("titled", "names", "person_companies")})
        SELECT t.date, count(*) AS titles
        FROM titled AS t JOIN title_names AS p USING (source_file, line_number)
        WHERE {mask_names_sql("t.title", "p.names")} IS DISTINCT FROM t.title
        GROUP BY t.date
        ORDER BY t.date
    """
