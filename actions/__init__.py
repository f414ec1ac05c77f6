"""Custom actions of the LAW assistant (rasa-sdk action server)."""
