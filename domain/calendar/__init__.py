"""The working-day calendar: Chinese public holidays and make-up days, admin-entered schedules, Monday-Friday fallback."""
