"""Typed questions outside of a form: understood, answered from content, or asked back about.

A sure interpretation acts at once (an FAQ answer, the intake, the advisor, the language picker);
an unsure one shows the best guesses as buttons plus "talk to an advisor", and the message is kept
for review when the person has consented. While a question of the intake is open, typed text is
first tried as its answer; only when it is none does it get here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot.core import actions
from bot.core.events import Button, Reply
from bot.nlu.classifier import Prediction
from bot.nlu.intents import faq_topic

if TYPE_CHECKING:
    from bot.core.conversation import _Turn

# Intents whose meaning depends on the screen: yes/no answer the question on it.
_YES_NO = frozenset({"affirm", "deny"})
# Shown as "did you mean" buttons: intents that lead somewhere, with the label they get.
_SUGGESTION_LABELS = {
    "want_to_volunteer": ("menu.find", actions.INTAKE),
    "human_handoff": ("menu.advisor", actions.ADVISOR),
    "change_language": ("menu.language", actions.LANGUAGE),
    "delete_my_data": ("privacy.delete", actions.DELETE),
}
MAX_SUGGESTIONS = 3
# Guesses below this are noise: better no button than a wrong one ("delete my data").
MIN_SUGGESTION_CONFIDENCE = 0.15
ASIDE_MIN_CONFIDENCE = 0.6
# Asides answered in the middle of the intake, which then asks its question again.
_ASIDES = frozenset({"human_handoff", "change_language", "delete_my_data"})


class FreeText:
    def __init__(self, turn: _Turn) -> None:
        self.turn = turn
        self.understanding = turn.s.understanding

    async def handle(self, text: str) -> list[Reply]:
        """Free text outside the intake's questions."""
        turn = self.turn
        if self.understanding is None:
            return [turn.go_menu(prefix=turn.t("freetext.use_buttons"))]
        meaning = self.understanding.classifier.predict(text)
        if self.understanding.is_sure(meaning.confidence):
            if meaning.intent in _YES_NO:
                answered = await self._yes_no(meaning.intent == "affirm")
                if answered is not None:
                    return [answered]
            return await self.act(meaning.intent)
        await self._remember(text, meaning)
        return [self.did_you_mean(meaning)]

    async def aside(self, text: str) -> list[Reply] | None:
        """During the intake: a typed question that is no answer gets its answer, then the open
        question again. None when the text is not a sure question (the caller shows a hint)."""
        if self.understanding is None:
            return None
        meaning = self.understanding.classifier.predict(text)
        # Interrupting a question needs more certainty than answering free text at the menu.
        if meaning.confidence < max(self.understanding.threshold, ASIDE_MIN_CONFIDENCE):
            return None
        topic = faq_topic(meaning.intent)
        turn = self.turn
        if topic is not None and topic in turn.s.content.faq_topics:
            step = turn.flow.step(turn.conv.step) if turn.conv.step else None
            answer = turn.screens.faq_answer(topic)
            return [answer, turn.question(step)] if step else [answer]
        if meaning.intent in _ASIDES:
            return await self.act(meaning.intent)
        return None

    async def act(self, intent: str) -> list[Reply]:
        turn = self.turn
        t = turn.t
        topic = faq_topic(intent)
        if topic is not None and topic in turn.s.content.faq_topics:
            turn.conv.screen = "faq"
            return [turn.screens.faq_answer(topic)]
        flows: dict[str, Callable[[], Reply | Awaitable[Reply]]] = {
            "want_to_volunteer": turn.start_intake,
            "human_handoff": turn.go_advisor,
            "change_language": turn.go_language,
            "delete_my_data": turn.go_delete,
            "help": turn.go_help,
        }
        if intent in flows:
            result = flows[intent]()
            return [await result if isinstance(result, Awaitable) else result]
        prefixes = {
            "greet": "nlu.greet",
            "goodbye": "nlu.goodbye",
            "thanks": "nlu.thanks",
            "out_of_scope": "nlu.out_of_scope",
        }
        key = prefixes.get(intent)
        return [turn.go_menu(prefix=t(key) if key else None)]

    def did_you_mean(self, meaning: Prediction) -> Reply:
        turn = self.turn
        t = turn.t
        buttons: list[tuple[Button, ...]] = []
        for intent, confidence in meaning.ranking:
            if len(buttons) == MAX_SUGGESTIONS or confidence < MIN_SUGGESTION_CONFIDENCE:
                break
            topic = faq_topic(intent)
            if topic is not None and topic in turn.s.content.faq_topics:
                buttons.append((Button(t(f"faq.{topic}.title"), actions.faq_topic(topic)),))
            elif intent in _SUGGESTION_LABELS:
                key, action = _SUGGESTION_LABELS[intent]
                buttons.append((Button(t(key), action),))
        if not any(row[0].action == actions.ADVISOR for row in buttons):
            buttons.append((Button(t("menu.advisor"), actions.ADVISOR),))
        buttons.append((Button(t("button.menu"), actions.MENU),))
        turn.conv.screen = "menu"
        return Reply(t("nlu.did_you_mean"), tuple(buttons))

    async def _yes_no(self, yes: bool) -> Reply | None:
        """A typed yes or no on a screen that asks a yes/no question."""
        turn = self.turn
        screen = turn.conv.screen
        if screen == "consent":
            return await turn.consent_given() if yes else turn.consent_declined()
        if screen == "advisor":
            return await turn.request_advisor() if yes else turn.go_menu()
        if screen in {"delete", "forget"}:
            return await turn.delete_all() if yes else turn.go_menu()
        return None

    async def _remember(self, text: str, meaning: Prediction) -> None:
        """Keeps what the bot did not understand, for `engagiert nlu review`, with consent only."""
        turn = self.turn
        if not turn.consented:
            return
        detection = self.understanding.languages.detect(text, prior=turn.telegram_language)
        await turn.repo.nlu_review.add(
            person_id=turn.person.id,
            language=detection.language if detection else turn.lang,
            text=text[:1000],
            intent=meaning.intent,
            confidence=meaning.confidence,
        )
