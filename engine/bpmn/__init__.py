"""Diagrams and their code without a database: hardened XML, specs, sandboxed scripts, bounds, forms, runtime, serialization."""
