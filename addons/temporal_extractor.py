"""Rasa NLU component adding ``date`` and ``time`` entities read by Indonesian rules.

The rules live in :mod:`antrean.nlu.temporal` (plain Python); this component only resolves
today in the office time zone and writes Rasa entities. Referenced in ``config.yml`` as
``addons.temporal_extractor.IndonesianTemporalExtractor``.

Today comes from the office clock (``antrean.bootstrap.office_clock``: the time zone of the
office configuration, the settings read from the environment when the first message comes)
at every ``process`` call, so a long-running server moves on at the office's midnight and
tests fix the day with ``LAW_FIXED_NOW``.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_CONFIDENCE,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from antrean.bootstrap import office_clock
from antrean.clock import Clock
from antrean.legacy_format import parse_legacy_booking
from antrean.nlu.temporal import DATE, TIME, TemporalMatch, extract_temporal
from antrean.settings import Settings

_OWN_TYPES = (DATE, TIME)


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False
)
class IndonesianTemporalExtractor(EntityExtractorMixin, GraphComponent):
    """Adds ``date`` (``YYYY-MM-DD``) and ``time`` (``HH:MM``) entities to each message.

    Spans are character offsets into the message text, confidence is 1.0. A ``date`` or
    ``time`` entity that an earlier extractor put on an overlapping span is replaced: the
    rules are the single source of these two entities (staff never annotate them). Messages
    in the legacy ``#Nama#ddmmyyyy#ddmmyyyy`` format are left to ``LegacyFormatClassifier``,
    which knows that the first date there is a birth date, not the day of the visit.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> IndonesianTemporalExtractor:
        """Creates the component; it has no configuration and nothing to train."""
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Leaves training data untouched: dates and times are never learnt."""
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """Adds the dates and times found in each message to its entities.

        Args:
            messages: the messages of one NLU call.

        Returns:
            The same messages, each with an ``entities`` attribute.
        """
        today = self._office_clock().now().date()
        for message in messages:
            self._process_message(message, today)
        return messages

    def _office_clock(self) -> Clock:
        if self._clock is None:
            self._clock = office_clock(Settings.from_env())
        return self._clock

    def _process_message(self, message: Message, today: dt.date) -> None:
        text = message.get(TEXT) or ""
        existing: list[dict[str, Any]] = list(message.get(ENTITIES) or [])
        if parse_legacy_booking(text) is not None:
            message.set(ENTITIES, existing, add_to_output=True)
            return
        found = [self._entity(match) for match in extract_temporal(text, today)]
        kept = [entity for entity in existing if not _superseded(entity, found)]
        message.set(ENTITIES, kept + self.add_extractor_name(found), add_to_output=True)

    @staticmethod
    def _entity(match: TemporalMatch) -> dict[str, Any]:
        return {
            ENTITY_ATTRIBUTE_TYPE: match.entity,
            ENTITY_ATTRIBUTE_START: match.start,
            ENTITY_ATTRIBUTE_END: match.end,
            ENTITY_ATTRIBUTE_VALUE: match.value,
            ENTITY_ATTRIBUTE_CONFIDENCE: 1.0,
        }


def _superseded(entity: dict[str, Any], found: list[dict[str, Any]]) -> bool:
    """Whether ``entity`` is an earlier date/time overlapping one of ours."""
    if entity.get(ENTITY_ATTRIBUTE_TYPE) not in _OWN_TYPES:
        return False
    start, end = entity.get(ENTITY_ATTRIBUTE_START), entity.get(ENTITY_ATTRIBUTE_END)
    if start is None or end is None:
        return False
    return any(
        start < ours[ENTITY_ATTRIBUTE_END] and ours[ENTITY_ATTRIBUTE_START] < end
        for ours in found
    )
