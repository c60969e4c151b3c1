"""SQLAlchemy models, repositories and Alembic migrations: everything the bot keeps lives here."""
