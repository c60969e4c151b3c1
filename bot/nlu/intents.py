"""The intents the bot understands, and what each one leads to."""

from __future__ import annotations

FAQ_PREFIX = "faq_"

INTENTS: tuple[str, ...] = (
    "greet", "goodbye", "thanks", "affirm", "deny", "help", "human_handoff", "change_language",
    "want_to_volunteer", "out_of_scope", "delete_my_data",
    "faq_what_is_volunteering", "faq_residence_status", "faq_german_level", "faq_money_benefits",
    "faq_insurance", "faq_time_commitment", "faq_fields_of_engagement", "faq_certificate",
    "faq_costs_requirements", "faq_contact_office", "faq_training", "faq_accompaniment",
)  # fmt: skip


def faq_topic(intent: str) -> str | None:
    """The FAQ topic id (dialogs/faq.yml) an intent answers, or None for flow intents."""
    return intent[len(FAQ_PREFIX) :] if intent.startswith(FAQ_PREFIX) else None
