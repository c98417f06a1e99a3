"""The embedded Binance-compatible sandbox exchange. Imports nothing of domain, exchange, engine or ui."""
