"""Project-wide settings."""

CURRENCY = "EUR"
VAT_RATE = 0.19
