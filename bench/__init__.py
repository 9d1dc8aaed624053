"""The benchmark: bookings per minute within Altegio's rate limit, and the bot's own cost."""
