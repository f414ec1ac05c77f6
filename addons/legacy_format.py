"""Rasa NLU component recognising the 2017 ``#Nama#ddmmyyyy#ddmmyyyy`` and ``#batal``.

It also recognises a booking code in small talk, which is a check of that booking.

It runs last in the pipeline and overrides whatever the statistical model (or the
FallbackClassifier) decided, so the old format always works, whatever the model learnt.
"""
from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_CONFIDENCE,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from antrean.legacy_format import is_legacy_cancel, parse_legacy_booking

NAME = "LegacyFormatClassifier"


def _entity(kind: str, value: str, span: tuple[int, int]) -> dict[str, Any]:
    return {
        ENTITY_ATTRIBUTE_TYPE: kind,
        ENTITY_ATTRIBUTE_START: span[0],
        ENTITY_ATTRIBUTE_END: span[1],
        ENTITY_ATTRIBUTE_VALUE: value,
        ENTITY_ATTRIBUTE_CONFIDENCE: 1.0,
        EXTRACTOR: NAME,
    }


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False
)
class LegacyFormatClassifier(GraphComponent):
    """Deterministic intent and entities for the legacy hash format."""

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> LegacyFormatClassifier:
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._classify(message)
        return messages

    # Intents a message carrying a booking code cannot mean: "hmm itu dari anak sy, coba
    # HJ4T-9WQX" read as goodbye would leave the code unanswered.
    _NOT_ABOUT_A_CODE = frozenset({"goodbye", "greet", "thank", "nlu_fallback", "out_of_scope",
                                   "affirm", "deny", "bot_challenge"})

    def _code_means_a_booking(self, message: Message) -> None:
        """A booking code in a message the model read as small talk: it is a check."""
        intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        has_code = any(e.get(ENTITY_ATTRIBUTE_TYPE) == "booking_code"
                       for e in message.get(ENTITIES) or [])
        if has_code and intent in self._NOT_ABOUT_A_CODE:
            self._set_intent(message, "check_booking")

    @staticmethod
    def _set_intent(message: Message, intent: str) -> None:
        ranking = {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: 1.0}
        message.set(INTENT, dict(ranking), add_to_output=True)
        message.set(INTENT_RANKING_KEY, [ranking], add_to_output=True)

    def _classify(self, message: Message) -> None:
        text = message.get(TEXT) or ""
        self._code_means_a_booking(message)
        if is_legacy_cancel(text):
            self._set_intent(message, "cancel_booking")
            message.set(ENTITIES, [], add_to_output=True)
            return
        parsed = parse_legacy_booking(text)
        if parsed is None:
            return
        self._set_intent(message, "book_queue")
        entities = [_entity("person_name", parsed.name, parsed.name_span)]
        if parsed.birth_date:
            entities.append(_entity("birth_date", parsed.birth_date.isoformat(), parsed.birth_span))
        if parsed.arrival_date:
            entities.append(_entity("date", parsed.arrival_date.isoformat(), parsed.arrival_span))
        message.set(ENTITIES, entities, add_to_output=True)
