"""The operator CLI (Typer + rich), assembled by entrypoints/cli.py."""
