"""Telegram's Bot API in process, behind python-telegram-bot's `BaseRequest` seam, and the
person on the other side of a chat."""
