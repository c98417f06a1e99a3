"""The venue layer: the only package that imports ccxt."""
