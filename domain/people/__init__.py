"""People: accounts and API tokens, the county's roles, and the one policy module (who may do what where)."""
