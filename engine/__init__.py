"""xieshang engine: BPMN process versions, instances, human tasks and domain records (no web, no Celery)."""
