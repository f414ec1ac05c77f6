"""Rasa NLU component mapping informal Indonesian spellings to one standard form per word.

Applicants type "sy mo antri bsk jm 10" as often as "saya mau antri besok jam 10". The
component runs right after the tokenizer and rewrites each token's *lemma* ("sy" -> "saya",
"gak" -> "tidak", "iyaaa" -> "iya", "kira2" -> "kira"); the ``CountVectorsFeaturizer``
components read lemmas (``use_lemma`` is on by default), so both spellings land on the same
features.

What it never touches, on purpose:

* the message text: the temporal extractor, ``RegexFeaturizer`` and ``RegexEntityExtractor``
  read the text as typed, and entity values are sliced from it;
* token offsets and token text: ``start``/``end`` stay offsets into the original text, so
  every entity span (DIET's included) stays valid against what the applicant wrote.

Referenced in ``config.yml`` as ``addons.normalizer.IndonesianSlangNormalizer``, after
``WhitespaceTokenizer`` and before the featurizers.
"""
from __future__ import annotations

import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

# Standard form -> informal spellings and abbreviations seen in WhatsApp chats. Only forms
# with a single reading belong here ("kk" is both "kakak" and "Kartu Keluarga": left out).
_STANDARD_FORMS: dict[str, tuple[str, ...]] = {
    "saya": ("sy", "sya", "saia", "aq", "aku", "gw", "gue", "gua", "ane", "aye", "abdi", "kula",
             "kulo", "ambo"),
    "mau": ("mo", "mw", "mao", "mauu", "bade", "badhe", "arep"),
    "bisa": ("bs", "bsa", "bisaa"),
    "gimana": ("gmn", "gmna", "gmana", "gimn"),
    "tanggal": ("tgl", "tggl", "tangal"),
    "besok": ("bsk", "besuk", "bsok"),
    "jam": ("jm",),
    "tidak": ("ga", "gak", "gk", "nggak", "ngga", "ngak", "enggak", "engga", "tdk",
              "ndak", "kagak", "gag"),
    "yang": ("yg", "yng"),
    "dengan": ("dgn", "dg"),
    "untuk": ("utk", "untk"),
    "karena": ("krn", "karna"),
    "sudah": ("sdh", "udh", "udah", "sdah"),
    "belum": ("blm", "blum", "belom"),
    "berapa": ("brp", "brapa", "berapaan"),
    "banget": ("bgt", "bngt", "bangettt"),
    "dimana": ("dmn", "dmana", "dimn"),
    "kenapa": ("knp", "napa"),
    "kapan": ("kpn",),
    "sekarang": ("skrg", "skrng", "skr"),
    "orang": ("org",),
    "masih": ("msh", "masi"),
    "tolong": ("tlg", "tolongin"),
    "jadi": ("jd", "jdi"),
    "lagi": ("lg", "lgi"),
    "tapi": ("tp", "tpi"),
    "sama": ("sm", "ama"),
    "aja": ("aj", "ajah", "aje", "mawon", "wae", "bae"),
    "kalau": ("kalo", "klo", "kl", "klau"),
    "makasih": ("mksh", "mkasih", "makasi", "mksih", "mkasi", "maaci", "makaci", "trmksh",
                "trimakasih", "terimakasih"),
    "thanks": ("thx", "tks", "tq", "ty", "thank", "thankyou", "tengkyu"),
    "antri": ("antre", "ngantri", "ngantre"),
    "antrian": ("antrean",),
    "daftar": ("dftr", "daptar"),
    "batal": ("btl",),
    "batalin": ("btlin",),
    "reschedule": ("resched", "reskedul"),
    "paspor": ("pspr", "passport", "pasport", "paspot"),
    "nomor": ("nmr", "nomer"),
    "telepon": ("tlp", "telp", "telpon"),
    "dari": ("dr",),
    "buat": ("bwt",),
    "benar": ("bnr", "bener", "leres"),
    "memang": ("emg", "emang"),
    "admin": ("min", "mimin"),
    "oke": ("ok", "okey", "okay", "oce", "okeh", "okk", "okee"),
    "iya": ("iy", "iyah", "yoi", "yup", "iye", "nggih", "enggih", "muhun"),
    "sendiri": ("nyalira", "piyambak", "dewek", "sorangan", "sndiri", "sendri"),
    "sampai": ("sampe", "smp"),
    "dapat": ("dapet", "dpt"),
    "datang": ("dateng", "dtg"),
    "lihat": ("liat",),
}
SLANG: dict[str, str] = {
    informal: standard for standard, forms in _STANDARD_FORMS.items() for informal in forms
}

_LONG_RUN = re.compile(r"([a-z])\1{2,}")      # "iyaaa", "makasiiih": 3+ of one letter
_REDUPLICATION = re.compile(r"^([a-z]{2,})2$")  # "kira2", "siang2": written reduplication


def normalise_word(word: str) -> str:
    """The standard form of one token, lower-cased (unchanged when there is none).

    Args:
        word: a token as typed.

    Returns:
        The standard spelling: letters repeated three times or more are read once
        ("iyaaa" -> "iya"), a trailing "2" of reduplication is dropped ("kira2" -> "kira"),
        then the word is looked up in :data:`SLANG`.
    """
    lowered = word.lower()
    if lowered in SLANG:
        return SLANG[lowered]
    squeezed = _REDUPLICATION.sub(r"\1", _LONG_RUN.sub(r"\1", lowered))
    return SLANG.get(squeezed, squeezed)


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False
)
class IndonesianSlangNormalizer(GraphComponent):
    """Sets each text token's lemma to its standard Indonesian spelling."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> IndonesianSlangNormalizer:
        """Creates the component; it has no configuration and nothing to train."""
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Normalises the training examples the same way as incoming messages."""
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """Rewrites the lemma of every text token; text, offsets and token text stay.

        Args:
            messages: tokenized messages (messages without text tokens are left alone).

        Returns:
            The same messages.
        """
        for message in messages:
            for token in message.get(TOKENS_NAMES[TEXT]) or []:
                token.lemma = normalise_word(token.text)
        return messages
