"""Persistence: database, units of work, tables and migrations, the directory, versions, task projection, queries."""
