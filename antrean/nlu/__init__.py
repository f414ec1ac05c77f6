"""Rule-based Indonesian language understanding used by the Rasa pipeline (no Rasa import)."""
