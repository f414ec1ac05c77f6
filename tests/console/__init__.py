"""Browser and HTTP tests of the staff console (law_console/)."""
