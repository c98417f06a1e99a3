"""Asyncio pipelines, breaker, journal and reconciliation. Never imports Textual."""
