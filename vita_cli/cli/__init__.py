"""The Typer app. One module per verb; each exposes ``register(app)``."""
