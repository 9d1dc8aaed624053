"""Stand-ins for the outside worlds the bot talks to: Telegram's Bot API and Altegio.

The tests, the benchmark and the `chat` and `sandbox` commands use them; the bot's own code
never imports them (`altegio-bot run` with a partner token loads none).
"""
