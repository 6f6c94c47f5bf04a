"""The working-day calendar: public holidays and make-up days, admin-entered schedules, Monday-Friday fallback."""
