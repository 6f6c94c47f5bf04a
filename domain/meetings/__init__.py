"""Consultation meetings and other hall activities: notice, RSVP, sign-in and minutes."""
