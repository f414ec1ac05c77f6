"""Retraining the language model from real conversations: review, label, train, compare, promote."""
