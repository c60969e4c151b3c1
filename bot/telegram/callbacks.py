"""Callback data of every inline button: the core's action string, behind a short prefix."""

from aiogram.filters.callback_data import CallbackData


class PressData(CallbackData, prefix="p", sep="|"):
    """`action` is whatever the core put on the button (at most 62 bytes)."""

    action: str
