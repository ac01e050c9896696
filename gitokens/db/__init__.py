"""The organisation's database: many repositories' ledgers published into one SQL database, and reports
across them. ``url`` reads database URLs, ``connection`` is the one small interface over SQLite (embedded,
the default) and PostgreSQL (psycopg 3, an optional extra), ``schema`` the versioned tables and views and
their migrations, ``identity`` a repository's name, ``publish`` the idempotent, incremental upsert of a
ledger, ``load`` the records and merges read back as a report's columns, ``report`` the report over them.

Above the ledger and the report's data, below the command line: each repository's ledger stays the source
of truth; the database is a copy made for questions no single ledger answers."""
