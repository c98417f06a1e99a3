"""Pure models and maths: Decimal money, books, slippage, drift, risk. No I/O; imports nothing of ours."""
