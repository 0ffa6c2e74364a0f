"""SQL: new rows of a table or a query in any database SQLAlchemy reaches.

The account holds the database URL (a secret: it usually carries a password), e.g.
`postgresql://user:password@db.internal/app` or `sqlite:////data/app.db`.
"""

from __future__ import annotations

from typing import Any

from relayflow.sdk import AccountField, App


async def test_connection(fields: dict[str, Any]) -> str:
    import asyncio

    import sqlalchemy as sa

    def connect() -> str:
        engine = sa.create_engine(engine_url(fields["url"]))
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            return f"connected to the {engine.dialect.name} database"
        finally:
            engine.dispose()

    return await asyncio.to_thread(connect)


def engine_url(url: str) -> str:
    """The URL with a driver this installation has (psycopg for PostgreSQL)."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain) :]
    return url


APP = App(
    key="sql",
    title="SQL database",
    description="New rows of a table or query in PostgreSQL, MySQL, SQLite, … (SQLAlchemy)",
    docs="https://docs.sqlalchemy.org/en/20/core/engines.html#database-urls",
    account_fields=(
        AccountField(
            "url",
            "Database URL",
            secret=True,
            help="postgresql://user:password@host/db, mysql+pymysql://…, sqlite:////path/app.db",
        ),
    ),
    test_connection=test_connection,
)
