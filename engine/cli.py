"""Placeholder; the CLI is built in issue 2."""
def main() -> int:
    return 0
