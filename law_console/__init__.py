"""The staff console: Indonesian web pages for counter staff, supervisors and admins (issue 16)."""
