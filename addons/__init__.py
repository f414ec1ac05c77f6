"""Rasa extensions of LAW: NLU components and input channels."""
