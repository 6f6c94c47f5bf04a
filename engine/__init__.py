"""The BPMN runtime: process versions, instances, human tasks, timers and step deadlines on SpiffWorkflow.

No consultation words, no web, no Celery: a process brings its own records and words through `engine.hooks`, and
the county's rules (roles, policy, calendar, notices) reach it as configuration from `domain.services`.
`bpmn/` parses and runs diagrams without a database; `store/` keeps them in one; `service.py` holds the commands.
"""
