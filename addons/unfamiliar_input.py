"""Rasa NLU component sending input the model has no footing on to ``nlu_fallback``.

DIET reads a message through the features its training data produced. A message none of
whose words or character n-grams occur in the training data ("😀😀", Arabic script, "",
"#") reaches it as all-zero count features, and the classifier still answers with
confidence: such messages came out as ``affirm`` at 0.99, which would confirm a booking.
The FallbackClassifier cannot catch what the model is sure about, so this component
decides by rule instead:

* the text is empty or whitespace;
* the text is longer than ``max_chars`` (the training data is one or two sentences; a
  pasted page is not a request the model can read);
* none of the count featurizers named in ``featurizers`` (their ``alias`` in
  ``config.yml``) found anything it knows in the message.

Such a message gets the intent ``nlu_fallback`` (confidence 1.0) ahead of the ranking, as
the FallbackClassifier does, loses its entities (nothing is taken from a message that was
not understood), and carries ``unfamiliar_input`` with the reason in the parse result.
Referenced in ``config.yml`` as ``addons.unfamiliar_input.UnfamiliarInputClassifier``,
after the FallbackClassifier and before the LegacyFormatClassifier.
"""
from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

REASON_KEY = "unfamiliar_input"
EMPTY, TOO_LONG, UNKNOWN_WORDS = "empty", "too_long", "unknown_words"


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False
)
class UnfamiliarInputClassifier(GraphComponent):
    """Overrides the intent with ``nlu_fallback`` for empty, overlong or unknown input."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """``featurizers``: aliases of the count featurizers; ``max_chars``: longest text."""
        return {"featurizers": ["word_counts", "char_counts"], "max_chars": 1000}

    def __init__(self, config: dict[str, Any]) -> None:
        self._featurizers: list[str] = list(config["featurizers"])
        self._max_chars: int = int(config["max_chars"])
        if not self._featurizers:
            raise ValueError("UnfamiliarInputClassifier needs the aliases of count featurizers")

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> UnfamiliarInputClassifier:
        """Creates the component from its ``config.yml`` entry; nothing to train."""
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Leaves training data untouched."""
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """Sends each message the model cannot read to ``nlu_fallback``.

        Args:
            messages: featurized and classified messages.

        Returns:
            The same messages.
        """
        for message in messages:
            reason = self.reason(message)
            if reason:
                _fall_back(message, reason)
        return messages

    def reason(self, message: Message) -> str | None:
        """Why the message cannot be read (``EMPTY``, ``TOO_LONG``, ``UNKNOWN_WORDS``), if so.

        Raises:
            ValueError: no featurizer named in ``featurizers`` ran on the message, so the
                configuration does not match the pipeline.
        """
        text = message.get(TEXT) or ""
        if not text.strip():
            return EMPTY
        if len(text) > self._max_chars:
            return TOO_LONG
        sequence, sentence = message.get_sparse_features(TEXT, self._featurizers)
        if sequence is None and sentence is None:
            raise ValueError(
                f"no features from {self._featurizers}: give the CountVectorsFeaturizers "
                "these aliases in config.yml")
        if not any(f is not None and f.features.nnz for f in (sequence, sentence)):
            return UNKNOWN_WORDS
        return None


def _fall_back(message: Message, reason: str) -> None:
    fallback = {INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME, PREDICTED_CONFIDENCE_KEY: 1.0}
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or []
               if r.get(INTENT_NAME_KEY) != DEFAULT_NLU_FALLBACK_INTENT_NAME]
    message.set(INTENT, dict(fallback), add_to_output=True)
    message.set(INTENT_RANKING_KEY, [dict(fallback)] + ranking, add_to_output=True)
    message.set(ENTITIES, [], add_to_output=True)
    message.set(REASON_KEY, reason, add_to_output=True)
