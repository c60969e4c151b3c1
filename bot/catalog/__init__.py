"""The opportunities catalogue (dialogs/opportunities.yml): model, loading, spreadsheet round trip.

Matching a profile against it lives in bot/core/matching.py; the `engagiert catalog` command in
bot/catalog/commands.py.
"""

from bot.catalog.loader import CATALOGUE_FILE, load_catalogue
from bot.catalog.model import Catalogue, Opportunity, Vocabulary

__all__ = ["CATALOGUE_FILE", "Catalogue", "Opportunity", "Vocabulary", "load_catalogue"]
