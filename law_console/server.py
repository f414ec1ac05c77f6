"""Stub replaced by the console work: serves the staff console."""


def main() -> int:
    raise SystemExit("law-console is not built yet")
