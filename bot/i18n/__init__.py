"""Catalogues, locale choice and the list of languages the bot can speak."""
