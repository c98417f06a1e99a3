"""Screens: the confirmation of an order-sending action, help, and size entry."""
