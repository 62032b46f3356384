"""Local: CLI, reports, local runner, emulator, demo. Not shipped to Lambda; nothing else in the library imports it."""
