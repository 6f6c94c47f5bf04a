"""Notifications: the transactional outbox fanned out to people and channels, and each person's notification centre."""
