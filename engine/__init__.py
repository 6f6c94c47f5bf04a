"""xieshang engine: the BPMN runtime: versions, instances, human tasks, timers and deadlines (no web, no domain)."""
