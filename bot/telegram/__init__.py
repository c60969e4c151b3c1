"""The Telegram adapter (aiogram 3): updates become core events, replies become messages."""
