"""Dashboard widgets. Live panes are Line API widgets fed from latest-value slots."""
