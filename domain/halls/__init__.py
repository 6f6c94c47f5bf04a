"""The consultation halls (珙桐议事厅/室): registry, the members assigned to them and the 七有 standard."""
