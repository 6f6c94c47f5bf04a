"""Diagrams and their code without a database: safe XML, specs, sandboxed scripts, bounds, forms, runtime, state."""
