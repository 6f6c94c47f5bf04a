"""Background work: the timer sweep (Celery with Redis, or a thread in process when Redis is not configured)."""
