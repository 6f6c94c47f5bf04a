"""Persistence: database and units of work, tables and migrations, the directory, versions, the task projection, queries."""
